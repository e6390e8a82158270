"""A cluster the user already runs (any kubeconfig with KubeRay installed)."""

from __future__ import annotations

from pathlib import Path

from conformance.errors import UserError


class ExistingProvider:
    name = "existing"
    timeout_scale = 2.0  # unknown nodes and images: be patient

    def __init__(self, kubeconfig: str, kuberay_version: str) -> None:
        if not Path(kubeconfig).expanduser().is_file():
            raise UserError("no such kubeconfig", where=kubeconfig)
        self._kubeconfig = str(Path(kubeconfig).expanduser())
        self._version = kuberay_version

    @property
    def kubeconfig(self) -> str:
        return self._kubeconfig

    @property
    def kuberay_version(self) -> str:
        return self._version

    @property
    def kubernetes_version(self) -> str:
        return "as served by the cluster"

    def prepare_namespace(self, namespace: str) -> None:
        """Nothing: the harness does not know how the user's cluster gets the fixtures' Serve app."""

    def start(self) -> None:
        """Nothing to start: the cluster is the user's."""

    def stop(self) -> None:
        """Nothing to stop: the cluster is the user's."""

    def logs(self) -> list[Path]:
        return []

    def hold_new_heads(self, namespace: str) -> None:
        raise UserError("--cluster existing: the pending-phase gate needs the local or kind backend")

    def release_heads(self, namespace: str) -> None:
        raise UserError("--cluster existing: the pending-phase gate needs the local or kind backend")

    def describe(self) -> str:
        return f"backend existing: {self._kubeconfig} (assumed KubeRay {self._version}; nothing simulated by the harness)"
