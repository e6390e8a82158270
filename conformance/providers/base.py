"""The Provider interface and the choice of backend."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from conformance.errors import UserError


class Provider(Protocol):
    name: str  # "local", "kind", "existing"
    timeout_scale: float  # scenario deadlines are multiplied by this (real containers are slower than kwok)

    @property
    def kubeconfig(self) -> str: ...

    @property
    def kuberay_version(self) -> str: ...

    @property
    def kubernetes_version(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def logs(self) -> list[Path]:
        """Log files or folders worth copying into a diagnostics bundle."""
        ...

    def describe(self) -> str:
        """One line: the backend, the versions, and what is simulated."""
        ...

    def prepare_namespace(self, namespace: str) -> None:
        """Whatever a scenario namespace needs before the fixtures go in (the kind backend: the Serve app)."""
        ...

    def hold_new_heads(self, namespace: str) -> None:
        """The gate: Ray heads that start in ``namespace`` from now on hold their Serve app (DEPLOYING)."""
        ...

    def release_heads(self, namespace: str) -> None:
        """Open the gate for ``namespace``."""
        ...


def docker_answers() -> bool:
    """Whether a Docker daemon answers (the kind backend needs one)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        return subprocess.run([docker, "info"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def notice(message: str) -> None:
    print(f"karta-conformance: {message}", file=sys.stderr, flush=True)


def make_provider(
    cluster: str,
    kuberay_version: str | None = None,
    kubeconfig: str | None = None,
    name: str = "karta",
    node_image: str | None = None,
    keep: bool = False,
    announce: Callable[[str], None] = notice,
    chart_source: str | None = None,
) -> Provider:
    """The provider for ``--cluster`` (auto: kind when a Docker daemon answers, local otherwise)."""
    from conformance import versions

    pins = versions.load()
    version = pins.kuberay_version(kuberay_version).version
    if cluster == "auto":
        cluster = "kind" if docker_answers() else "local"
        if cluster == "local":
            announce(
                "no Docker daemon answers (`docker info`), so --cluster auto uses the local backend "
                "(real control plane and KubeRay, kwok simulates nodes and kubelets)"
            )
    if cluster == "local":
        from conformance.providers.local import LocalProvider

        return LocalProvider(version, name=name)
    if cluster == "existing":
        from conformance.providers.existing import ExistingProvider

        if not kubeconfig:
            raise UserError("--cluster existing needs --kubeconfig PATH")
        return ExistingProvider(kubeconfig, version)
    if cluster == "kind":
        from conformance.providers.kind import KindProvider

        return KindProvider(version, name=name, node_image=node_image, keep=keep, chart_source=chart_source)
    raise UserError(f"--cluster: unknown backend {cluster!r}; use auto, local, kind or existing")
