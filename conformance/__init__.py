"""karta-conformance: prove Karta workload definitions against live KubeRay objects."""

__version__ = "0.1.0"
