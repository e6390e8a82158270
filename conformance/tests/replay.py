"""Play a scenario's steps against its recorded Flow instead of a cluster (for unit tests).

The cluster is the Flow: every read answers from the objects as they stood after the frames replayed
so far; each poll of a wait replays one frame more, so a probe holds at the first frame where its
condition is true. The scenario's actions (create, patch, delete, the backend's faults) change nothing:
the Flow already holds what the operator did after them. What a replay tells: the scenario's probes, as
written, reach its phases in the recorded order, each no later than where the live run took that
phase's Snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from conformance.backends.base import Capability, Provider
from conformance.flow import Flow
from conformance.k8s.client import Kube, WaitTimeout
from conformance.live.capture import Snapshotter
from conformance.live.scenarios import REGISTRY, Context
from conformance.snapshot import Expectation, Snapshot

T = TypeVar("T")


def _matches(labels: dict[str, str], selector: str | None) -> bool:
    for term in (selector or "").split(","):
        term = term.strip()
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


class FlowKube:
    """The Kube calls a scenario makes, answered from ``flow`` at a cursor that waits move on."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.cursor = 0
        self.actions: list[str] = []

    def _state(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self.flow.state_at(self.cursor)

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        return self._state().get((kind, name))

    def list_objects(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            obj
            for (k, _), obj in sorted(self._state().items())
            if k == kind and _matches(obj.get("metadata", {}).get("labels") or {}, label_selector)
        ]

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float) -> T:
        while True:
            found = probe()
            if found:
                return found
            if self.cursor >= len(self.flow.frames):
                raise WaitTimeout(what, timeout, found)
            self.cursor += 1

    def create(self, manifest: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        self.actions.append(f"create {manifest['kind']} {manifest['metadata']['name']}")
        recorded = self._state().get((manifest["kind"], manifest["metadata"]["name"]))
        later = next(
            (f.object for f in self.flow.frames if f.key == (manifest["kind"], manifest["metadata"]["name"])),
            None,
        )
        return recorded or later or manifest

    def patch_merge(self, api_version: str, kind: str, name: str, namespace: str | None, body: Any) -> None:
        self.actions.append(f"patch {kind} {name}")

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        self.actions.append(f"delete {kind} {name}")


@dataclass
class Taken:
    phase: str
    cursor: int


@dataclass
class FlowSnapshotter:
    kube: FlowKube
    taken: list[Taken] = field(default_factory=list)

    def take(
        self, scenario: str, phase: str, namespace: str, root: tuple[str, str, str], expect: Expectation
    ) -> Snapshot:
        self.taken.append(Taken(phase, self.kube.cursor))
        current = self.kube.get(*root) or {}
        return Snapshot(scenario, phase, namespace, current, [], [], [], [], expect)


class ReplayProvider:
    """The backend the flow was recorded on, as far as a scenario asks: its version and capabilities;
    its faults change nothing (the flow holds their effects)."""

    name = "replay"
    timeout_scale = 1.0
    batch_scheduler = ""

    def __init__(self, version: str, capabilities: frozenset[Capability]) -> None:
        self.kuberay_version = version
        self.capabilities = capabilities

    def lacks(self, capability: Capability) -> str:
        return "not recorded"

    def __getattr__(self, name: str) -> Callable[..., None]:  # a fault or switch: nothing to do
        if name.startswith(("hold_", "release_", "set_", "restart_")):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def replay(flow: Flow, capabilities: frozenset[Capability]) -> tuple[list[Taken], list[str], FlowKube]:
    """Play the scenario that recorded ``flow``: the phases snapshotted (with the frame each was
    reached at), the phases UNVERIFIED, and the replayed cluster."""
    kube = FlowKube(flow)
    snapshotter = FlowSnapshotter(kube)
    provider = ReplayProvider(flow.kuberay_version or "", capabilities)
    ctx = Context(
        cast(Kube, kube),
        cast(Provider, provider),
        flow.namespace,
        cast(Snapshotter, snapshotter),
        lambda _: None,
    )
    REGISTRY[flow.scenario](ctx)
    return snapshotter.taken, [u.phase for u in ctx.unverified], kube
