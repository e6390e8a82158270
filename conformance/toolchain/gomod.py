"""Go module downloads through the Go toolchain (and so the Go module proxy)."""

from __future__ import annotations

import json
import os
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


SOURCE_ENV = "KARTA_CONFORMANCE_KUBERAY_SOURCE"


def kuberay_source_roots() -> list[Path]:
    """Folders holding ``<version>/ray-operator`` for KubeRay versions the module proxy refuses: the one
    the user names in ``$KARTA_CONFORMANCE_KUBERAY_SOURCE``, and nothing else (no folder is searched
    unless a user points at it)."""
    explicit = os.environ.get(SOURCE_ENV)
    return [Path(explicit).expanduser().resolve()] if explicit else []


def kuberay_module(module: str, version: str) -> tuple[Path, bool]:
    """The KubeRay operator module ``module@version``: from the module proxy, else from a local
    source folder (see ``kuberay_source_roots``). Returns (folder, came from a local folder)."""
    try:
        return download(module, version), False
    except ModuleUnavailable as error:
        for root in kuberay_source_roots():
            candidate = root / version / "ray-operator"
            go_mod = candidate / "go.mod"
            if go_mod.is_file() and go_mod.read_text().startswith(f"module {module}\n"):
                return candidate, True
        roots = kuberay_source_roots()
        tried = (
            f"no {roots[0] / version / 'ray-operator'} under ${SOURCE_ENV} either"
            if roots
            else f"set {SOURCE_ENV} to a folder holding {version}/ray-operator (KubeRay's source at that tag)"
        )
        raise ModuleUnavailable(f"{error}; {tried}") from None
