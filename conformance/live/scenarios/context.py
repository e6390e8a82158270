"""What a scenario acts through: the cluster's API, the backend (its capabilities and faults), its
namespace, and the Snapshots and UNVERIFIED phases it has produced.

A scenario does not use this directly: it is written in the phase language (``language.py``), which
drives a Context. Every wait is a bounded poll with a deadline; a timeout raises ScenarioFailed naming
the phase and what was seen last (the session writes the diagnostics bundle).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from conformance import fixtures, versions
from conformance.backends import batch_schedulers
from conformance.backends.base import Capability, Provider
from conformance.errors import EnvironmentProblem
from conformance.k8s.client import Kube, WaitTimeout
from conformance.kuberay import running_already, suspended_already
from conformance.live.capture import Snapshotter
from conformance.live.parallel import Lane
from conformance.live.recorder import FlowRecorder
from conformance.live.scenarios.registry import REGISTRY
from conformance.progress import say
from conformance.snapshot import Expectation, Snapshot

NO_RAY_LABEL = "karta.conformance/no-ray"  # neighbours: the local runtime starts no Ray for their heads


class ScenarioFailed(Exception):
    def __init__(self, scenario: str, phase: str, message: str) -> None:
        self.scenario = scenario
        self.phase = phase
        known = REGISTRY.get(scenario)
        self.root_kind = known.root_kind if known else ""
        self.message = message
        super().__init__(f"scenario {scenario}, phase {phase}: {message}")


@dataclass(frozen=True)
class PhaseUnverified:
    """A phase not driven because the backend lacks a capability it needs (reported UNVERIFIED)."""

    scenario: str
    phase: str
    reason: str


@dataclass
class Context:
    kube: Kube
    provider: Provider
    namespace: str
    snapshotter: Snapshotter
    progress: Callable[[str], None] = say
    snapshots: list[Snapshot] = field(
        default_factory=list
    )  # every snapshot taken, kept if a later phase fails
    unverified: list[PhaseUnverified] = field(default_factory=list)
    # The scenario's lane of the run's PhaseGate when scenarios run side by side (live/parallel.py):
    # waits stop when the run is cancelled, settled snapshots are phase boundaries, and the operator
    # restart is exclusive. None: a scenario driven alone (no other scenario to coordinate with).
    lane: Lane | None = None
    started: float = field(default_factory=time.monotonic)  # the scenario's start, for progress lines
    # The scenario's Flow being recorded (every change in its namespace): each snapshot marks its phase.
    recorder: FlowRecorder | None = None

    def able(self, capability: Capability, scenario: str, *phases: str) -> bool:
        """Whether the backend offers ``capability``; if not, ``phases`` (which need it) are UNVERIFIED."""
        if capability in self.provider.capabilities:
            return True
        reason = f"the {self.provider.name} backend cannot {capability}: {self.provider.lacks(capability)}"
        for phase in phases:
            self.unverified.append(PhaseUnverified(scenario, phase, reason))
            self.progress(f"  [{scenario}] UNVERIFIED {phase}: {reason}")
        return False

    def manifest(self, kind: str) -> dict[str, Any]:
        pinned = versions.load().kuberay_version(self.provider.kuberay_version)
        (fixture,) = [f for f in fixtures.load_fixtures() if f.kind == kind]
        rendered = fixtures.render(fixture.object, pinned.ray_image, pinned.ray_version)
        adapt = getattr(self.provider, "adapt_manifest", None)  # kind: CPU requests that fit its nodes
        return adapt(rendered) if adapt is not None else rendered

    def wait(self, scenario: str, phase: str, what: str, probe: Callable[[], Any], timeout: float) -> Any:
        lane = self.lane

        def polled() -> Any:
            if lane is not None:
                lane.check()  # Ctrl-C: stop at the next poll (a BaseException: no retry, no verdict)
            return probe()

        try:
            return self.kube.wait_for(what, polled, timeout * self.provider.timeout_scale)
        except WaitTimeout as error:
            raise ScenarioFailed(scenario, phase, str(error)) from None

    def snap(self, scenario: str, phase: str, root: tuple[str, str, str], expect: Expectation) -> Snapshot:
        self.progress(f"  [{scenario}] snapshot: {phase} (+{time.monotonic() - self.started:.0f} s)")
        if self.provider.batch_scheduler:
            expect = replace(
                expect,
                scheduler_override=batch_schedulers.known(self.provider.batch_scheduler).scheduler_name,
            )
        if self.recorder is not None:
            self.recorder.mark(phase, root, expect.statuses)
        snapshot = self.snapshotter.take(scenario, phase, self.namespace, root, expect)
        already = (
            "running"
            if running_already(snapshot.root)
            else "suspended"
            if suspended_already(snapshot.root)
            else None
        )
        if not expect.stable and expect.statuses == ["initializing"] and already:
            # KubeRay was quicker than the snapshot (kwok's Pods are Ready at once; a slow machine): the truth
            # is what KubeRay's own status says
            snapshot.expect = replace(snapshot.expect, statuses=[already])
            self.progress(
                f"  [{scenario}] {phase}: already {already} by KubeRay's own status; expecting {already}"
            )
        self.snapshots.append(snapshot)
        if expect.stable and self.lane is not None:
            # a settled workload: a phase boundary, where an exclusive step (an operator restart of
            # another scenario) may run while this scenario waits
            self.lane.boundary()
        return snapshot

    def at_rest(self) -> None:
        """The workload is settled while the scenario waits for time to pass (a schedule's tick): a phase
        boundary, where another scenario's exclusive step (an operator restart) may run."""
        if self.lane is not None:
            self.lane.boundary()

    def restart_operator(self) -> None:
        """Fault: the KubeRay operator restarts (returns once it is ready again).

        Exclusive when scenarios run side by side: the operator reconciles every namespace, so while
        it is down every other scenario's wait would include the downtime and its workload would be
        reconciled afresh mid-transition. The restart therefore waits until no other scenario is
        mid-phase (each at a settled snapshot, or not started), and holds them there until the
        operator is ready again (``live/parallel.py``)."""
        with self.lane.exclusive() if self.lane is not None else nullcontext():
            self.provider.restart_operator()

    def add_neighbour(self) -> None:
        """Another workload in the same namespace: a standalone RayCluster (no Ray process)."""
        neighbour = self.manifest("RayCluster")
        neighbour["metadata"]["name"] = "neighbour-raycluster"
        for template in [neighbour["spec"]["headGroupSpec"]["template"]] + [
            g["template"] for g in neighbour["spec"]["workerGroupSpecs"]
        ]:
            template["metadata"].setdefault("labels", {})[NO_RAY_LABEL] = "true"
        inert = getattr(self.provider, "adapt_neighbour", None)  # real kubelets: no Ray in it at all
        self.kube.create(inert(neighbour) if inert is not None else neighbour, self.namespace)

    def ray_joined(self, scenario: str, phase: str, cluster: str) -> list[str] | None:
        """Where every Pod runs real Ray (the list-ray-nodes capability): wait until the head's GCS
        lists every Pod of RayCluster ``cluster`` alive, and return that list (sorted Pod IPs). None
        where the backend cannot look (local: kwok's worker Pods run no Ray; not UNVERIFIED, as no
        claim rests on it)."""
        if Capability.RAY_NODES not in self.provider.capabilities:
            return None
        seen: list[Any] = []

        def listed() -> list[str] | None:
            pods = [
                p
                for p in self.kube.list_objects(
                    "v1", "Pod", self.namespace, label_selector=f"ray.io/cluster={cluster}"
                )
                if not p["metadata"].get("deletionTimestamp")
            ]
            want = sorted(str((p.get("status") or {}).get("podIP") or "") for p in pods)
            heads = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
            if len(heads) != 1:
                seen.append(f"{len(heads)} head Pod(s)")
                return None
            head = heads[0]
            container = head["spec"]["containers"][0]["name"]  # KubeRay's Ray container: index 0
            try:
                got = self.provider.ray_nodes(self.namespace, head["metadata"]["name"], container)
            except (ValueError, EnvironmentProblem) as error:  # Ray not answering yet: poll again
                seen.append(str(error))
                return None
            seen.append(f"alive {got}, the cluster's Pod IPs {want}")
            return got if got == want else None

        try:
            found: list[str] = self.wait(
                scenario, phase, f"the head's GCS to list every Pod of {cluster} alive", listed, 60
            )
        except ScenarioFailed as error:
            raise ScenarioFailed(
                scenario, phase, f"{error.message}; last seen: {seen[-1] if seen else 'nothing'}"
            ) from None
        return found

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        return self.kube.get(api_version, kind, name, self.namespace)

    def cluster_ready(self, name: str) -> bool:
        cluster = self.get("ray.io/v1", "RayCluster", name)
        return bool(cluster and (cluster.get("status") or {}).get("state") == "ready")

    def cluster_up(self, name: str) -> bool:
        """The RayCluster is ready, or every Pod it wants runs and its head is Ready.

        The second is what a RayService's pending cluster reaches while the gate holds its Serve app:
        on real kubelets a RayService worker Pod turns Ready only once a Serve replica on it runs
        (KubeRay's readiness probe asks Serve's proxy, which answers 503 until then), so the
        cluster's ``state`` (every Pod Ready) waits for the gate. kwok makes every Pod Ready at once."""
        cluster = self.get("ray.io/v1", "RayCluster", name)
        status = (cluster or {}).get("status") or {}
        if status.get("state") == "ready":
            return True
        heads, workers = self.ray_pods(name)
        head_ready = len(heads) == 1 and pod_ready(heads[0])
        running = all((p.get("status") or {}).get("phase") == "Running" for p in [*heads, *workers])
        return head_ready and running and len(workers) == status.get("desiredWorkerReplicas", -1)

    def ray_pods(self, cluster: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The head and the worker Pods of RayCluster ``cluster`` not being deleted."""
        pods = [
            p
            for p in self.kube.list_objects(
                "v1", "Pod", self.namespace, label_selector=f"ray.io/cluster={cluster}"
            )
            if not p["metadata"].get("deletionTimestamp")
        ]
        heads = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "head"]
        workers = [p for p in pods if p["metadata"]["labels"].get("ray.io/node-type") == "worker"]
        return heads, workers


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )
