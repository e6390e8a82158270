"""The local backend's Ray runtime: real Ray heads for head Pods, the routing proxy, the gate.

    python -m conformance.backends.local.runtime --kubeconfig K --home DIR --port P --ray-bin RAY

Runs until SIGTERM, then stops every Ray head it started. Reconciles once a second and
whenever the control API changes something.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config

from conformance.backends.fixture_app import APP_CONFIGMAP
from conformance.backends.local.httpproxy import Router, RoutingProxy
from conformance.backends.local.jobpods import JobPodRunner
from conformance.backends.local.rayheads import HeadManager
from conformance.backends.local.readiness import ServeReadiness

API_TIMEOUT = (5, 15)  # connect, read: a call must never hang a proxy thread or the reconcile loop


class Runtime:
    def __init__(self, kubeconfig: str, home: Path, port: int, ray_bin: Path) -> None:
        api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(api)
        self.api = api
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.heads = HeadManager(ray_bin, self.logs)
        self.jobs = JobPodRunner(
            self.core,
            client.BatchV1Api(api),
            ray_bin,
            f"http://127.0.0.1:{port}",
            self.logs,
            self.heads.ready,
        )
        self.readiness = ServeReadiness(self._serve_down, self._pods, self._patch_pod_status)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        router = Router(self.heads, self._service, self._pods)
        self.proxy = RoutingProxy(port, router, self.control, self.logs / "ray-proxy.log")

    # -- API reads, as plain dicts --------------------------------------------

    def _service(self, name: str, namespace: str) -> dict[str, Any] | None:
        try:
            found = self.core.read_namespaced_service(name, namespace, _request_timeout=API_TIMEOUT)
        except client.exceptions.ApiException:
            return None
        result: dict[str, Any] = self.api.sanitize_for_serialization(found)
        return result

    def _pods(self, namespace: str) -> list[dict[str, Any]]:
        items = self.core.list_namespaced_pod(namespace, _request_timeout=API_TIMEOUT).items
        return [self.api.sanitize_for_serialization(p) for p in items]

    def _patch_pod_status(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        self.core.patch_namespaced_pod_status(name, namespace, body, _request_timeout=API_TIMEOUT)

    def _serve_down(self) -> set[str]:
        with self.heads.lock:
            return set(self.heads.serve_down)

    def _job_pods(self) -> list[dict[str, Any]]:
        items = self.core.list_pod_for_all_namespaces(
            label_selector="batch.kubernetes.io/job-name", _request_timeout=API_TIMEOUT
        ).items
        return [self.api.sanitize_for_serialization(p) for p in items]

    def _switches(self) -> dict[str, dict[str, str]]:
        """Namespace -> the data of its fixture-app ConfigMap (the API switches of kind and existing)."""
        items = self.core.list_config_map_for_all_namespaces(
            field_selector=f"metadata.name={APP_CONFIGMAP}", _request_timeout=API_TIMEOUT
        ).items
        return {c.metadata.namespace: dict(c.data or {}) for c in items}

    def _head_pods(self) -> list[dict[str, Any]]:
        items = self.core.list_pod_for_all_namespaces(
            label_selector="ray.io/node-type=head", _request_timeout=API_TIMEOUT
        ).items
        return [self.api.sanitize_for_serialization(p) for p in items]

    # -- control API -----------------------------------------------------------

    def control(self, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        action = path.removeprefix("/_karta/")
        if action == "healthz":
            return 200, {"ok": True}
        if action == "heads":
            return 200, {"heads": self.heads.describe(), "held": sorted(self.heads.held)}
        if method != "POST":
            return 400, {"error": f"{action} needs POST"}
        namespace = query.get("namespace", "")
        if action == "hold":
            self.heads.hold(namespace)
        elif action == "release":
            self.heads.release(namespace)
        elif action == "serve-unready":
            self.heads.set_serve_down(namespace, query.get("value", "1") == "1")
        elif action in ("kill-ray", "unhealthy"):
            head = self.heads.by_pod(namespace, query.get("pod", ""))
            if head is None:
                return 404, {"error": f"no Ray head for Pod {namespace}/{query.get('pod')}"}
            if action == "kill-ray":
                head.kill_ray()
            else:
                head.set_unhealthy(query.get("value", "1") == "1")
        else:
            return 404, {"error": f"unknown control action {action!r}"}
        self.wake.set()
        return 200, {"ok": True}

    # -- loop ------------------------------------------------------------------

    def run(self) -> None:
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()
        while not self.stopping.is_set():
            try:
                self.heads.follow_switches(self._switches())  # before the heads: a new head sees the gate
                self.heads.reconcile(self._head_pods())
                self.jobs.reconcile(self._job_pods())
                self.readiness.reconcile()
            except Exception as error:  # keep the runtime alive; the log says what went wrong
                with open(self.logs / "ray-runtime.log", "a") as output:
                    output.write(f"{time.strftime('%H:%M:%S')} reconcile failed: {error!r}\n")
            self.wake.wait(1.0)
            self.wake.clear()
        self.proxy.shutdown()
        self.jobs.stop_all()
        self.heads.stop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--ray-bin", required=True, type=Path)
    args = parser.parse_args(argv)
    runtime = Runtime(args.kubeconfig, args.home, args.port, args.ray_bin)

    def stop(*_: object) -> None:
        runtime.stopping.set()
        runtime.wake.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with contextlib.suppress(KeyboardInterrupt):
        runtime.run()
    print(json.dumps({"stopped": True}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
