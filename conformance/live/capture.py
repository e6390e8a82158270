"""Take Snapshots of a live workload (cluster I/O; the claims never call the cluster)."""

from __future__ import annotations

import threading
import time
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from kubernetes.dynamic.resource import ResourceList

from conformance.k8s.client import Kube, describe_error
from conformance.snapshot import Expectation, Snapshot, walk_tree

# Kinds that are never owned by a workload's objects, or are too many to list each phase.
_SKIP = {
    ("", "v1", "Event"),
    ("events.k8s.io", "v1", "Event"),
    ("", "v1", "Binding"),
    ("", "v1", "ComponentStatus"),
}


class Snapshotter:
    """Shared by the scenarios of a run (which may run side by side): what it learns of the served
    kinds is kept under a lock, and its discovery calls go through the Kube client's."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._lock = threading.RLock()
        self._kinds: list[tuple[str, str]] | None = None  # (apiVersion, kind): namespaced, listable
        self._served: list[str] | None = None

    def _resources(self) -> list[Any]:
        return [
            r
            for r in self.kube.resources()
            if isinstance(getattr(r, "name", None), str) and "/" not in r.name and getattr(r, "kind", None)
        ]

    def kinds(self) -> list[tuple[str, str]]:
        with self._lock:
            return self._listable()

    def _listable(self) -> list[tuple[str, str]]:
        if self._kinds is None:
            kinds = []
            for resource in self._resources():
                if isinstance(resource, ResourceList):  # the client's view of "<Kind>List", not a kind
                    continue
                verbs = getattr(resource, "verbs", None) or []
                if not getattr(resource, "namespaced", False) or "list" not in verbs:
                    continue
                if (resource.group or "", resource.api_version, resource.kind) in _SKIP:
                    continue
                if getattr(resource, "preferred", True) is False:
                    continue
                kinds.append((resource.group_version, resource.kind))
            self._kinds = sorted(set(kinds))
        return self._kinds

    def refresh(self) -> None:
        """Kinds served since the first Snapshot (CRDs installed mid-run, Kueue's): listed from the next one."""
        with self._lock:
            self.kube.rediscover()
            self._kinds = None
            self._served = None

    def _served_now(self, api_version: str, kind: str) -> bool:
        """Whether the API server still serves ``kind``, asked afresh: the client's discovery cache
        (shared through a file by every client of the server) outlives a deleted CRD."""
        with self._lock:
            self.kube.rediscover()
            self._served = None
            try:
                self.kube.resource(api_version, kind)
            except ResourceNotFoundError:
                return False
            return True

    def served(self) -> list[str]:
        with self._lock:
            if self._served is None:
                self._served = sorted({f"{r.group_version}/{r.kind}" for r in self._resources()})
            return self._served

    def take(
        self, scenario: str, phase: str, namespace: str, root_ref: tuple[str, str, str], expect: Expectation
    ) -> Snapshot:
        api_version, kind, name = root_ref
        root = self.kube.get(api_version, kind, name, namespace)
        if root is None:
            raise LookupError(f"{kind} {namespace}/{name} is gone")
        root.setdefault("apiVersion", api_version)
        root.setdefault("kind", kind)
        objects: list[dict[str, Any]] = []
        unlisted: dict[str, str] = {}
        gone: list[tuple[str, str]] = []
        for version, listed_kind in self.kinds():
            try:
                objects.extend(self.kube.list_objects(version, listed_kind, namespace))
            except (
                Exception
            ) as error:  # an aggregated API down, RBAC ...: recorded, reported with the verdicts
                # A 404, or a kind the client's discovery (refreshed meanwhile by another scenario)
                # no longer knows: if the server no longer serves it either, its CRD was deleted.
                not_found = isinstance(error, ResourceNotFoundError) or (
                    isinstance(error, ApiException) and error.status == 404
                )
                if not_found and not self._served_now(version, listed_kind):
                    gone.append((version, listed_kind))  # its CRD was deleted: nothing of it to miss
                    continue
                unlisted[f"{version}/{listed_kind}"] = describe_error(error)
        if gone:
            with self._lock:
                self._kinds = [k for k in self._listable() if k not in gone]
        return Snapshot(
            scenario=scenario,
            phase=phase,
            namespace=namespace,
            root=root,
            tree=walk_tree(root, objects),
            namespace_pods=[o for o in objects if o.get("kind") == "Pod"],
            events=self.kube.events(namespace),
            served=self.served(),
            expect=expect,
            taken_at=time.time(),
            unlisted=unlisted,
        )
