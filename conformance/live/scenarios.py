"""Scenario drivers: real workloads through their lifecycle, with a Snapshot at every phase.

Provider-agnostic: they need a Kube client, a Provider (for the gate) and a namespace.
Every wait is a bounded poll with a deadline; a timeout raises ScenarioFailed naming the
phase and what was seen last (the caller writes the diagnostics bundle).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

from conformance import fixtures, inventory, versions
from conformance.backends import batch_schedulers
from conformance.backends.base import Capability, Provider
from conformance.errors import EnvironmentProblem
from conformance.k8s.client import Kube, WaitTimeout
from conformance.kuberay import (
    active_cluster,
    condition_true,
    pending_cluster,
    rayservice_ready,
    running_already,
    serve_endpoints_dropped,
    suspended_already,
)
from conformance.live.capture import Snapshotter
from conformance.live.parallel import Lane
from conformance.live.recorder import FlowRecorder
from conformance.progress import say
from conformance.snapshot import Expectation, Snapshot

NO_RAY_LABEL = "karta.conformance/no-ray"  # neighbours: the local runtime starts no Ray for their heads


class ScenarioFailed(Exception):
    def __init__(self, scenario: str, phase: str, message: str) -> None:
        self.scenario = scenario
        self.phase = phase
        known = SCENARIOS.get(scenario) or FEATURE_SCENARIOS.get(scenario)
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

    def job_succeeded(self, scenario: str, name: str) -> dict[str, Any]:
        """Wait (bounded) for RayJob ``name`` to finish; its status, or ScenarioFailed unless it SUCCEEDED."""

        def finished() -> dict[str, Any] | None:
            # Each poll is a phase boundary: the scenario only watches the Ray job run to its end, so
            # another scenario's operator restart may run meanwhile (KubeRay picks the job up again)
            # instead of waiting the job's whole run for this scenario to settle.
            self.at_rest()
            current = ((self.get("ray.io/v1", "RayJob", name) or {}).get("status")) or {}
            return current if current.get("jobDeploymentStatus") in ("Complete", "Failed") else None

        final: dict[str, Any] = self.wait(scenario, "succeeded", "the Ray job to finish", finished, 300)
        if final.get("jobStatus") != "SUCCEEDED":
            raise ScenarioFailed(
                scenario,
                "succeeded",
                f"the Ray job ended {final.get('jobDeploymentStatus')}/{final.get('jobStatus')}: "
                f"{final.get('message', '')}",
            )
        return final

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

    def start_rayjob(
        self, scenario: str, name: str | None = None, neighbour: bool = True, **spec: Any
    ) -> tuple[str, tuple[str, str, str], list[Snapshot]]:
        """The RayJob fixture (renamed to ``name``; ``spec`` merged into its spec, a value of None
        removing that field) created, beside a neighbour unless ``neighbour`` is False: its name, its
        root ref and the ``created`` snapshot."""
        manifest = self.manifest("RayJob")
        if name is not None:
            manifest["metadata"]["name"] = name
        for key, value in spec.items():
            if value is None:
                manifest["spec"].pop(key, None)
            else:
                manifest["spec"][key] = value
        return self._create_root(scenario, manifest, neighbour)

    def start_rayservice(
        self, scenario: str, change: Callable[[dict[str, Any]], None] | None = None
    ) -> tuple[str, tuple[str, str, str], list[Snapshot]]:
        """The RayService fixture (``change`` applied to it first) created beside a neighbour: its name,
        its root ref and the ``created`` snapshot (every RayService scenario starts so)."""
        manifest = self.manifest("RayService")
        if change is not None:
            change(manifest)
        return self._create_root(scenario, manifest, neighbour=True)

    def _create_root(
        self, scenario: str, manifest: dict[str, Any], neighbour: bool
    ) -> tuple[str, tuple[str, str, str], list[Snapshot]]:
        name = str(manifest["metadata"]["name"])
        root = (str(manifest["apiVersion"]), str(manifest["kind"]), name)
        if neighbour:
            self.add_neighbour()
        self.kube.create(manifest, self.namespace)
        return (
            name,
            root,
            [self.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))],
        )


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


# ---------------------------------------------------------------------------


def rayservice(ctx: Context) -> list[Snapshot]:
    """create -> Ready -> upgrade applied, pending phase held by the gate (faults: the operator restarts,
    a pending Pod is deleted) -> released -> promoted (the old cluster still there: KubeRay deletes it
    60 s later) -> every serve endpoint dropped (degraded) -> restored -> the old cluster and its Pods
    gone -> the app made UNHEALTHY.

    The serve-endpoint phases run during KubeRay's deletion delay rather than after it: the wait for
    the old cluster's deletion overlaps them instead of adding 60 s to the slowest scenario.

    A phase whose capability the backend lacks is not driven and is reported UNVERIFIED; without the
    gate the upgrade runs straight to promotion."""
    scenario = "rayservice"
    kind = ("ray.io/v1", "RayService")
    name, root, snapshots = ctx.start_rayservice(scenario)

    def service() -> dict[str, Any] | None:
        return ctx.get(*kind, name)

    def serving() -> dict[str, Any] | None:
        current = service()
        return current if rayservice_ready(current) and ctx.cluster_ready(active_cluster(current)) else None

    ready = ctx.wait(scenario, "ready", "Ready=True, the Serve app RUNNING, the cluster ready", serving, 300)
    first = active_cluster(ready)
    snapshots.append(
        ctx.snap(scenario, "ready", root, Expectation(statuses=["running"], current_owners=[first]))
    )

    gate = ctx.able(Capability.GATE, scenario, "upgrade-pending", "upgrade-pending-recovered")
    if gate:
        ctx.provider.hold_new_heads(ctx.namespace)
    ctx.kube.patch_merge(*kind, name, ctx.namespace, fixtures.load_patch("rayservice-upgrade"))
    pending = ""
    if gate:
        pending = _upgrade_pending(ctx, scenario, root, first, snapshots)
        ctx.provider.release_heads(ctx.namespace)

    def promoted() -> dict[str, Any] | None:
        current = service()
        active = active_cluster(current)
        done = (
            active not in ("", first)
            and active == (pending or active)
            and not pending_cluster(current)
            and not condition_true(current, "UpgradeInProgress")
            and rayservice_ready(current)
        )
        return current if done else None

    final = ctx.wait(scenario, "promoted", "the pending cluster promoted and serving", promoted, 300)
    pending = active_cluster(final)
    snapshots.append(
        ctx.snap(scenario, "promoted", root, Expectation(statuses=["running"], current_owners=[pending]))
    )

    _serve_endpoints_dropped(ctx, scenario, root, pending, snapshots)

    def old_deleted() -> dict[str, Any] | None:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={first}")
        gone = ctx.get("ray.io/v1", "RayCluster", first) is None and not pods
        return serving() if gone else None

    ctx.wait(scenario, "old-deleted", f"the old cluster {first} and its Pods deleted", old_deleted, 180)
    snapshots.append(
        ctx.snap(scenario, "old-deleted", root, Expectation(statuses=["running"], current_owners=[pending]))
    )

    if ctx.able(Capability.APP_UNHEALTHY, scenario, "app-unhealthy"):
        heads = ctx.kube.list_objects(
            "v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={pending},ray.io/node-type=head"
        )
        ctx.provider.set_app_unhealthy(ctx.namespace, heads[0]["metadata"]["name"], True)

        def failing() -> dict[str, Any] | None:
            current = service()
            statuses = ((current or {}).get("status") or {}).get("activeServiceStatus", {}).get(
                "applicationStatuses"
            ) or {}
            return current if any((a or {}).get("status") == "UNHEALTHY" for a in statuses.values()) else None

        ctx.wait(scenario, "app-unhealthy", "the Serve app to turn UNHEALTHY", failing, 180)
        snapshots.append(
            ctx.snap(
                # Ready stays True (serve endpoints remain) while the app is UNHEALTHY: it serves,
                # degraded (KubeRay's model, conformance/model: rayservice/ready-degraded), not failed
                scenario,
                "app-unhealthy",
                root,
                Expectation(statuses=["degraded"], current_owners=[pending]),
            )
        )
        ctx.provider.set_app_unhealthy(ctx.namespace, heads[0]["metadata"]["name"], False)
    return snapshots


SERVE_DROPPED_PHASES = ("serve-endpoints-dropped", "serve-endpoints-restored")


def _serve_endpoints_dropped(
    ctx: Context, scenario: str, root: tuple[str, str, str], active: str, snapshots: list[Snapshot]
) -> None:
    """Every serve endpoint of the active cluster not ready (the backend's Serve proxies down): the
    operator sets Ready=False/ZeroServeEndpoints (Karta: degraded); then restored, Ready=True again
    (running), so the phases after it start from a serving RayService. UNVERIFIED with the reason where
    the KubeRay version has no such reason (inventory entry zero-serve-endpoints) or the backend cannot
    take its Serve proxies down."""
    version = ctx.provider.kuberay_version
    feature = inventory.by_name()["zero-serve-endpoints"]
    if not feature.active_in(version):
        reason = (
            f"KubeRay {version} does not have {feature.what} (it exists in {', '.join(feature.versions)})"
        )
        for phase in SERVE_DROPPED_PHASES:
            ctx.unverified.append(PhaseUnverified(scenario, phase, reason))
            ctx.progress(f"  [{scenario}] UNVERIFIED {phase}: {reason}")
        return
    if not ctx.able(Capability.SERVE_UNREADY, scenario, *SERVE_DROPPED_PHASES):
        return

    ctx.provider.set_serve_unready(ctx.namespace, True)
    try:

        def dropped() -> dict[str, Any] | None:
            current = ctx.get(*root)
            return current if serve_endpoints_dropped(current) else None

        ctx.wait(
            scenario,
            "serve-endpoints-dropped",
            "Ready=False/ZeroServeEndpoints (no ready Pod behind the serve Service)",
            dropped,
            180,
        )
        snapshots.append(
            ctx.snap(
                scenario,
                "serve-endpoints-dropped",
                root,
                Expectation(statuses=["degraded"], current_owners=[active]),
            )
        )
    finally:
        ctx.provider.set_serve_unready(ctx.namespace, False)

    def restored() -> dict[str, Any] | None:
        current = ctx.get(*root)
        heads, workers = ctx.ray_pods(active)
        serving = (
            len(heads) == 1
            and heads[0]["metadata"]["labels"].get("ray.io/serve") == "true"
            and all(pod_ready(p) for p in [*heads, *workers])
        )
        up = serving and rayservice_ready(current) and active_cluster(current) == active
        return current if up and ctx.cluster_ready(active) else None

    ctx.wait(
        scenario,
        "serve-endpoints-restored",
        "Ready=True again: the head back in the serve Service, every Pod Ready, the Serve app RUNNING, "
        "the cluster ready",
        restored,
        180,
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "serve-endpoints-restored",
            root,
            Expectation(statuses=["running"], current_owners=[active]),
        )
    )


def _upgrade_pending(
    ctx: Context, scenario: str, root: tuple[str, str, str], first: str, snapshots: list[Snapshot]
) -> str:
    """The upgrade held by the gate: the pending cluster ready beside the active one (then, where the
    backend can restart the operator, the faults); returns the pending cluster's name."""

    def pending_ready() -> dict[str, Any] | None:
        current = ctx.get(*root)
        pending = pending_cluster(current)
        if (
            pending
            and pending != first
            and condition_true(current, "UpgradeInProgress")
            and ctx.cluster_up(pending)
        ):
            return current
        return None

    during = ctx.wait(
        scenario,
        "upgrade-pending",
        "the pending RayCluster up: its Pods running, its head Ready (UpgradeInProgress=True)",
        pending_ready,
        240,
    )
    pending = pending_cluster(during)
    snapshots.append(
        ctx.snap(
            scenario, "upgrade-pending", root, Expectation(statuses=["running"], current_owners=[pending])
        )
    )
    if not ctx.able(Capability.RESTART_OPERATOR, scenario, "upgrade-pending-recovered"):
        return pending
    # Faults during the pending phase: the operator restarts (alone: see Context.restart_operator),
    # and a pending-cluster Pod is deleted.
    ctx.restart_operator()
    workers = ctx.kube.list_objects(
        "v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={pending},ray.io/node-type=worker"
    )
    victim = workers[0]["metadata"]["name"]
    ctx.kube.delete("v1", "Pod", victim, ctx.namespace)

    def recovered() -> dict[str, Any] | None:
        current = ctx.get(*root)
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={pending}")
        names = {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}
        ok = pending_cluster(current) == pending and victim not in names and ctx.cluster_up(pending)
        return current if ok and len(names) == len(workers) + 1 else None

    ctx.wait(
        scenario,
        "upgrade-pending-recovered",
        "the pending cluster to replace the deleted Pod",
        recovered,
        180,
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "upgrade-pending-recovered",
            root,
            Expectation(statuses=["running"], current_owners=[pending]),
        )
    )
    return pending


def raycluster(ctx: Context) -> list[Snapshot]:
    """create -> ready -> scale a worker group up -> ready -> down -> ready."""
    scenario = "raycluster"
    kind = ("ray.io/v1", "RayCluster")
    manifest = ctx.manifest("RayCluster")
    for template in [manifest["spec"]["headGroupSpec"]["template"]] + [
        g["template"] for g in manifest["spec"]["workerGroupSpecs"]
    ]:
        template["metadata"].setdefault("labels", {})[NO_RAY_LABEL] = "true"
    name = manifest["metadata"]["name"]
    root = (*kind, name)
    ctx.kube.create(manifest, ctx.namespace)
    snapshots = [ctx.snap(scenario, "created", root, Expectation(statuses=["initializing"], stable=False))]
    group = manifest["spec"]["workerGroupSpecs"][0]["groupName"]

    def settled(replicas: int) -> Callable[[], bool]:
        def probe() -> bool:
            pods = ctx.kube.list_objects(
                "v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={name},ray.io/group={group}"
            )
            live = [
                p
                for p in pods
                if not p["metadata"].get("deletionTimestamp")
                and (p.get("status") or {}).get("phase") == "Running"
            ]
            return len(live) == replicas and len(pods) == replicas and ctx.cluster_ready(name)

        return probe

    start = manifest["spec"]["workerGroupSpecs"][0]["replicas"]
    for phase, replicas in (("ready", start), ("scaled-up", start + 1), ("scaled-down", max(start - 1, 1))):
        if phase != "ready":
            groups = copy.deepcopy(ctx.get(*kind, name)["spec"]["workerGroupSpecs"])  # type: ignore[index]
            groups[0]["replicas"] = replicas
            ctx.kube.patch_merge(*kind, name, ctx.namespace, {"spec": {"workerGroupSpecs": groups}})
        ctx.wait(
            scenario, phase, f"{replicas} Running worker Pod(s) in group {group}", settled(replicas), 180
        )
        # real Ray in every Pod: each worker's raylet joined its head (Running and Ready say less);
        # not after the scale-down, where the GCS notices a killed raylet only after its health checks
        joined = ctx.ray_joined(scenario, phase, name) if phase != "scaled-down" else None
        snapshot = ctx.snap(scenario, phase, root, Expectation(statuses=["running"], current_owners=[name]))
        snapshot.ray_nodes = joined
        snapshots.append(snapshot)
    _garbage_collected(ctx, scenario, kind, name)
    return snapshots


def _garbage_collected(ctx: Context, scenario: str, kind: tuple[str, str], name: str) -> None:
    """The root deleted: its Pods and Services go with it (the garbage collector, through KubeRay's
    ownerReferences)."""
    ctx.kube.delete(*kind, name, ctx.namespace)
    selector = f"ray.io/cluster={name}"

    def collected() -> bool:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=selector)
        services = ctx.kube.list_objects("v1", "Service", ctx.namespace, label_selector=selector)
        return not pods and not services

    ctx.wait(
        scenario, "deleted", f"the Pods and Services of {selector} to be garbage-collected", collected, 120
    )


def rayjob(ctx: Context, submission_mode: str = "K8sJobMode") -> list[Snapshot]:
    """create -> running -> succeeded, with a real Ray job on the head (K8sJobMode: the submitter Job runs)."""
    scenario = "rayjob" if submission_mode == "K8sJobMode" else f"rayjob-{submission_mode.lower()}"
    name, root, snapshots = ctx.start_rayjob(scenario, submissionMode=submission_mode)
    return running_then_succeeded(ctx, scenario, name, root, snapshots, 240)


def running_then_succeeded(
    ctx: Context,
    scenario: str,
    name: str,
    root: tuple[str, str, str],
    snapshots: list[Snapshot],
    timeout: float,
    at_running: Callable[[str], None] = lambda cluster: None,
) -> list[Snapshot]:
    """RayJob ``name``: wait for jobDeploymentStatus Running, ``at_running(its cluster)`` (a scenario's own
    check, raising ScenarioFailed), snapshot ``running``, wait for its success, snapshot ``succeeded``."""
    kind = ("ray.io/v1", "RayJob")

    def status() -> dict[str, Any]:
        return ((ctx.get(*kind, name) or {}).get("status")) or {}

    ctx.wait(
        scenario,
        "running",
        "jobDeploymentStatus Running",
        lambda: status().get("jobDeploymentStatus") == "Running",
        timeout,
    )
    cluster = str(status().get("rayClusterName", ""))
    at_running(cluster)
    snapshots.append(
        ctx.snap(
            scenario,
            "running",
            root,
            Expectation(statuses=["running"], stable=False, current_owners=[cluster]),
        )
    )

    ctx.job_succeeded(scenario, name)
    snapshots.append(
        ctx.snap(scenario, "succeeded", root, Expectation(statuses=["completed"], current_owners=[cluster]))
    )
    return snapshots


def rayjob_http(ctx: Context) -> list[Snapshot]:
    return rayjob(ctx, "HTTPMode")


@dataclass(frozen=True)
class Scenario:
    """A scenario driver and the root kind whose definitions its snapshots check."""

    run: Callable[[Context], list[Snapshot]]
    root_kind: str
    # Started before the others when scenarios run side by side (the longest: a run whose longest
    # scenario starts last waits for it alone at the end). Results keep the given order.
    slow: bool = False

    def __call__(self, ctx: Context) -> list[Snapshot]:
        return self.run(ctx)


# The default scenarios, in the order they run.
SCENARIOS: dict[str, Scenario] = {
    "raycluster": Scenario(raycluster, "RayCluster"),
    "rayjob": Scenario(rayjob, "RayJob"),
    "rayjob-httpmode": Scenario(rayjob_http, "RayJob"),
    "rayservice": Scenario(rayservice, "RayService", slow=True),
}

# Scenarios of the feature matrix (``--features``); filled by live/features.py.
FEATURE_SCENARIOS: dict[str, Scenario] = {}
# Feature scenarios the default run includes too: the suspensions (about 15 s on the local backend;
# without them the shipped definitions' Suspended mappings would be reported not-checked on every default
# run) and the RayCronJob (the only scenario of definitions/raycronjob.yaml), each where the KubeRay version
# has its feature.
DEFAULT_FEATURE_SCENARIOS = ("raycluster-suspend", "rayjob-suspend", "raycronjob")


# Default feature scenarios of the local backend only. On kind (and an existing cluster) every Pod runs
# real Ray: raycronjob's two clusters beside the default scenarios took a 2-core machine's kind leg from
# 6 to 12 minutes and past the scenarios' deadlines. There they run with `--features raycronjob` (the
# nightly kind matrix runs `--features all`), and a default run says so (``left_out``).
LOCAL_ONLY_DEFAULTS = {
    "raycronjob": "in the default set of the local backend only (its two real Ray clusters beside the default "
    "scenarios overload a small machine's kind cluster); `--features raycronjob` runs it on this backend",
}


def default_scenarios(version: str | None = None, backend: str | None = None) -> list[str]:
    """What a run without ``--features`` runs on KubeRay ``version`` and ``backend``, in order (None:
    every one)."""
    return [
        *SCENARIOS,
        *(
            name
            for name in DEFAULT_FEATURE_SCENARIOS
            if (version is None or _in(name, version))
            and (backend in (None, "local") or name not in LOCAL_ONLY_DEFAULTS)
        ),
    ]


def left_out(version: str, backend: str) -> dict[str, str]:
    """Default feature scenarios the version has but ``backend``'s default run leaves out: name -> why."""
    return {
        name: why
        for name, why in LOCAL_ONLY_DEFAULTS.items()
        if _in(name, version) and name not in default_scenarios(version, backend)
    }


def _in(scenario: str, version: str) -> bool:
    """Whether KubeRay ``version`` has (the gates on, as the harness runs it) the features ``scenario`` drives."""
    driven = [f for f in inventory.load() if f.scenario == scenario]
    return all(f.active_in(version) for f in driven)
