"""The Provider interface every backend implements (no implementation is imported here)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


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
