"""The kind backend's plan: the exact commands and manifests it runs (pure; no I/O here)."""
