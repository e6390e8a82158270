"""The local backend as a Provider."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Sequence
from pathlib import Path

from conformance import versions
from conformance.backends import batch_schedulers, gates, gateway_api
from conformance.backends.base import Capability, Unsupported
from conformance.backends.inuse import ClusterClaim
from conformance.backends.local.cluster import LocalCluster
from conformance.backends.local.control import RuntimeControl
from conformance.backends.local.kueue import LocalKueue
from conformance.errors import EnvironmentProblem
from conformance.progress import say

OPERATOR_CHECK_SECONDS = 2.0
NO_RAY_WORKERS = "its worker Pods are kwok's (simulated) and run no Ray; only the heads do"
NO_CONTAINERS = (
    "kwok runs no container: only a head Pod's Ray and a batch Job Pod's command run here, not a head's other "
    "containers"
)


class LocalProvider:
    name = "local"
    timeout_scale = 1.0
    parallel = 2  # scenarios side by side: each running Ray head is a real Ray process on this machine
    # the Ray runtime's control API and the operator as a process; no Ray node list: worker Pods are
    # kwok's and run no Ray, so a head's GCS only ever lists itself
    capabilities = frozenset(Capability) - {Capability.RAY_NODES, Capability.RUN_CONTAINERS}

    def lacks(self, capability: Capability) -> str:
        if capability is Capability.RUN_CONTAINERS:
            return NO_CONTAINERS
        return NO_RAY_WORKERS if capability is Capability.RAY_NODES else ""

    def __init__(self, kuberay_version: str, name: str = "karta", batch_scheduler: str = "") -> None:
        self._version = kuberay_version
        self.batch_scheduler = batch_scheduler  # the operator's --batch-scheduler ("": none)
        self.cluster = LocalCluster(name)
        self.claim = ClusterClaim(
            self.cluster.home.with_name(f"{name}.claim"),
            f"the local cluster {name!r}",
            "wait for that run to end, or name this run's cluster otherwise (--cluster-name NAME)",
        )
        self._operator_lock = threading.Lock()
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None
        self.operator_restarts = 0  # restarts after the operator exited on its own

    def _keep_operator_running(self) -> None:
        """What the kubelet does for the operator's Deployment on a real cluster: an operator that
        exits on its own (controller-runtime exits when it loses its leader lease, which a busy
        machine can make it do) is started again, with the same flags; said, and counted."""
        while not self._stopping.wait(OPERATOR_CHECK_SECONDS):
            with self._operator_lock:
                if self._stopping.is_set() or not self.cluster.operator_exited():
                    continue
                say(
                    "the KubeRay operator exited on its own (its log says why); restarting it as a kubelet would"
                )
                try:
                    self.cluster.restart_operator()
                    self.operator_restarts += 1
                except EnvironmentProblem as error:
                    say(f"the KubeRay operator could not be restarted: {error}")

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
        self.claim.acquire()  # before anything touches the cluster of that name
        self.cluster.up(self._version, self.batch_scheduler)
        self._stopping.clear()
        self._watchdog = threading.Thread(
            target=self._keep_operator_running, name="operator-watchdog", daemon=True
        )
        self._watchdog.start()

    def stop(self) -> None:
        if not self.claim.held:  # refused at start: the cluster of that name is another run's
            return
        self._stopping.set()
        try:
            with self._operator_lock:
                self.cluster.down(quiet=True)
        finally:
            self.claim.release()
            if not self.cluster.home.exists():  # gone with its cluster (a run per name must leave nothing)
                self.claim.path.unlink(missing_ok=True)

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

    def set_serve_unready(self, namespace: str, value: bool = True) -> None:
        """The heads' Serve proxies stop answering (the routing proxy, the Pods' network here, refuses
        their serving port) and the worker Pods turn NotReady, as a kubelet reports a failing readiness
        probe (kwok never probes): the operator's health check and the EndpointSlice controller do the rest."""
        self.control.serve_unready(namespace, value)

    def ray_nodes(self, namespace: str, pod: str, container: str) -> list[str]:
        raise Unsupported(self.name, Capability.RAY_NODES, NO_RAY_WORKERS)

    def ray_submit(
        self, namespace: str, pod: str, container: str, entrypoint: Sequence[str], submission_id: str = ""
    ) -> str:
        """To the head's real Ray dashboard, through the routing proxy (the job's driver runs on the head)."""
        return self.control.submit(namespace, pod, shlex.join(entrypoint), submission_id)

    def restart_operator(self) -> None:
        with self._operator_lock:
            self.cluster.restart_operator()

    def start_kueue(self) -> str:
        """Kueue started in this cluster on the first scenario's demand (``local/kueue.py``): its version."""
        return self._kueue().start().version

    def _kueue(self) -> LocalKueue:
        return LocalKueue(self.cluster.home, self.cluster.kubeconfig, self.cluster.logs, self.cluster.pids)

    def describe(self) -> str:
        pins = versions.load()
        return (
            f"backend local: Kubernetes {pins.kubernetes} (real etcd, API server, controller manager, scheduler), "
            f"KubeRay operator {self._version} and Ray {pins.ray} heads (real); "
            f"simulated by kwok {pins.kwok}: nodes, kubelets, containers (worker Pods run no Ray)"
            + (
                f"; Gateway API {pins.gateway_api.version} CRDs (standard channel), simulated by a stand-in "
                f"Gateway controller (GatewayClass {gateway_api.STAND_IN_CLASS}): Gateway and HTTPRoute "
                "statuses (Accepted, Programmed, ResolvedRefs), no traffic routed"
                if gateway_api.wanted(self._version)
                else ""
            )
            + (
                f"; operator flag --batch-scheduler={self.batch_scheduler}"
                + (", its PodGroup CRD installed" if batch_schedulers.crd(self.batch_scheduler) else "")
                + f", no {self.batch_scheduler} scheduler: a kube-scheduler profile of that name binds its Pods "
                "(no gang semantics)"
                if self.batch_scheduler
                else ""
            )
            + gates.header(self._version)
            + self._kueue().described()
        )
