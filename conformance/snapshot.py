"""Snapshots: what the live objects of one workload looked like at one phase of a scenario.

A Snapshot is plain data (dicts as the API server serves them), so the live claims can be
evaluated on it without a cluster, and saved to and loaded from JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Expectation:
    """What the scenario knows must hold at this phase (the definition-independent truth)."""

    statuses: list[str]  # Karta statuses the root must match, e.g. ["running"]
    stable: bool = True  # Pods have settled: replica counts can be compared
    current_owners: list[str] = field(
        default_factory=list
    )  # owners whose Pods were made from the root's current spec
    gang_owner_kind: str = "RayCluster"  # one gang group per object of this kind
    # owners whose Pods were made from an older spec of the root and stay so, no newer owner to come
    # (a RayService's cluster-level change under upgradeStrategy None): their templates are not the root's
    stale_owners: list[str] = field(default_factory=list)
    # The change the scenario made to the root that brought this phase about, for the suspend-actions
    # claim: {"action": "suspend" | "resume", "path": ["spec", "suspend"], "value": true}, one per field.
    made_by: list[dict[str, Any]] = field(default_factory=list)
    # The schedulerName the operator puts on every Ray Pod of this run, over the templates' (its
    # --batch-scheduler: "volcano"); "" when it leaves the templates' scheduler alone.
    scheduler_override: str = ""


@dataclass
class Snapshot:
    scenario: str  # "rayservice", "raycluster", "rayjob"
    phase: str  # "initializing", "ready", "upgrade-pending", ...
    namespace: str
    root: dict[str, Any]
    tree: list[dict[str, Any]]  # every object reached by walking ownerReferences down from the root
    namespace_pods: list[dict[str, Any]]  # every Pod of the namespace, also other workloads'
    events: list[dict[str, Any]]
    served: list[str]  # "group/version/Kind" served by the API server
    expect: Expectation
    taken_at: float = 0.0
    # "apiVersion/Kind" -> why it could not be listed: its objects are missing from tree and namespace_pods
    unlisted: dict[str, str] = field(default_factory=dict)
    # The node addresses the head's GCS listed alive when taken, sorted: where every Pod runs real Ray
    # (backends with the list-ray-nodes capability), at the settled phases of the raycluster scenario;
    # None where not looked at.
    ray_nodes: list[str] | None = None

    @property
    def uid(self) -> str:
        return str(self.root["metadata"]["uid"])

    def pods(self) -> list[dict[str, Any]]:
        return [o for o in self.tree if o.get("kind") == "Pod"]

    def by_uid(self) -> dict[str, dict[str, Any]]:
        index = {str(o["metadata"]["uid"]): o for o in self.tree}
        index[self.uid] = self.root
        return index

    def ancestors(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        """The owner chain of ``obj`` inside the workload, nearest first, ending at the root."""
        index = self.by_uid()
        chain: list[dict[str, Any]] = []
        current = obj
        seen: set[str] = set()
        while True:
            owners = [r for r in (current["metadata"].get("ownerReferences") or []) if r.get("uid") in index]
            if not owners:
                return chain
            owner = index[owners[0]["uid"]]
            if owner["metadata"]["uid"] in seen:
                return chain
            seen.add(owner["metadata"]["uid"])
            chain.append(owner)
            current = owner

    def direct_owner(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        chain = self.ancestors(obj)
        return chain[0] if chain else None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), default=str))

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        data = json.loads(path.read_text())
        data["expect"] = Expectation(**data["expect"])
        return cls(**data)


def walk_tree(root: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every object in ``objects`` reachable from ``root`` through ownerReferences (owner -> owned)."""
    children: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        for ref in obj["metadata"].get("ownerReferences") or []:
            children.setdefault(str(ref.get("uid")), []).append(obj)
    found: list[dict[str, Any]] = []
    seen = {str(root["metadata"]["uid"])}
    frontier = [str(root["metadata"]["uid"])]
    while frontier:
        uid = frontier.pop()
        for child in children.get(uid, []):
            child_uid = str(child["metadata"]["uid"])
            if child_uid not in seen:
                seen.add(child_uid)
                found.append(child)
                frontier.append(child_uid)
    return found
