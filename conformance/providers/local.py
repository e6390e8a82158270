"""The local backend as a Provider."""

from __future__ import annotations

from pathlib import Path

from conformance import versions
from conformance.local.cluster import LocalCluster


class LocalProvider:
    name = "local"

    def __init__(self, kuberay_version: str, name: str = "karta") -> None:
        self._version = kuberay_version
        self.cluster = LocalCluster(name)

    @property
    def kubeconfig(self) -> str:
        return str(self.cluster.kubeconfig)

    @property
    def kuberay_version(self) -> str:
        return self._version

    def start(self) -> None:
        self.cluster.up(self._version)

    def stop(self) -> None:
        self.cluster.down(quiet=True)

    def logs(self) -> list[Path]:
        return [self.cluster.logs, self.cluster.control_plane_logs]

    def describe(self) -> str:
        pins = versions.load()
        return (
            f"backend local: Kubernetes {pins.kubernetes} (real etcd, API server, controller manager, scheduler), "
            f"KubeRay operator {self._version} (real); simulated by kwok {pins.kwok}: nodes, kubelets, containers"
        )
