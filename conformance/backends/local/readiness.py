"""Worker Pod readiness under the drop-serve-endpoints fault (the local backend's kubelet side).

kwok, the local backend's kubelet, makes every Pod Ready once and never probes. On a real kubelet a
RayService worker Pod is Ready only while KubeRay's readiness probe passes, and that probe asks the
node's Serve proxy (``:8000/-/healthz``). While the fault takes the Serve proxies of a namespace down,
the runtime therefore reports its RayService worker Pods NotReady as a kubelet would (Ready and
ContainersReady False, each container not ready), and Ready again once the fault ends. The
EndpointSlice controller and the KubeRay operator read those Pods as they would any others.

The pure part (which Pods, what status) is here; ``ServeReadiness`` applies it through the API.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

SERVE_LABEL = "ray.io/serve"  # KubeRay's label that puts a Pod in its RayService's serve Service
PROBE_REASON = "ContainersNotReady"


def serve_workers(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Pods a real kubelet would find NotReady when the Serve proxies are down: RayService worker
    Pods (``ray.io/node-type=worker``, ``ray.io/serve=true``: KubeRay sets it on every worker it makes
    for a RayService) that run and are not being deleted."""
    found = []
    for pod in pods:
        metadata, status = pod.get("metadata") or {}, pod.get("status") or {}
        labels = metadata.get("labels") or {}
        if (
            labels.get("ray.io/node-type") == "worker"
            and labels.get(SERVE_LABEL) == "true"
            and not metadata.get("deletionTimestamp")
            and status.get("phase") == "Running"
        ):
            found.append(pod)
    return found


def is_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def readiness_status(pod: dict[str, Any], ready: bool, now: str) -> dict[str, Any]:
    """The status patch that makes ``pod`` Ready or NotReady: its whole conditions and container status
    lists (so a merge patch and a strategic merge patch give the same result), with Ready and
    ContainersReady set (a new lastTransitionTime only where the value changes) and every container's
    ``ready``; everything else as it was."""
    status = pod.get("status") or {}
    containers = [c.get("name", "") for c in (pod.get("spec") or {}).get("containers") or []]
    value = "True" if ready else "False"
    conditions = []
    seen = set()
    for condition in status.get("conditions") or []:
        kind = condition.get("type")
        if kind in ("Ready", "ContainersReady"):
            seen.add(kind)
            changed = dict(condition)
            if condition.get("status") != value:
                changed["lastTransitionTime"] = now
            changed["status"] = value
            if ready:
                changed.pop("reason", None)
                changed.pop("message", None)
            else:
                changed["reason"] = PROBE_REASON
                changed["message"] = f"containers with unready status: [{' '.join(containers)}]"
            conditions.append(changed)
        else:
            conditions.append(condition)
    for kind in ("Ready", "ContainersReady"):
        if kind not in seen:
            added: dict[str, Any] = {"type": kind, "status": value, "lastTransitionTime": now}
            if not ready:
                added["reason"] = PROBE_REASON
            conditions.append(added)
    statuses = [{**c, "ready": ready} for c in status.get("containerStatuses") or []]
    patch: dict[str, Any] = {"conditions": conditions}
    if statuses:
        patch["containerStatuses"] = statuses
    return {"status": patch}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ServeReadiness:
    """Keeps the RayService worker Pods of every namespace whose Serve proxies are down NotReady, and
    makes the ones it turned NotReady Ready again once the fault ends (one pass per runtime loop)."""

    def __init__(
        self,
        down: Callable[[], set[str]],
        list_pods: Callable[[str], list[dict[str, Any]]],
        patch_status: Callable[[str, str, dict[str, Any]], None],
    ) -> None:
        self.down = down
        self.list_pods = list_pods
        self.patch_status = patch_status
        self.flipped: dict[str, set[str]] = {}  # namespace -> uids of the Pods made NotReady
        self.lock = threading.Lock()

    def reconcile(self) -> None:
        with self.lock:
            down = self.down()
            for namespace in down:
                turned = self.flipped.setdefault(namespace, set())
                for pod in serve_workers(self.list_pods(namespace)):
                    if is_ready(pod):
                        self._patch(pod, False)
                        turned.add(pod["metadata"]["uid"])
            for namespace in set(self.flipped) - down:
                turned = self.flipped[namespace]
                for pod in serve_workers(self.list_pods(namespace)):
                    if pod["metadata"]["uid"] in turned and not is_ready(pod):
                        self._patch(pod, True)
                del self.flipped[namespace]

    def _patch(self, pod: dict[str, Any], ready: bool) -> None:
        metadata = pod["metadata"]
        self.patch_status(metadata["namespace"], metadata["name"], readiness_status(pod, ready, _now()))
