"""The local cluster: kwokctl's binary runtime on locally built binaries, plus the KubeRay operator.

Real: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the
KubeRay operator. Simulated: nodes, kubelets and containers (kwok). Everything
binds to 127.0.0.1; ports are free ports, so clusters of different names can
run side by side. One folder holds the kubeconfig, the logs and the pid files:
``<cache>/clusters/<name>/``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance import versions
from conformance.backends import batch_schedulers, gates, gateway_api
from conformance.backends.local import operator, processes
from conformance.backends.local.rayheads import remove_namespace
from conformance.errors import EnvironmentProblem
from conformance.progress import say, step
from conformance.toolchain import cache, crds
from conformance.toolchain.build import Binaries, build_all

NODES = 3
NO_PROXY = "127.0.0.1,localhost"
RUNTIME_READY_TIMEOUT = 30.0
GATEWAY_STAND_IN = "gateway-stand-in"  # the stand-in Gateway controller's process (local/gateway.py)
GATEWAY_CLASS_ACCEPTED_TIMEOUT = (
    "30s"  # kubectl wait: the stand-in accepts its GatewayClass in its first pass
)
# kwokctl waits for the API server only; the controller manager and the scheduler must answer too.
CONTROL_PLANE_READY_TIMEOUT = 60.0
# kwokctl picks its components' ports when it creates a cluster (free ones, probed then): two clusters
# created at once picked the same ones, and one's controller manager could not bind (seen: a `make test`
# beside a `check --live`). Creations take this machine-wide lock, in the clusters' folder, one at a time.
CREATE_LOCK = ".kwokctl-create.lock"
NODE_CAPACITY = {"cpu": "32", "memory": "128Gi", "pods": "110", "nvidia.com/gpu": "8", "rdma/hca": "8"}


@contextmanager
def _machine_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _secure_port(pid: int) -> int | None:
    """The ``--secure-port`` a control-plane process was started with (its command line)."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    for argument in arguments:
        if argument.startswith("--secure-port="):
            return int(argument.split("=", 1)[1])
    return None


LEADER_LEASE = "ray-operator-leader"  # LeaderElectionID in KubeRay's main.go (every pinned version)


@dataclass
class ClusterState:
    name: str
    kuberay_version: str
    kubernetes_version: str
    kubeconfig: str
    operator_probe_port: int
    operator_metrics_port: int
    ray_proxy_port: int
    created: float
    batch_scheduler: str = ""  # the operator's --batch-scheduler ("": none, as the chart's default)
    # the feature gates the harness turned on beyond the chart's (backends/gates.py); an older state
    # file without them: none (a cluster up before this harness turned any on)
    operator_gates: list[str] = field(default_factory=list)
    # the Gateway API version whose CRDs were installed, with the stand-in Gateway controller running ("":
    # neither; also an older state file's value)
    gateway_api: str = ""


class LocalCluster:
    def __init__(self, name: str = "karta") -> None:
        self.name = name
        self.home = cache.cache_root() / "clusters" / name
        self.kwok_workdir = self.home / "kwok"
        self.kubeconfig = self.home / "kubeconfig"
        self.logs = self.home / "logs"
        self.pids = self.home / "pids"
        self.state_file = self.home / "state.json"

    # -- state ---------------------------------------------------------------

    def state(self) -> ClusterState | None:
        try:
            return ClusterState(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    @property
    def control_plane_pids(self) -> Path:
        return self.kwok_workdir / "clusters" / self.name / "pids"

    def process_table(self) -> dict[str, int | None]:
        """Each process this cluster started -> its pid if it is alive, else None."""
        table: dict[str, int | None] = {}
        for folder in (self.control_plane_pids, self.pids):
            for pid_file in sorted(folder.glob("*.pid")):
                pid = processes.read_pid(pid_file)
                table[pid_file.stem] = pid if pid is not None and processes.alive(pid) else None
        return table

    def healthy(self) -> bool:
        state = self.state()
        if state is None:
            return False
        table = self.process_table()
        if not table or any(pid is None for pid in table.values()):
            return False
        return operator.ready(state.operator_probe_port)

    # -- up ------------------------------------------------------------------

    def up(self, kuberay_version: str | None = None, batch_scheduler: str = "") -> ClusterState:
        """Start the cluster (or reuse one of this name already up with the same KubeRay version and
        batch scheduler). ``batch_scheduler`` (e.g. ``volcano``): the operator runs with
        ``--batch-scheduler``, the scheduler's PodGroup CRD is installed first, and kube-scheduler gets
        a profile of that name (it binds the Pods KubeRay hands to that scheduler; no gang semantics)."""
        pins = versions.load()
        kuberay = pins.kuberay_version(kuberay_version)
        gateway = pins.gateway_api.version if gateway_api.wanted(kuberay.version) else ""
        current = self.state()
        if (
            current is not None
            and (current.kuberay_version, current.batch_scheduler) == (kuberay.version, batch_scheduler)
            and current.operator_gates == list(gates.changed(kuberay.version))
            and current.gateway_api == gateway
            and self.healthy()
        ):
            say(f"cluster {self.name!r} is already up (KubeRay {current.kuberay_version})")
            return current
        if current is not None or self.home.exists():
            say(f"cluster {self.name!r}: found leftovers of an earlier run; cleaning them up first")
            self.down(quiet=True)
        binaries = build_all(kuberay.version)
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            with step(f"Starting the control plane (Kubernetes {pins.kubernetes}, kwok {pins.kwok})"):
                self._create_control_plane(binaries, batch_scheduler)
            # The API server needs a few seconds to establish the large KubeRay CRDs: create them first,
            # add the nodes and start the Ray runtime meanwhile, and wait for them only before the operator.
            with step(f"Creating the KubeRay {kuberay.version} CRDs"):
                self.kubectl(binaries, "create", "--validate=false", "-f", str(binaries.crds))
            if gateway:
                with step(
                    f"Creating the Gateway API {gateway} CRDs (standard channel: GatewayClass, Gateway, HTTPRoute)"
                ):
                    # `create`, not a client-side apply: the Gateway and HTTPRoute CRDs are larger than the
                    # last-applied-configuration annotation may be
                    self.kubectl(binaries, "create", "--validate=false", "-f", str(self._gateway_crds()))
            pod_groups = batch_schedulers.crd(batch_scheduler) if batch_scheduler else None
            if pod_groups is not None:
                with step(f"Creating the {batch_scheduler} PodGroup CRD (the operator watches PodGroups)"):
                    self.kubectl(binaries, "create", "-f", str(pod_groups))
            with step(f"Adding {NODES} kwok nodes"):
                self._add_nodes(binaries)
            proxy_port = processes.free_port()
            with step("Starting the Ray runtime (real Ray heads behind a routing proxy)"):
                self._start_runtime(binaries, proxy_port)
            with step("Waiting for the CRDs to be established"):
                self.kubectl(binaries, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
            if gateway:
                with step(
                    "Starting the stand-in Gateway controller (simulated: Gateway and HTTPRoute statuses)"
                ):
                    self._start_gateway(binaries)
            probe_port, metrics_port = processes.free_port(), processes.free_port()
            with step(f"Starting the KubeRay operator {kuberay.version}"):
                self._start_operator(
                    binaries, kuberay.version, probe_port, metrics_port, proxy_port, batch_scheduler
                )
            state = ClusterState(
                name=self.name,
                kuberay_version=kuberay.version,
                kubernetes_version=pins.kubernetes,
                kubeconfig=str(self.kubeconfig),
                operator_probe_port=probe_port,
                operator_metrics_port=metrics_port,
                ray_proxy_port=proxy_port,
                created=time.time(),
                batch_scheduler=batch_scheduler,
                operator_gates=list(gates.changed(kuberay.version)),
                gateway_api=gateway,
            )
            self.state_file.write_text(json.dumps(asdict(state), indent=2) + "\n")
            return state
        except BaseException:
            say(f"cluster {self.name!r}: start failed; logs are in {self.logs} and {self.control_plane_logs}")
            self._keep_logs()
            self.down(quiet=True, keep_logs=True)
            raise

    @property
    def control_plane_logs(self) -> Path:
        return self.kwok_workdir / "clusters" / self.name / "logs"

    def _kwokctl(self, binaries: Binaries, *args: str, timeout: float = 180) -> None:
        env = dict(os.environ, KWOK_WORKDIR=str(self.kwok_workdir))
        log = self.logs / "kwokctl.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as output:
            try:
                completed = subprocess.run(
                    [str(binaries.kwokctl), "--name", self.name, *args],
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                tail = " / ".join(log.read_text().strip().splitlines()[-2:])[-600:]
                raise EnvironmentProblem(
                    f"kwokctl {' '.join(args[:2])} did not finish within {timeout:.0f} s "
                    f"(a busy machine? log: {log}): {tail or 'no output'}"
                ) from None
        if completed.returncode != 0:
            tail = " / ".join(log.read_text().strip().splitlines()[-2:])[-600:]
            raise EnvironmentProblem(
                f"kwokctl {args[0]} {args[1] if len(args) > 1 else ''} failed (log: {log}): {tail}"
            )

    def _create_control_plane(self, binaries: Binaries, batch_scheduler: str = "") -> None:
        config = self.home / "kwokctl.yaml"
        configuration = kwokctl_configuration(binaries)
        if batch_scheduler:
            scheduler = self.home / "kube-scheduler.yaml"
            scheduler.write_text(yaml.safe_dump(batch_schedulers.scheduler_configuration(batch_scheduler)))
            configuration["options"]["kubeSchedulerConfig"] = str(scheduler)
        config.write_text(yaml.safe_dump_all([configuration, *kwok_stages(binaries)], sort_keys=False))
        with _machine_lock(self.home.parent / CREATE_LOCK):
            self._kwokctl(
                binaries,
                "create",
                "cluster",
                "--config",
                str(config),
                "--runtime",
                "binary",
                "--kubeconfig",
                str(self.kubeconfig),
                "--wait",
                "120s",
            )
            self._control_plane_serving()

    def _control_plane_serving(self) -> None:
        """The controller manager and the scheduler answer /healthz on their secure ports (the ports bound:
        the next creation probes past them); one that exited or does not answer is an EnvironmentProblem
        with its log's last line."""
        for component in ("kube-controller-manager", "kube-scheduler"):
            pid = processes.read_pid(self.control_plane_pids / f"{component}.pid")
            port = _secure_port(pid) if pid is not None else None
            url = f"https://127.0.0.1:{port}/healthz"
            if (
                pid is None
                or port is None
                or not processes.wait_http_ok(url, CONTROL_PLANE_READY_TIMEOUT, pid)
            ):
                log = self.control_plane_logs / f"{component}.log"
                lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
                state = "not running" if pid is None or not processes.alive(pid) else "not answering /healthz"
                raise EnvironmentProblem(
                    f"the local cluster's {component} is {state} after kwokctl created the cluster "
                    f"(log {log}): {lines[-1][-400:] if lines else 'no output'}"
                )

    def kubectl(self, binaries: Binaries, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        return processes.kubectl(binaries.kubectl, self.kubeconfig, *args, stdin=stdin, timeout=timeout)

    def _add_nodes(self, binaries: Binaries) -> None:
        manifests = [kwok_node(f"kwok-node-{index}") for index in range(NODES)]
        self.kubectl(binaries, "apply", "-f", "-", stdin=yaml.safe_dump_all(manifests))
        self.kubectl(binaries, "wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")

    def _start_runtime(self, binaries: Binaries, port: int) -> None:
        env = processes.python_env(Path(__file__).resolve().parents[3])
        argv = [
            sys.executable,
            "-m",
            "conformance.backends.local.runtime",
            "--kubeconfig",
            str(self.kubeconfig),
            "--home",
            str(self.home),
            "--port",
            str(port),
            "--ray-bin",
            str(binaries.ray),
        ]
        process = processes.start("ray-runtime", argv, env, self.logs / "ray-runtime.log", self.pids)
        if not processes.wait_http_ok(f"http://127.0.0.1:{port}/_karta/healthz", RUNTIME_READY_TIMEOUT):
            tail = " / ".join((self.logs / "ray-runtime.log").read_text(errors="replace").splitlines()[-3:])
            state = "running" if process.poll() is None else f"exited {process.returncode}"
            raise EnvironmentProblem(
                f"the Ray runtime did not answer ({state}; log: {self.logs}/ray-runtime.log): {tail}"
            )

    @staticmethod
    def _gateway_crds() -> Path:
        try:
            return crds.gateway_api_crds()
        except crds.CrdsUnavailable as error:
            raise EnvironmentProblem(str(error)) from None

    def _start_gateway(self, binaries: Binaries) -> None:
        """The stand-in's GatewayClass created (as a Gateway implementation's install does), the stand-in
        started, and waited for until it accepted the class."""
        self.kubectl(binaries, "create", "-f", "-", stdin=yaml.safe_dump(gateway_api.stand_in_class()))
        env = processes.python_env(Path(__file__).resolve().parents[3])
        argv = [
            sys.executable,
            "-m",
            "conformance.backends.local.gateway",
            "--kubeconfig",
            str(self.kubeconfig),
        ]
        log = self.logs / f"{GATEWAY_STAND_IN}.log"
        processes.start(GATEWAY_STAND_IN, argv, env, log, self.pids)
        try:
            self.kubectl(
                binaries,
                "wait",
                "--for=condition=Accepted",
                f"gatewayclass/{gateway_api.STAND_IN_CLASS}",
                f"--timeout={GATEWAY_CLASS_ACCEPTED_TIMEOUT}",
            )
        except EnvironmentProblem as error:
            tail = " / ".join(log.read_text(errors="replace").splitlines()[-3:]) if log.exists() else ""
            raise EnvironmentProblem(
                f"the stand-in Gateway controller did not accept GatewayClass {gateway_api.STAND_IN_CLASS} "
                f"({error}; log: {log}): {tail or 'no output'}"
            ) from None

    def _keep_logs(self) -> None:
        if self.control_plane_logs.exists():
            target = self.logs / "control-plane"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(self.control_plane_logs, target)

    def _start_operator(
        self,
        binaries: Binaries,
        version: str,
        probe_port: int,
        metrics_port: int,
        proxy_port: int,
        batch_scheduler: str = "",
    ) -> None:
        proxy = f"http://127.0.0.1:{proxy_port}"
        operator.start(
            binaries.ray_operator,
            version,
            batch_scheduler=batch_scheduler,
            kubeconfig=self.kubeconfig,
            log=self.logs / "kuberay-operator.log",
            pid_dir=self.pids,
            probe_port=probe_port,
            metrics_port=metrics_port,
            extra_env={"HTTP_PROXY": proxy, "http_proxy": proxy, "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY},
        )

    def operator_exited(self) -> bool:
        """Whether the operator this cluster started is no longer running (e.g. it lost its leader
        lease on a busy machine and exited, as controller-runtime managers do)."""
        pid = processes.read_pid(self.pids / "kuberay-operator.pid")
        return self.state() is not None and (pid is None or not processes.alive(pid))

    def restart_operator(self) -> None:
        """Fault hook: stop the KubeRay operator and start it again with the same flags."""
        state = self.state()
        if state is None:
            raise EnvironmentProblem(f"cluster {self.name!r} is not up")
        pid = processes.read_pid(self.pids / "kuberay-operator.pid")
        if pid is not None:
            processes.stop(pid)
        binaries = build_all(state.kuberay_version)
        # KubeRay's manager does not release its leader lease when it stops (no LeaderElectionReleaseOnCancel
        # in its main.go), so a new operator would wait out the old lease (15 s) before reconciling. The
        # old process is gone: its lease is released here, as a manager releasing on shutdown would. What a
        # scenario judges does not change (the workload is not touched while the operator is down); the
        # scenario only stops waiting for the lease to expire.
        self.kubectl(
            binaries, "delete", "lease", LEADER_LEASE, "-n", "default", "--ignore-not-found", "--wait=false"
        )
        self._start_operator(
            binaries,
            state.kuberay_version,
            state.operator_probe_port,
            state.operator_metrics_port,
            state.ray_proxy_port,
            state.batch_scheduler,
        )

    # -- down ----------------------------------------------------------------

    def down(self, quiet: bool = False, keep_logs: bool = False) -> list[str]:
        """Stop every process of this cluster (also after a crash) and remove its files."""
        control_plane = {
            f.stem: pid
            for f in self.control_plane_pids.glob("*.pid")
            if (pid := processes.read_pid(f)) is not None
        }
        stopped = []
        for first in ("kuberay-operator", "ray-runtime"):  # the runtime stops its Ray heads on SIGTERM
            pid = processes.read_pid(self.pids / f"{first}.pid")
            if pid is not None and processes.alive(pid):
                processes.stop(pid, grace=60)
                stopped.append(first)
            (self.pids / f"{first}.pid").unlink(missing_ok=True)
        stopped += processes.stop_all(self.pids)
        for marker in sorted((self.home / "netns").glob("*")):
            remove_namespace(marker.name)
            marker.unlink(missing_ok=True)
        kwokctl = _find_kwokctl()
        if kwokctl is not None and (self.kwok_workdir / "clusters" / self.name).exists():
            subprocess.run(
                [str(kwokctl), "--name", self.name, "delete", "cluster"],
                env=dict(os.environ, KWOK_WORKDIR=str(self.kwok_workdir)),
                capture_output=True,
                timeout=120,
                check=False,
            )
        stopped += processes.stop_all(self.control_plane_pids)
        for component, pid in control_plane.items():  # kwokctl signals them but does not wait
            if processes.alive(pid):
                processes.stop(pid)
                stopped.append(component)
        if keep_logs:
            for child in self.home.iterdir() if self.home.exists() else []:
                if child != self.logs:
                    shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(
                        missing_ok=True
                    )
        else:
            shutil.rmtree(self.home, ignore_errors=True)
        if not quiet:
            say(f"cluster {self.name!r} is down" + (f" (stopped {', '.join(stopped)})" if stopped else ""))
        return stopped

    # -- status --------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        state = self.state()
        return {
            "name": self.name,
            "state": asdict(state) if state else None,
            "processes": self.process_table(),
            "operator_ready": bool(state and operator.ready(state.operator_probe_port)),
            "home": str(self.home),
        }


def _find_kwokctl() -> Path | None:
    pins = versions.load()
    candidate = cache.component_dir("kwok", pins.kwok) / "bin" / "kwokctl"
    return candidate if candidate.exists() else None


def kwokctl_configuration(binaries: Binaries) -> dict[str, Any]:
    """kwokctl options: local binaries only (nothing to download), everything on 127.0.0.1."""
    pins = versions.load()
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "kubeVersion": pins.kubernetes,
            "kubeApiserverBinary": str(binaries.kube_apiserver),
            "kubeControllerManagerBinary": str(binaries.kube_controller_manager),
            "kubeSchedulerBinary": str(binaries.kube_scheduler),
            "kwokControllerBinary": str(binaries.kwok),
            "etcdBinary": str(binaries.etcd),
            "kubectlBinary": str(binaries.kubectl),
        },
    }


# kwok's default stages, except pod-complete: Job Pods are finished by the Ray runtime instead
# (RayJob submitters really run; see conformance/local/jobpods.py).
STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-delete.yaml",
)


def kwok_stages(binaries: Binaries) -> list[dict[str, Any]]:
    stages: list[dict[str, Any]] = []
    for name in STAGES:
        path = binaries.kwok_stages / name
        try:
            stages.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
        except OSError as error:
            raise EnvironmentProblem(f"kwok stage manifest missing: {path}: {error}") from None
    return stages


def kwok_node(name: str) -> dict[str, Any]:
    """A fake node that kwok manages, with CPU, memory, nvidia.com/gpu and rdma/hca capacity."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "nvidia.com/gpu.present": "true",
            },
        },
        "spec": {},
        "status": {"capacity": dict(NODE_CAPACITY), "allocatable": dict(NODE_CAPACITY)},
    }
