"""Where builds and downloads are cached: outside the repository, keyed by version."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$KARTA_CONFORMANCE_CACHE``, else ``$XDG_CACHE_HOME/karta-conformance``, else ``~/.cache/...``."""
    explicit = os.environ.get("KARTA_CONFORMANCE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "karta-conformance"


def component_dir(component: str, version: str) -> Path:
    return cache_root() / component / version
