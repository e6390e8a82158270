"""Pods of batch Jobs, in place of a kubelet: RayJob submitters run for real, others complete at once.

kwok's pod-complete stage is left out of the local cluster's stages, so Job Pods stay Running
until this runner finishes them. A RayJob submitter Pod (its Job carries
``ray.io/originated-from-crd=RayJob``) runs its container's command on this machine with the
Ray CLI on PATH and the routing proxy as HTTP_PROXY, so ``ray job submit`` really reaches the
cluster's Ray head; the Pod then gets the command's exit code as its terminated state.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SHIM = Path(__file__).resolve().parent / "shim"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class JobPodRunner:
    def __init__(
        self,
        core: Any,
        batch: Any,
        ray_bin: Path,
        proxy_url: str,
        logs: Path,
        ray_ready: Callable[[str], bool],
    ) -> None:
        self.ray_ready = ray_ready  # namespace -> its Ray heads answer (a real head Pod is Ready only then)
        self.core = core
        self.batch = batch
        self.ray_bin = ray_bin
        self.proxy_url = proxy_url
        self.logs = logs
        self.running: dict[str, tuple[subprocess.Popen[bytes], dict[str, Any]]] = {}
        self.finished: set[str] = set()

    def reconcile(self, pods: list[dict[str, Any]]) -> None:
        for pod in pods:
            metadata, status = pod["metadata"], pod.get("status") or {}
            uid = metadata["uid"]
            if uid in self.finished or metadata.get("deletionTimestamp"):
                continue
            if uid in self.running:
                process, _ = self.running[uid]
                if process.poll() is not None:
                    self._terminate(pod, process.returncode)
                    self.running.pop(uid)
                    self.finished.add(uid)
                continue
            if status.get("phase") != "Running":
                continue
            if self._is_rayjob_submitter(pod):
                # kwok reports head Pods Ready at once; a real head is Ready only when Ray answers its
                # probes, so the submitter starts once the namespace's Ray heads answer.
                if self.ray_ready(metadata["namespace"]):
                    self.running[uid] = (self._start(pod), pod)
            else:
                self._terminate(pod, 0)  # what kwok's default pod-complete stage does
                self.finished.add(uid)
        alive = {p["metadata"]["uid"] for p in pods}
        for uid in [u for u in self.running if u not in alive]:
            process, _ = self.running.pop(uid)
            process.kill()

    def stop_all(self) -> None:
        for process, _ in self.running.values():
            process.kill()

    def _is_rayjob_submitter(self, pod: dict[str, Any]) -> bool:
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") != "Job":
                continue
            try:
                job = self.batch.read_namespaced_job(
                    ref["name"], pod["metadata"]["namespace"], _request_timeout=(5, 15)
                )
            except Exception:
                return False
            return bool((job.metadata.labels or {}).get("ray.io/originated-from-crd") == "RayJob")
        return False

    def _start(self, pod: dict[str, Any]) -> subprocess.Popen[bytes]:
        container = pod["spec"]["containers"][0]
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        if argv and argv[0].endswith("bash") and len(argv) > 1 and argv[1].startswith("-"):
            argv[1] = argv[1].replace("l", "")  # a login shell would reset PATH
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = str(item["value"])
        env.update(
            {
                "PATH": f"{self.ray_bin.parent}:{env.get('PATH', '/usr/bin:/bin')}",
                "HTTP_PROXY": self.proxy_url,
                "http_proxy": self.proxy_url,
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                "PYTHONPATH": str(SHIM),
                "RAY_USAGE_STATS_ENABLED": "0",
            }
        )
        log = self.logs / f"submitter-{pod['metadata']['namespace']}-{pod['metadata']['name']}.log"
        with open(log, "ab") as output:
            return subprocess.Popen(
                argv, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def _terminate(self, pod: dict[str, Any], code: int) -> None:
        now = _now()
        statuses = [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "started": False,
                "state": {
                    "terminated": {
                        "exitCode": code,
                        "reason": "Completed" if code == 0 else "Error",
                        "startedAt": (pod.get("status") or {}).get("startTime") or now,
                        "finishedAt": now,
                    }
                },
            }
            for c in pod["spec"]["containers"]
        ]
        body = {
            "status": {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": statuses,
                "conditions": [
                    {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
                    {
                        "type": "ContainersReady",
                        "status": "False",
                        "reason": "PodCompleted",
                        "lastTransitionTime": now,
                    },
                ],
            }
        }
        self.core.patch_namespaced_pod_status(
            pod["metadata"]["name"], pod["metadata"]["namespace"], body, _request_timeout=(5, 15)
        )
