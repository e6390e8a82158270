"""Go module downloads through the Go toolchain (and so the Go module proxy)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conformance.errors import EnvironmentProblem

GO_HINT = "install Go 1.24 or newer (e.g. `apt-get install golang-go`, or from go.dev) and make sure `go` is on PATH"


class ModuleUnavailable(Exception):
    """The module proxy will not serve this module version."""


def go_binary() -> str:
    found = shutil.which("go")
    if found is None:
        raise EnvironmentProblem(f"the Go toolchain is missing: {GO_HINT}")
    return found


def download(module: str, version: str) -> Path:
    """``go mod download -json module@version`` and return the module's source folder."""
    try:
        completed = subprocess.run(
            [go_binary(), "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True,
            text=True,
            timeout=600,
            cwd="/",
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ModuleUnavailable(f"{module}@{version}: go mod download timed out after 600 s") from None
    try:
        info = json.loads(completed.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if info.get("Error") or not info.get("Dir"):
        reason = info.get("Error") or completed.stderr.strip() or "no module folder reported"
        raise ModuleUnavailable(" ".join(str(reason).split()))
    return Path(info["Dir"])
