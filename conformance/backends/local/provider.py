"""The local backend as a Provider."""

from __future__ import annotations

from pathlib import Path

from conformance import versions
from conformance.backends.base import Capability
from conformance.backends.local.cluster import LocalCluster
from conformance.backends.local.control import RuntimeControl
from conformance.errors import EnvironmentProblem


class LocalProvider:
    name = "local"
    timeout_scale = 1.0
    capabilities = frozenset(Capability)  # the Ray runtime's control API and the operator as a process

    def lacks(self, capability: Capability) -> str:
        return ""

    def __init__(self, kuberay_version: str, name: str = "karta") -> None:
        self._version = kuberay_version
        self.cluster = LocalCluster(name)

    @property
    def kubeconfig(self) -> str:
        return str(self.cluster.kubeconfig)

    @property
    def kuberay_version(self) -> str:
        return self._version

    @property
    def kubernetes_version(self) -> str:
        return versions.load().kubernetes

    def prepare_namespace(self, namespace: str) -> None:
        """Nothing: the local runtime puts the fixtures' Serve app on every Ray head's PYTHONPATH."""

    def start(self) -> None:
        self.cluster.up(self._version)

    def stop(self) -> None:
        self.cluster.down(quiet=True)

    def logs(self) -> list[Path]:
        return [self.cluster.logs, self.cluster.control_plane_logs]

    @property
    def control(self) -> RuntimeControl:
        state = self.cluster.state()
        if state is None:
            raise EnvironmentProblem(f"the local cluster {self.cluster.name!r} is not up")
        return RuntimeControl(state.ray_proxy_port)

    def hold_new_heads(self, namespace: str) -> None:
        """The gate: Ray heads starting in ``namespace`` from now on keep their Serve app DEPLOYING."""
        self.control.hold(namespace)

    def release_heads(self, namespace: str) -> None:
        self.control.release(namespace)

    def set_app_unhealthy(self, namespace: str, pod: str, value: bool = True) -> None:
        self.control.unhealthy(namespace, pod, value)

    def restart_operator(self) -> None:
        self.cluster.restart_operator()

    def describe(self) -> str:
        pins = versions.load()
        return (
            f"backend local: Kubernetes {pins.kubernetes} (real etcd, API server, controller manager, scheduler), "
            f"KubeRay operator {self._version} and Ray {pins.ray} heads (real); "
            f"simulated by kwok {pins.kwok}: nodes, kubelets, containers (worker Pods run no Ray)"
        )
