"""Whether a Docker engine answers here (what `--cluster auto` and the kind backend ask)."""

from __future__ import annotations

import shutil
import subprocess


def docker_answers() -> bool:
    """Whether a Docker daemon answers (the kind backend needs one)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
