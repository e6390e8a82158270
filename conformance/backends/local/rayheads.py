"""Real Ray heads for head Pods that kwok reports Running.

Each head runs `ray start --head --block` with Ray's default ports inside its own network
namespace (only a loopback), plus a bridge that exposes those ports as Unix sockets in a
short folder ``/tmp/karta-<id>/``. The fixtures' Serve app is importable (PYTHONPATH).
Worker Pods get no Ray process.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.backends.fixture_app import DASHBOARD_MODULE_TIMEOUT, GATE_KEY, HEALTH_KEY
from conformance.backends.local import netns, processes

RAY_PORTS = (6379, 8265, 8000, 10001, 52365)
SERVE_PORT = 8000  # Ray Serve's HTTP proxy on every head (Ray's default; KubeRay's container port "serve")
NO_RAY_LABEL = "karta.conformance/no-ray"
APP_DIR = Path(__file__).resolve().parents[2] / "_fixtures" / "app"  # the shipped fixtures' Serve app


@dataclass
class HeadKey:
    namespace: str
    pod: str
    uid: str

    @property
    def id(self) -> str:
        return hashlib.sha1(f"{self.namespace}/{self.pod}/{self.uid}".encode()).hexdigest()[:10]


@dataclass
class RayHead:
    key: HeadKey
    cluster: str  # the RayCluster (ray.io/cluster label)
    pod_ip: str
    ray_bin: Path
    logs: Path
    num_cpus: str = "1"
    held: bool = False
    ray_process: subprocess.Popen[bytes] | None = None
    bridge_process: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def netns(self) -> str:
        return f"{netns.PREFIX}{self.key.id}"

    @property
    def socket_dir(self) -> Path:
        return Path(f"/tmp/karta-{self.key.id}")

    @property
    def log_file(self) -> Path:
        return self.logs / f"ray-head-{self.key.namespace}-{self.key.pod}.log"

    @property
    def gate_file(self) -> Path:
        """While it exists, the fixture Serve app's replicas on this head do not finish starting."""
        return self.socket_dir.with_name(self.socket_dir.name + "-gate")

    def socket(self, port: int) -> Path:
        return self.socket_dir / f"{port}.sock"

    @property
    def marker(self) -> Path:
        """Records the namespace, so `cluster down` can remove it even after a crash."""
        return self.logs.parent / "netns" / self.netns

    def start(self) -> None:
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(f"{self.key.namespace}/{self.key.pod}\n")
        netns.create(self.netns)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.socket_dir.glob("*.sock"):
            stale.unlink()
        if self.held:
            self.gate_file.write_text("held by the harness\n")
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(APP_DIR),
                "RAY_USAGE_STATS_ENABLED": "0",
                DASHBOARD_MODULE_TIMEOUT[0]: DASHBOARD_MODULE_TIMEOUT[1],
                "KARTA_FIXTURE_HEALTH_FILE": str(self.socket_dir / "unhealthy"),
                "KARTA_FIXTURE_GATE_FILE": str(self.gate_file),
                # Job entrypoints run `python` on the head: the Ray environment's interpreter.
                "PATH": f"{self.ray_bin.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                **self.extra_env,
            }
        )
        env.pop("HTTP_PROXY", None)
        env.pop("http_proxy", None)
        ray = [
            str(self.ray_bin),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            "--port=6379",
            "--dashboard-host=0.0.0.0",
            "--dashboard-port=8265",
            f"--num-cpus={self.num_cpus}",
            "--disable-usage-stats",
            f"--temp-dir={self.socket_dir / 'ray'}",
            "--object-store-memory=100000000",
        ]
        self.ray_process = processes.start(
            f"ray-head-{self.key.id}",
            netns.exec_argv(self.netns, ray),
            env,
            self.log_file,
            self.logs.parent / "pids",
        )
        bridge = [
            sys.executable,
            "-m",
            "conformance.backends.local.bridge",
            str(self.socket_dir),
            *map(str, RAY_PORTS),
        ]
        bridge_env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
        self.bridge_process = processes.start(
            f"ray-bridge-{self.key.id}",
            netns.exec_argv(self.netns, bridge),
            bridge_env,
            self.logs / f"ray-bridge-{self.key.id}.log",
            self.logs.parent / "pids",
        )

    def alive(self) -> bool:
        return self.ray_process is not None and self.ray_process.poll() is None

    def answering(self) -> bool:
        """Whether the head's dashboard answers (Ray is up, not just started)."""
        if not self.alive():
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(2)
                probe.connect(str(self.socket(8265)))
                probe.sendall(b"GET /api/gcs_healthz HTTP/1.1\r\nHost: head\r\nConnection: close\r\n\r\n")
                return probe.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def set_unhealthy(self, value: bool) -> None:
        """The fixtures' Serve app on this head fails its health check while ``value``."""
        flag = self.socket_dir / "unhealthy"
        if value:
            flag.write_text("unhealthy\n")
        else:
            flag.unlink(missing_ok=True)

    def kill_ray(self) -> None:
        """Fault hook: end the head's Ray processes, as if the container crashed."""
        if self.ray_process is not None:
            processes.stop(self.ray_process.pid, grace=2)

    def stop(self, grace: float = 5.0) -> None:
        """Ray ended (SIGTERM, then SIGKILL after ``grace``) with everything left in its namespace."""
        started = [p.pid for p in (self.ray_process, self.bridge_process) if p is not None]
        processes.stop_many(started, grace)  # together: `ray start --block` and the bridge end side by side
        (self.logs.parent / "pids" / f"ray-head-{self.key.id}.pid").unlink(missing_ok=True)
        (self.logs.parent / "pids" / f"ray-bridge-{self.key.id}.pid").unlink(missing_ok=True)
        # Ray forks raylet, gcs_server, dashboard ... in the same network namespace: end them all there.
        # (Never `ray stop`: it finds Ray processes by name across the whole machine, other heads' too.)
        remove_namespace(self.netns, min(grace, 2.0))
        self.gate_file.unlink(missing_ok=True)
        self.marker.unlink(missing_ok=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def remove_namespace(name: str, grace: float = 2.0) -> None:
    """End every process left in a head's namespace and delete it."""
    _kill_namespace_processes(name, grace)
    netns.delete(name)
    shutil.rmtree(f"/tmp/karta-{name.removeprefix(netns.PREFIX)}", ignore_errors=True)


def _kill_namespace_processes(name: str, grace: float) -> None:
    completed = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False)
    processes.stop_many([int(token) for token in completed.stdout.split() if token.isdigit()], grace)


class HeadManager:
    """Keeps one Ray head per Running head Pod; the gate holds the Serve app of new heads in a namespace."""

    def __init__(self, ray_bin: Path, logs: Path) -> None:
        self.ray_bin = ray_bin
        self.logs = logs
        self.heads: dict[str, RayHead] = {}  # pod uid -> head
        self.held: set[str] = set()  # namespaces whose new heads are held
        self.switched: dict[str, tuple[bool, bool]] = {}  # namespace -> (gate, health) in its ConfigMap
        # namespaces whose Serve proxies are down (the drop-serve-endpoints fault): their heads do not
        # answer on the serving port, and their worker Pods are NotReady (runtime.ServeReadiness)
        self.serve_down: set[str] = set()
        self.lock = threading.RLock()

    def set_serve_down(self, namespace: str, value: bool) -> None:
        with self.lock:
            (self.serve_down.add if value else self.serve_down.discard)(namespace)

    def serving_cut(self, head: RayHead, port: int) -> bool:
        """Whether a request to ``port`` of ``head`` finds its Serve proxy down (the fault is on)."""
        with self.lock:
            return port == SERVE_PORT and head.key.namespace in self.serve_down

    def hold(self, namespace: str) -> None:
        """Heads that start in ``namespace`` from now on come up with their Serve app held (DEPLOYING)."""
        with self.lock:
            self.held.add(namespace)

    def release(self, namespace: str) -> None:
        """Let every held head of ``namespace`` finish deploying its Serve app."""
        with self.lock:
            self.held.discard(namespace)
            for head in self.heads.values():
                if head.key.namespace == namespace and head.held:
                    head.held = False
                    head.gate_file.unlink(missing_ok=True)

    def follow_switches(self, switches: dict[str, dict[str, str]]) -> None:
        """The switches of each namespace's fixture-app ConfigMap (namespace -> its data), as the kind
        backend's Ray containers read them from their mount: so ``--cluster existing`` drives the gate
        and the health fault here too. A change is acted on; the control API works alongside."""
        with self.lock:
            for namespace, data in switches.items():
                gate, health = (data.get(key, "off").strip() != "off" for key in (GATE_KEY, HEALTH_KEY))
                was_gate, was_health = self.switched.get(namespace, (False, False))
                if gate != was_gate:
                    (self.hold if gate else self.release)(namespace)
                if health != was_health:
                    for head in self.heads.values():
                        if head.key.namespace == namespace:
                            head.set_unhealthy(health)
                self.switched[namespace] = (gate, health)
            for gone in set(self.switched) - set(switches):
                del self.switched[gone]

    def ready(self, namespace: str) -> bool:
        """Every head Pod of ``namespace`` has a Ray that answers (at least one head)."""
        with self.lock:
            heads = [h for h in self.heads.values() if h.key.namespace == namespace]
        return bool(heads) and all(h.answering() for h in heads)

    def by_pod_ip(self, ip: str) -> RayHead | None:
        with self.lock:
            return next((h for h in self.heads.values() if h.pod_ip == ip), None)

    def by_pod(self, namespace: str, pod: str) -> RayHead | None:
        with self.lock:
            return next(
                (h for h in self.heads.values() if (h.key.namespace, h.key.pod) == (namespace, pod)), None
            )

    def reconcile(self, head_pods: list[dict[str, Any]]) -> None:
        """Start heads for Running head Pods (unless held), stop heads whose Pod is gone or deleting."""
        wanted: dict[str, dict[str, Any]] = {}
        for pod in head_pods:
            metadata, status = pod["metadata"], pod.get("status") or {}
            if (
                metadata.get("deletionTimestamp")
                or status.get("phase") != "Running"
                or not status.get("podIP")
            ):
                continue
            if (metadata.get("labels") or {}).get(NO_RAY_LABEL) == "true":
                continue  # a neighbour workload that only needs to exist, not to run Ray
            wanted[metadata["uid"]] = pod
        with self.lock:
            stop_side_by_side([self.heads.pop(uid) for uid in list(self.heads) if uid not in wanted])
            for uid, pod in wanted.items():
                head = self.heads.get(uid)
                if head is not None:
                    if not head.alive():  # like a kubelet restarting a crashed container
                        flag = head.socket_dir / "unhealthy"
                        unhealthy = flag.exists()
                        head.stop()
                        head.start()
                        if unhealthy:
                            flag.write_text("unhealthy\n")
                    continue
                metadata = pod["metadata"]
                head = RayHead(
                    key=HeadKey(metadata["namespace"], metadata["name"], uid),
                    cluster=(metadata.get("labels") or {}).get("ray.io/cluster", ""),
                    pod_ip=pod["status"]["podIP"],
                    ray_bin=self.ray_bin,
                    logs=self.logs,
                    num_cpus=_num_cpus(pod),
                    held=metadata["namespace"] in self.held,
                )
                head.start()
                self.heads[uid] = head

    def stop_all(self) -> None:
        """The runtime's end (the cluster torn down): no Ray state outlives it, so a second is grace enough."""
        with self.lock:
            heads = list(self.heads.values())
            self.heads.clear()
            stop_side_by_side(heads, grace=1.0)

    def describe(self) -> list[dict[str, str]]:
        with self.lock:
            return [
                {
                    "namespace": h.key.namespace,
                    "pod": h.key.pod,
                    "cluster": h.cluster,
                    "ip": h.pod_ip,
                    "alive": str(h.alive()),
                }
                for h in self.heads.values()
            ]


def _num_cpus(pod: dict[str, Any]) -> str:
    """At least one CPU, so tasks of a RayJob entrypoint can run on the head."""
    for container in pod.get("spec", {}).get("containers", []):
        for argument in [*(container.get("command") or []), *(container.get("args") or [])]:
            if "--num-cpus=" in argument:
                value = argument.split("--num-cpus=")[1].split()[0].strip("'\"")
                if value.isdigit() and int(value) > 0:
                    return str(value)
    return "1"


def stop_side_by_side(heads: list[RayHead], grace: float = 5.0) -> None:
    """Stop ``heads`` at once, each in its own thread (each in its own namespace): it takes the slowest
    head's time, not the sum of all (a namespace deleted with three clusters, the run's teardown)."""
    if not heads:
        return
    with ThreadPoolExecutor(max_workers=len(heads), thread_name_prefix="ray-head-stop") as pool:
        for stopping in [pool.submit(head.stop, grace) for head in heads]:
            stopping.result()
