"""Build ``karta-oracle`` (``conformance/oracle/karta/``) against the pinned Karta, into the cache.

    <cache>/karta-oracle/<version>-<digest>/bin/karta-oracle

Karta comes from the Go module proxy when it serves the pinned version (``karta`` in
``versions.yaml``), else from a local source folder: ``--karta-source``, ``$KARTA_SOURCE``, or
``../shared/karta`` next to the repository. The cache key is the version plus a digest of the
oracle's sources and of the Karta source it was built from. Locked and stamped like the other
Go builds; neither source available is one line, exit 2.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import EnvironmentProblem
from conformance.toolchain import cache, gomod

ORACLE_DIR = Path(__file__).resolve().parent / "karta"
ORACLE_FILES = ("go.mod", "go.sum", "main.go", "defaults.go")
CRD = Path("charts/ri/crds/optimization.nvidia.com_resourceinterfaces.yaml")
SOURCE_ENV = "KARTA_SOURCE"
BINARY = "karta-oracle"


@dataclass(frozen=True)
class KartaPin:
    version: str
    module: str


@dataclass(frozen=True)
class Oracle:
    binary: Path
    crd: Path  # Karta's ResourceInterface CRD (its defaults are applied to every definition)
    version: str
    origin: str  # "module proxy" or "local source <folder>"

    def describe(self) -> str:
        return f"Karta {self.version} ({self.origin})"


def pin() -> KartaPin:
    raw: dict[str, Any] = yaml.safe_load(resources.files("conformance").joinpath("versions.yaml").read_text())
    entry = raw.get("karta") or {}
    return KartaPin(version=str(entry["version"]), module=str(entry["module"]))


def _proxies() -> str:
    """The configured module proxies without ``direct``/``off``: the Karta check never falls back
    to fetching from the repository host."""
    configured = os.environ.get("GOPROXY") or ""
    if not configured:
        completed = subprocess.run(
            [gomod.go_binary(), "env", "GOPROXY"], capture_output=True, text=True, check=False
        )
        configured = completed.stdout.strip()
    kept = [p for p in configured.replace("|", ",").split(",") if p and p not in ("direct", "off")]
    return ",".join(kept) or "https://proxy.golang.org"


@functools.cache
def _from_proxy(module: str, version: str) -> tuple[Path | None, str]:
    """The module folder when the proxy serves ``module@version``, else (None, the reason)."""
    env = {**os.environ, "GOPROXY": _proxies(), "GOFLAGS": "-mod=mod"}
    try:
        completed = subprocess.run(
            [gomod.go_binary(), "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd="/",
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, "go mod download timed out after 300 s"
    import json

    try:
        info = json.loads(completed.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if info.get("Dir") and not info.get("Error"):
        return Path(info["Dir"]), ""
    reason = info.get("Error") or completed.stderr.strip() or "no module folder reported"
    return None, " ".join(str(reason).split())


def _digest(paths: list[Path], base: Path | None = None) -> str:
    digest = hashlib.sha256()
    for path in paths:
        name = str(path.relative_to(base)) if base else path.name
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _karta_files(folder: Path) -> list[Path]:
    """What a build reads from Karta: go.mod, go.sum, the Go sources of pkg/ and the CRD."""
    files = [folder / "go.mod", folder / "go.sum", folder / CRD]
    files += sorted(p for p in (folder / "pkg").rglob("*.go") if p.is_file())
    return [p for p in files if p.exists()]


def locate_source(karta_source: Path | None = None) -> tuple[Path, str, bool]:
    """Where Karta's source comes from: (folder, description, from the proxy)."""
    wanted = pin()
    folder, reason = _from_proxy(wanted.module, wanted.version)
    if folder is not None:
        return folder, "module proxy", True
    named = karta_source or (Path(os.environ[SOURCE_ENV]) if os.environ.get(SOURCE_ENV) else None)
    if named is None:
        raise EnvironmentProblem(
            f"Karta {wanted.version} cannot be built: the module proxy refuses {wanted.module}@{wanted.version} "
            f"({reason}); set {SOURCE_ENV} (or --karta-source) to a folder holding Karta's source at that version"
        )
    local = named.expanduser().resolve()
    go_mod = local / "go.mod"
    if not go_mod.is_file():
        raise EnvironmentProblem(
            f"Karta {wanted.version} cannot be built: the module proxy refuses {wanted.module}@{wanted.version} "
            f"({reason}) and {local} holds no Karta source (named by {'--karta-source' if karta_source else SOURCE_ENV}; "
            f"set {SOURCE_ENV} or --karta-source to Karta's source folder)"
        )
    first = go_mod.read_text().splitlines()[:1]
    if first != [f"module {wanted.module}"]:
        raise EnvironmentProblem(f"{go_mod}: not the {wanted.module} module (first line {first!r})")
    return local, f"local source {local}", False


def ensure(karta_source: Path | None = None) -> Oracle:
    """The oracle binary for the pinned Karta, built on first use."""
    from conformance.toolchain.build import _done, _go, _locked, _stamp

    wanted = pin()
    source, origin, proxied = locate_source(karta_source)
    crd = source / CRD
    if not crd.is_file():
        raise EnvironmentProblem(f"Karta {wanted.version} at {source}: no ResourceInterface CRD at {CRD}")
    own = [ORACLE_DIR / name for name in ORACLE_FILES]
    key = _digest(own) + _digest(_karta_files(source), source) + ("proxy" if proxied else "local")
    folder = cache.component_dir(
        "karta-oracle", f"{wanted.version}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    )
    bin_dir = folder / "bin"
    with _locked(folder):
        if not _done(bin_dir, (BINARY,)):
            started = time.monotonic()
            build_dir = folder / "src"
            shutil.rmtree(build_dir, ignore_errors=True)
            build_dir.mkdir(parents=True)
            for path in own:
                shutil.copy2(path, build_dir / path.name)
            log = folder / "build.log"
            edit = f"-dropreplace={wanted.module}" if proxied else f"-replace={wanted.module}={source}"
            _go(["mod", "edit", edit, f"-require={wanted.module}@{wanted.version}"], build_dir, log)
            bin_dir.mkdir(parents=True, exist_ok=True)
            _go(["build", "-trimpath", "-ldflags=-s -w", "-o", str(bin_dir / BINARY), "."], build_dir, log)
            _stamp(bin_dir, {"karta": wanted.version, "origin": origin}, started)
    return Oracle(binary=bin_dir / BINARY, crd=crd, version=wanted.version, origin=origin)
