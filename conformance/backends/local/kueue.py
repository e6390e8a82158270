"""Kueue on the local backend: its real manager as a host process, its webhooks called by URL.

Started on first use, when a scenario needs Kueue (``LocalProvider.start_kueue``), never otherwise:

1. the manager built from the pinned Kueue module (``versions.yaml`` ``kueue``; ``toolchain/build.build_kueue``);
2. its CRDs (``config/components/crd/bases`` of the module, as they are: no conversion webhook, the scenarios
   use only v1beta2) created by server-side apply, and waited for until Established;
3. a CA and a serving certificate for ``127.0.0.1`` made with ``openssl`` in the cluster's folder
   (``<cluster>/kueue/certs``);
4. the manager started with a generated ``Configuration`` (``configuration``): the Ray frameworks only,
   webhooks on ``127.0.0.1:<free port>`` with that certificate, internal certificate management, the
   visibility API server, leader election and metrics off, health probes on loopback; waited for (a bounded
   poll of ``/readyz``, which answers once the webhook server serves);
5. its mutating and validating webhook configurations, the Ray kinds' and Kueue's own kinds' entries only
   (``webhook_configurations``), each ``clientConfig.url: https://127.0.0.1:<port>/<path>`` with the CA as
   ``caBundle``; then a server-side dry-run create of a ResourceFlavor, polled until the API server reaches
   the webhook.

Kueue's manager reads a metrics certificate from the hard-coded ``/etc/kueue/metrics/certs`` whenever
internal certificate management is off (``cmd/kueue/main.go``; a missing file ends it), metrics served or
not. Nothing is written to ``/etc``: the manager runs in a private mount namespace (``unshare --mount``)
where ``/etc`` is an overlay (lower: the host's ``/etc``, upper: ``<cluster>/kueue/etc/upper``, holding
``kueue/metrics/certs/tls.{crt,key}``). The overlay exists only in that namespace and goes with the process.

The process is one of the cluster's (its pid file in ``<cluster>/pids``): stopped with the cluster
(``LocalCluster.down``, on success, failure and Ctrl-C alike); ``stop`` also removes the webhook
configurations, so a cluster without Kueue admits Ray objects again.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed
from tenacity.stop import stop_base

from conformance import versions
from conformance.backends.local import processes
from conformance.errors import EnvironmentProblem
from conformance.model import kueue_states
from conformance.progress import say, step
from conformance.toolchain import build

PROCESS = "kueue-manager"  # its pid file and log name in the cluster's folders
NAMESPACE = "kueue-system"  # the Configuration's namespace (Kueue's default)
READY_TIMEOUT = 90.0  # seconds for /readyz (the manager's caches sync first)
WEBHOOK_TIMEOUT = 60.0  # seconds for the API server to reach the webhook through its configuration
FRAMEWORKS = ("ray.io/rayjob", "ray.io/raycluster", "ray.io/rayservice")
STARTING = threading.Lock()  # scenarios side by side asking for Kueue at once: one starts it
MUTATING = "kueue-mutating-webhook-configuration"  # the names Kueue's release manifests give them
VALIDATING = "kueue-validating-webhook-configuration"


@dataclass(frozen=True)
class Hook:
    """One webhook of Kueue's manager (``config/components/webhook/manifests.yaml``, the kubebuilder markers
    of each kind's webhook): its name, path, group, resources and operations."""

    name: str
    path: str
    group: str
    resources: tuple[str, ...]
    operations: tuple[str, ...]


CREATE, CREATE_UPDATE = ("CREATE",), ("CREATE", "UPDATE")
# Ray's kinds (jobs/rayjob, raycluster, rayservice *_webhook.go) and Kueue's own (pkg/webhooks); the other
# integrations' hooks (Pods, Deployments, batch Jobs, JobSets, ...) are left out: their frameworks are
# off, and a hook for Pods would hold up every Pod of the cluster while the manager is down.
MUTATING_HOOKS = (
    Hook("mrayjob.kb.io", "/mutate-ray-io-v1-rayjob", "ray.io", ("rayjobs",), CREATE),
    Hook("mraycluster.kb.io", "/mutate-ray-io-v1-raycluster", "ray.io", ("rayclusters",), CREATE),
    Hook("mrayservice.kb.io", "/mutate-ray-io-v1-rayservice", "ray.io", ("rayservices",), CREATE),
    Hook(
        "mclusterqueue.kb.io",
        "/mutate-kueue-x-k8s-io-v1beta2-clusterqueue",
        kueue_states.GROUP,
        ("clusterqueues",),
        CREATE,
    ),
    Hook(
        "mresourceflavor.kb.io",
        "/mutate-kueue-x-k8s-io-v1beta2-resourceflavor",
        kueue_states.GROUP,
        ("resourceflavors",),
        CREATE,
    ),
    Hook(
        "mworkload.kb.io",
        "/mutate-kueue-x-k8s-io-v1beta2-workload",
        kueue_states.GROUP,
        ("workloads",),
        CREATE,
    ),
)
VALIDATING_HOOKS = (
    Hook("vrayjob.kb.io", "/validate-ray-io-v1-rayjob", "ray.io", ("rayjobs",), CREATE_UPDATE),
    Hook("vraycluster.kb.io", "/validate-ray-io-v1-raycluster", "ray.io", ("rayclusters",), CREATE_UPDATE),
    Hook("vrayservice.kb.io", "/validate-ray-io-v1-rayservice", "ray.io", ("rayservices",), CREATE_UPDATE),
    Hook(
        "vclusterqueue.kb.io",
        "/validate-kueue-x-k8s-io-v1beta2-clusterqueue",
        kueue_states.GROUP,
        ("clusterqueues",),
        CREATE_UPDATE,
    ),
    Hook(
        "vcohort.kb.io",
        "/validate-kueue-x-k8s-io-v1beta2-cohort",
        kueue_states.GROUP,
        ("cohorts",),
        CREATE_UPDATE,
    ),
    Hook(
        "vresourceflavor.kb.io",
        "/validate-kueue-x-k8s-io-v1beta2-resourceflavor",
        kueue_states.GROUP,
        ("resourceflavors",),
        CREATE_UPDATE,
    ),
    Hook(
        "vworkload.kb.io",
        "/validate-kueue-x-k8s-io-v1beta2-workload",
        kueue_states.GROUP,
        ("workloads", "workloads/status"),
        CREATE_UPDATE,
    ),
)


# --- the pure part: what is generated ------------------------------------------------------------------


def configuration(health_port: int, webhook_port: int, cert_dir: Path) -> dict[str, Any]:
    """Kueue's manager Configuration (``config.kueue.x-k8s.io/v1beta2``, ``apis/config/v1beta2``)."""
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": NAMESPACE,
        "health": {"healthProbeBindAddress": f"127.0.0.1:{health_port}"},
        "metrics": {"bindAddress": "0"},  # off (controller-runtime: "0" serves no metrics)
        "webhook": {"host": "127.0.0.1", "port": webhook_port, "certDir": str(cert_dir)},
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},  # its certificates name a Service, not 127.0.0.1
        "manageJobsWithoutQueueName": False,
        # the visibility API is an aggregated API server of its own, with certificates of its own
        "featureGates": {"VisibilityOnDemand": False},
        "integrations": {"frameworks": list(FRAMEWORKS)},
    }


def _webhook(hook: Hook, port: int, ca_bundle: str) -> dict[str, Any]:
    return {
        "name": hook.name,
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"url": f"https://127.0.0.1:{port}{hook.path}", "caBundle": ca_bundle},
        "failurePolicy": "Fail",
        "sideEffects": "None",
        "rules": [
            {
                "apiGroups": [hook.group],
                "apiVersions": ["v1beta2" if hook.group == kueue_states.GROUP else "v1"],
                "operations": list(hook.operations),
                "resources": list(hook.resources),
            }
        ],
    }


def webhook_configurations(port: int, ca_bundle: str) -> list[dict[str, Any]]:
    """The mutating and validating webhook configurations, calling the manager at ``127.0.0.1:port`` and
    trusting ``ca_bundle`` (base64 of the CA's PEM)."""
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": kind,
            "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "karta-conformance"}},
            "webhooks": [_webhook(h, port, ca_bundle) for h in hooks],
        }
        for kind, name, hooks in (
            ("MutatingWebhookConfiguration", MUTATING, MUTATING_HOOKS),
            ("ValidatingWebhookConfiguration", VALIDATING, VALIDATING_HOOKS),
        )
    ]


METRICS_CERTS = Path("kueue/metrics/certs")  # under /etc: cmd/kueue/main.go metricsCertPath


def manager_argv(kueue: Path, config: Path, upper: Path, work: Path) -> list[str]:
    """The manager in a private mount namespace whose ``/etc`` is an overlay with ``upper`` on top (which
    holds ``kueue/metrics/certs``): ``unshare`` execs the shell, the shell mounts and execs the manager, so
    the pid started is the manager's."""
    mount = f"mount -t overlay karta-kueue-etc -o lowerdir=/etc,upperdir={upper},workdir={work} /etc"
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        f'{mount} && exec "$0" "$@"',
        str(kueue),
        "--config",
        str(config),
        "--zap-log-level=2",
    ]


def openssl_commands(folder: Path) -> list[list[str]]:
    """A CA, and a serving certificate for 127.0.0.1 signed by it, in ``folder`` (valid 30 days)."""
    ca = [
        *[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=karta-conformance-kueue-ca",
        ],
        *("-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        *("-keyout", str(folder / "ca.key"), "-out", str(folder / "ca.crt")),
    ]
    request = [
        *["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"],
        *("-keyout", str(folder / "tls.key"), "-out", str(folder / "tls.csr")),
    ]
    sign = [
        *["openssl", "x509", "-req", "-days", "30", "-CAcreateserial"],
        *("-in", str(folder / "tls.csr"), "-CA", str(folder / "ca.crt"), "-CAkey", str(folder / "ca.key")),
        *("-extfile", str(folder / "server.ext"), "-out", str(folder / "tls.crt")),
    ]
    return [ca, request, sign]


SERVER_EXTENSIONS = (
    "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    "keyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage=serverAuth\n"
)


# --- the process -------------------------------------------------------------------------------------


@dataclass
class KueueState:
    version: str
    webhook_port: int
    health_port: int
    started: float


class LocalKueue:
    """Kueue of one local cluster: its files in ``<cluster>/kueue``, its process among the cluster's."""

    def __init__(self, home: Path, kubeconfig: Path, logs: Path, pids: Path) -> None:
        self.folder = home / "kueue"
        self.kubeconfig = kubeconfig
        self.log = logs / f"{PROCESS}.log"
        self.pids = pids
        self.state_file = self.folder / "state.json"

    def state(self) -> KueueState | None:
        try:
            return KueueState(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def pid(self) -> int | None:
        found = processes.read_pid(self.pids / f"{PROCESS}.pid")
        return found if found is not None and processes.alive(found) else None

    def running(self) -> KueueState | None:
        """The state of a manager that runs and answers /readyz; None otherwise."""
        state = self.state()
        if state is None or self.pid() is None:
            return None
        return state if processes.wait_http_ok(self._readyz(state), 2.0) else None

    def described(self) -> str:
        """What the backend's report header says of Kueue: its version and how it runs, once started."""
        state = self.state()
        if state is None or self.pid() is None:
            return ""
        return (
            f"; Kueue {state.version} (real: its manager built from {versions.load().kueue.module}, a host "
            "process with its CRDs and webhooks called by URL; started for the scenarios that queue workloads)"
        )

    @staticmethod
    def _readyz(state: KueueState) -> str:
        return f"http://127.0.0.1:{state.health_port}/readyz"

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        pins = versions.load()
        kubectl = build.build_kubernetes(pins.kubernetes, pins.staging) / "kubectl"
        return processes.kubectl(kubectl, self.kubeconfig, *args, stdin=stdin, timeout=timeout)

    def start(self) -> KueueState:
        """Kueue up (or the one already running): see the module's docstring. On any failure what was
        started is stopped again, and an EnvironmentProblem names the log."""
        with STARTING:
            return self._started()

    def _started(self) -> KueueState:
        found = self.running()
        if found is not None:
            return found
        pinned = versions.load().kueue
        bin_dir, crds = build.build_kueue(pinned.module, pinned.version)
        try:
            with step(
                f"Starting Kueue {pinned.version} (its CRDs, the manager as a host process, its webhooks)"
            ):
                return self._start(bin_dir / "kueue", crds, pinned.version)
        except BaseException:
            self.stop(quiet=True)
            raise

    def _start(self, kueue: Path, crds: Path, version: str) -> KueueState:
        files = sorted(crds.glob("*.yaml"))
        if not files:
            raise EnvironmentProblem(f"Kueue {version}: no CRDs under {crds}")
        self.kubectl(
            "apply", "--server-side", "--force-conflicts", *(a for f in files for a in ("-f", str(f)))
        )
        names = [str(yaml.safe_load(f.read_text())["metadata"]["name"]) for f in files]
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", *(f"crd/{n}" for n in names))
        self.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(_namespace()))
        shutil.rmtree(self.folder, ignore_errors=True)
        certs, upper, work = (
            self.folder / "certs",
            self.folder / "etc" / "upper",
            self.folder / "etc" / "work",
        )
        for folder in (certs, upper / METRICS_CERTS, work):
            folder.mkdir(parents=True)
        make_certificates(certs)
        for name in ("tls.crt", "tls.key"):  # the metrics watcher only reads them: metrics are off
            shutil.copyfile(certs / name, upper / METRICS_CERTS / name)
        state = KueueState(version, processes.free_port(), processes.free_port(), time.time())
        config = self.folder / "config.yaml"
        config.write_text(yaml.safe_dump(configuration(state.health_port, state.webhook_port, certs)))
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
        env.update({"KUBECONFIG": str(self.kubeconfig), "NO_PROXY": "127.0.0.1,localhost"})
        process = processes.start(
            PROCESS, manager_argv(kueue, config, upper, work), env, self.log, self.pids, cwd=self.folder
        )
        if not processes.wait_http_ok(self._readyz(state), READY_TIMEOUT, process.pid):
            how = "running" if process.poll() is None else f"exited {process.returncode}"
            raise EnvironmentProblem(
                f"Kueue's manager did not get ready within {READY_TIMEOUT:.0f} s ({how}; log {self.log}): {self._tail()}"
            )
        bundle = base64.b64encode((certs / "ca.crt").read_bytes()).decode()
        configurations = webhook_configurations(state.webhook_port, bundle)
        self.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(configurations))
        self._webhooks_reached(process.pid)
        self.state_file.write_text(json.dumps(asdict(state), indent=2) + "\n")
        return state

    def _webhooks_reached(self, pid: int) -> None:
        """A server-side dry run that passes Kueue's ResourceFlavor webhooks, tried every second until it
        succeeds, for at most ``WEBHOOK_TIMEOUT`` and no longer than the manager lives."""
        probe = yaml.safe_dump(
            {
                "apiVersion": kueue_states.API_VERSION,
                "kind": "ResourceFlavor",
                "metadata": {"name": "karta-probe"},
            }
        )
        attempts = Retrying(
            stop=stop_after_delay(WEBHOOK_TIMEOUT) | _Exited(pid),
            wait=wait_fixed(1.0),
            retry=retry_if_exception_type(EnvironmentProblem),
            reraise=True,
        )
        try:
            attempts(self.kubectl, "create", "--dry-run=server", "-f", "-", stdin=probe, timeout=30)
        except EnvironmentProblem as error:
            raise EnvironmentProblem(
                f"the API server does not reach Kueue's webhooks ({error}; log {self.log}): {self._tail()}"
            ) from None

    def _tail(self) -> str:
        if not self.log.exists():
            return "no output"
        return " / ".join(self.log.read_text(errors="replace").strip().splitlines()[-3:])[-600:]

    def stop(self, quiet: bool = False) -> None:
        """The webhook configurations removed (best effort) and the manager stopped."""
        for kind in ("mutatingwebhookconfiguration", "validatingwebhookconfiguration"):
            name = MUTATING if kind.startswith("mutating") else VALIDATING
            try:
                self.kubectl("delete", kind, name, "--ignore-not-found", timeout=30)
            except EnvironmentProblem as error:
                if not quiet:
                    say(f"Kueue: {error}")
        pid = processes.read_pid(self.pids / f"{PROCESS}.pid")
        if pid is not None:
            processes.stop(pid)
        (self.pids / f"{PROCESS}.pid").unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)


class _Exited(stop_base):
    """Stop retrying once process ``pid`` is gone."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not processes.alive(self.pid)


def _namespace() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}


def make_certificates(folder: Path) -> None:
    """``openssl_commands`` run in ``folder``; an EnvironmentProblem with openssl's last line on failure."""
    if shutil.which("openssl") is None:
        raise EnvironmentProblem(
            "Kueue's webhooks need a certificate made with openssl, which is not on PATH"
        )
    (folder / "server.ext").write_text(SERVER_EXTENSIONS)
    for argv in openssl_commands(folder):
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise EnvironmentProblem(
                f"{shlex.join(argv[:3])} failed: {lines[-1] if lines else done.returncode}"
            )
