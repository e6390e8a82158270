"""The local backend: a real control plane, kwok nodes and the real KubeRay operator, built from Go modules."""
