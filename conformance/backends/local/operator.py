"""The KubeRay operator as a local process, started as its Helm chart starts it by default."""

from __future__ import annotations

import os
from pathlib import Path

from conformance.backends import gates
from conformance.backends.local import processes
from conformance.errors import EnvironmentProblem

READY_TIMEOUT = 90.0

# What the kuberay-operator Helm chart of each version passes by default (templates/deployment.yaml
# rendered with the chart's default values.yaml). Added here: the bind addresses (free loopback ports)
# and the leader-election namespace, which in a cluster comes from the Pod's namespace.
_LOGS_AND_METRICS = ["--log-stdout-encoder", "json", "--log-file-encoder", "json"]
_TUNING = ["--reconcile-concurrency=1", "--qps=100", "--burst=200"]
CHART_DEFAULT_ARGS: dict[str, list[str]] = {
    "v1.3.2": [
        gates.flag(gates.chart_defaults("v1.3.2")),
        "--enable-leader-election=true",
    ],
    "v1.4.2": [
        gates.flag(gates.chart_defaults("v1.4.2")),
        *_LOGS_AND_METRICS,
        "--enable-leader-election=true",
        "--enable-metrics=true",
    ],
    "v1.5.1": [
        gates.flag(gates.chart_defaults("v1.5.1")),
        *_LOGS_AND_METRICS,
        "--enable-leader-election=true",
        "--enable-metrics=true",
        *_TUNING,
    ],
    "v1.6.2": [
        *_LOGS_AND_METRICS,
        "--enable-leader-election=true",
        "--enable-metrics=true",
        *_TUNING,
        gates.flag(gates.chart_defaults("v1.6.2")),
    ],
    "v1.7.0": [
        *_LOGS_AND_METRICS,
        "--enable-leader-election=true",
        "--enable-metrics=true",
        *_TUNING,
        gates.flag(gates.chart_defaults("v1.7.0")),
    ],
}
# The chart sets no environment variables by default (values.yaml `env:` is empty).
CHART_DEFAULT_ENV: dict[str, dict[str, str]] = {}


def arguments(version: str, probe_port: int, metrics_port: int, batch_scheduler: str = "") -> list[str]:
    """The chart's default flags for ``version`` (its feature gates with the harness's turned on:
    ``gates.run_with``), this machine's addresses, and with ``batch_scheduler`` what the chart's
    ``batchScheduler.name`` value adds (``--batch-scheduler=NAME``)."""
    return [
        *([f"--batch-scheduler={batch_scheduler}"] if batch_scheduler else []),  # first, as the chart has it
        *(
            gates.flag(gates.run_with(version)) if arg.startswith("--feature-gates=") else arg
            for arg in CHART_DEFAULT_ARGS.get(version, [])
        ),
        "--leader-election-namespace=default",
        f"--metrics-addr=127.0.0.1:{metrics_port}",
        f"--health-probe-bind-address=127.0.0.1:{probe_port}",
    ]


def start(
    binary: Path,
    version: str,
    *,
    kubeconfig: Path,
    log: Path,
    pid_dir: Path,
    probe_port: int,
    metrics_port: int,
    extra_env: dict[str, str] | None = None,
    batch_scheduler: str = "",
) -> int:
    """Start the operator and wait until its readiness probe answers; return its pid."""
    env = dict(os.environ)
    env.update(CHART_DEFAULT_ENV.get(version, {}))
    env.update({"KUBECONFIG": str(kubeconfig)})
    env.update(extra_env or {})
    process = processes.start(
        "kuberay-operator",
        [str(binary), *arguments(version, probe_port, metrics_port, batch_scheduler)],
        env,
        log,
        pid_dir,
    )
    if not processes.wait_http_ok(f"http://127.0.0.1:{probe_port}/readyz", READY_TIMEOUT):
        alive = process.poll() is None
        tail = " / ".join(log.read_text(errors="replace").strip().splitlines()[-3:])[-600:]
        raise EnvironmentProblem(
            f"the KubeRay operator {version} was not ready after {READY_TIMEOUT:.0f} s "
            f"({'running' if alive else f'exited {process.returncode}'}; log: {log}): {tail}"
        )
    return process.pid


def ready(probe_port: int) -> bool:
    return processes.wait_http_ok(f"http://127.0.0.1:{probe_port}/readyz", 1.0)
