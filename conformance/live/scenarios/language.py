"""The phase language: a scenario is a short sequence of steps over its flow.

::

    @scenario("head-pod-deleted", root="RayCluster", drives=["head-pod-deleted"])
    def head_pod_deleted(s: Script) -> None:
        cluster = s.create(raycluster(s, "headloss-raycluster"))
        s.phase("ready", until=settled(cluster.name, {GROUP: 2}), expect=running(cluster.name))
        head = s.head_pod(cluster.name)
        s.phase(
            "head-recreated",
            do=lambda: s.delete(head),
            until=settled(cluster.name, {GROUP: 2}, without=head),
            expect=running(cluster.name),
        )

The steps:

- ``s.create(manifest)`` creates the root and marks the ``created`` phase (a Snapshot expecting
  ``initializing``, not settled): every scenario starts so.
- ``s.phase(name, do=, until=, check=, expect=, needs=, timeout=)``: if the backend, the KubeRay version and
  the cluster offer what the phase ``needs`` (and what its probe needs), run the action ``do``, wait until the probe
  ``until`` holds (a bounded poll; on timeout ScenarioFailed names the phase and the last thing seen),
  run the scenario's own ``check`` on what the probe found, then take the phase's Snapshot with the Expectation ``expect``. Without ``expect`` the phase is a wait
  only (no Snapshot, nothing judged). Where a need is missing the phase is UNVERIFIED with the reason,
  and ``phase`` returns None.
- ``s.finally_(undo)``: run ``undo`` when the scenario ends, however it ends (last registered first).

Probes (``probes.py``) are named and written once; each declares the capabilities it needs. Timeouts
are named: SHORT, MEDIUM, LONG. ``@scenario(name, root=, drives=[...])`` registers the scenario under
its name, and the inventory (``conformance/inventory.yaml``) learns from it which scenario drives
which feature: the name and the features are written there once, as literals (the inventory reads
them from this package's source, without importing it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from conformance import inventory
from conformance.backends.base import Capability
from conformance.live.scenarios.context import Context, PhaseUnverified, ScenarioFailed
from conformance.live.scenarios.registry import REGISTRY, Scenario
from conformance.snapshot import Expectation, Snapshot


@dataclass(frozen=True)
class Timeout:
    name: str
    seconds: float


# A phase's deadline (scaled by the backend's timeout_scale: real kubelets start real Ray).
SHORT = Timeout("short", 60.0)  # a change the operator makes in one or two reconciles
MEDIUM = Timeout("medium", 180.0)  # Pods made or deleted and settled
LONG = Timeout("long", 300.0)  # a Ray job or a Serve application run to its end, a cluster upgraded


@dataclass(frozen=True)
class KubeRayHas:
    """A phase needs a feature of the inventory active in the run's KubeRay version."""

    feature: str

    def missing(self, version: str) -> str | None:
        feature = inventory.by_name()[self.feature]
        if feature.active_in(version):
            return None
        if not feature.exists_in(version):
            return (
                f"KubeRay {version} does not have {feature.what} (it exists in {', '.join(feature.versions)})"
            )
        gate = feature.gate.name if feature.gate is not None else "its feature gate"
        return f"KubeRay {version} has {feature.what} behind {gate}, off in its default flags"


@dataclass(frozen=True)
class ClusterHas:
    """A phase needs something of the cluster itself that no backend capability names (a Gateway
    controller for a GatewayClass): ``lacks(ctx)`` asks the cluster, and says why not (None: it has it)."""

    what: str
    lacks: Callable[[Context], str | None]


Need = Capability | KubeRayHas | ClusterHas


def kuberay_has(feature: str) -> KubeRayHas:
    return KubeRayHas(feature)


T = TypeVar("T")


@dataclass(frozen=True)
class Probe:
    """A named condition on the cluster: ``check(ctx)`` returns what it found (truthy) once it holds,
    else None or False. ``what`` says it in a sentence for progress lines and timeouts."""

    what: str
    check: Callable[[Context], Any]
    needs: tuple[Need, ...] = ()

    def __call__(self, ctx: Context) -> Any:
        return self.check(ctx)


class Ref(NamedTuple):
    """An object of the scenario's namespace."""

    api_version: str
    kind: str
    name: str


def expect(*statuses: str, owners: Iterable[str] = (), stable: bool = True, **more: Any) -> Expectation:
    """The Expectation of a phase: the Karta statuses KubeRay's state allows there (from the model, or
    from what the scenario did), the RayClusters that own the workload's Pods then, and the rest of
    :class:`Expectation`'s fields."""
    return Expectation(statuses=list(statuses), current_owners=list(owners), stable=stable, **more)


def running(*owners: str, **more: Any) -> Expectation:
    """Settled and running, the Pods owned by ``owners`` (the RayClusters)."""
    return expect("running", owners=owners, **more)


def spec_suspend(action: str) -> list[dict[str, Any]]:
    """What a phase reached by setting the root's spec.suspend was made by (claim suspend-actions)."""
    return [{"action": action, "path": ["spec", "suspend"], "value": action == "suspend"}]


class Script:
    """One scenario being played on a Context: the steps, and what the scenario acts with."""

    def __init__(self, ctx: Context, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.root: Ref | None = None
        self._undo: list[Callable[[], object]] = []

    # --- the steps ------------------------------------------------------------------------------

    def create(
        self, manifest: dict[str, Any], *, neighbour: bool = False, expect_created: Expectation | None = None
    ) -> Ref:
        """Create the root (beside a neighbour RayCluster in the namespace if ``neighbour``) and mark the
        ``created`` phase."""
        ref = Ref(str(manifest["apiVersion"]), str(manifest["kind"]), str(manifest["metadata"]["name"]))
        if neighbour:
            self.ctx.add_neighbour()
        self.ctx.kube.create(manifest, self.ctx.namespace)
        self.root = ref
        self.ctx.snap(self.name, "created", ref, expect_created or expect("initializing", stable=False))
        return ref

    def phase(
        self,
        name: str,
        *,
        do: Callable[[], object] | None = None,
        until: Probe | None = None,
        expect: Expectation | Callable[[Any], Expectation] | None = None,
        needs: Sequence[Need] = (),
        check: Callable[[Any], None] | None = None,
        timeout: Timeout = MEDIUM,
        joined: str | None = None,
    ) -> Any:
        """One phase (see the module's docstring). ``expect`` may be a function of what ``until`` found
        (a cluster's name known only then). ``check``: the scenario's own assertion on what ``until``
        found, run before the Snapshot (it raises ``s.fail(...)``). ``joined``: where every Pod runs real Ray, also wait until
        the head's GCS lists every Pod of that RayCluster alive, and keep the list in the Snapshot."""
        if not self.able(*needs, *(until.needs if until else ()), phases=[name]):
            return None
        if do is not None:
            do()
        found = (
            self.ctx.wait(self.name, name, until.what, lambda: until.check(self.ctx), timeout.seconds)
            if until is not None
            else None
        )
        if check is not None:
            check(found)
        if expect is not None:
            nodes = self.ctx.ray_joined(self.name, name, joined) if joined else None
            wanted = expect(found) if callable(expect) else expect
            snapshot = self.snap(name, wanted)
            if joined:
                snapshot.ray_nodes = nodes
        return found if until is not None else True

    def finally_(self, undo: Callable[[], object]) -> None:
        """Run ``undo`` when the scenario ends, however it ends (the last registered first)."""
        self._undo.append(undo)

    # --- what the steps are made of -------------------------------------------------------------

    def able(self, *needs: Need, phases: Sequence[str]) -> bool:
        """Whether the run offers every need; if not, each of ``phases`` is UNVERIFIED with the reason."""
        for need in needs:
            if isinstance(need, Capability):
                if not self.ctx.able(need, self.name, *phases):
                    return False
                continue
            reason = (
                need.lacks(self.ctx)
                if isinstance(need, ClusterHas)
                else need.missing(self.ctx.provider.kuberay_version)
            )
            if reason is not None:
                for phase in phases:
                    self.unverified(phase, reason)
                return False
        return True

    def unverified(self, phase: str, reason: str) -> None:
        self.ctx.unverified.append(PhaseUnverified(self.name, phase, reason))
        self.ctx.progress(f"  [{self.name}] UNVERIFIED {phase}: {reason}")

    def snap(self, phase: str, wanted: Expectation, root: Ref | None = None) -> Snapshot:
        ref = root or self.root
        if ref is None:
            raise ScenarioFailed(self.name, phase, "no root created before the phase")
        return self.ctx.snap(self.name, phase, ref, wanted)

    def fail(self, phase: str, message: str) -> ScenarioFailed:
        return ScenarioFailed(self.name, phase, message)

    def say(self, message: str) -> None:
        self.ctx.progress(f"  [{self.name}] {message}")

    @property
    def version(self) -> str:
        return self.ctx.provider.kuberay_version

    def manifest(self, kind: str) -> dict[str, Any]:
        return self.ctx.manifest(kind)

    def get(self, ref: Ref | tuple[str, str, str]) -> dict[str, Any] | None:
        return self.ctx.get(*ref)

    def patch(self, ref: Ref | tuple[str, str, str], body: dict[str, Any]) -> None:
        api_version, kind, name = ref
        self.ctx.kube.patch_merge(api_version, kind, name, self.ctx.namespace, body)

    def make(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create an object of the scenario's namespace that is not its root (a neighbour, a Redis, a
        wrapper): the object as made."""
        return self.ctx.kube.create(manifest, self.ctx.namespace)

    def delete(self, ref: Ref | tuple[str, str, str]) -> None:
        api_version, kind, name = ref
        self.ctx.kube.delete(api_version, kind, name, self.ctx.namespace)

    def pods(self, selector: str) -> list[dict[str, Any]]:
        """The Pods matching ``selector`` not being deleted."""
        return [
            p
            for p in self.ctx.kube.list_objects("v1", "Pod", self.ctx.namespace, label_selector=selector)
            if not p["metadata"].get("deletionTimestamp")
        ]

    def undo(self, failed: bool) -> None:
        """Every ``finally_``, the last first; each runs even if one before it fails."""
        problems = []
        while self._undo:
            step = self._undo.pop()
            try:
                step()
            except Exception as error:
                problems.append(repr(error))
                self.say(f"finally: {error!r}")
        if problems and not failed:
            raise ScenarioFailed(self.name, "finally", "; ".join(problems))


def play(ctx: Context, name: str, body: Callable[[Script], None]) -> list[Snapshot]:
    """Play a scenario's steps on ``ctx``: its Snapshots (also in ``ctx.snapshots``, kept when a later
    phase fails)."""
    script = Script(ctx, name)
    failed = True
    try:
        body(script)
        failed = False
    finally:
        script.undo(failed)
    return ctx.snapshots


def scenario(
    name: str, *, root: str, drives: Sequence[str] = (), default: bool = False, slow: bool = False
) -> Callable[[Callable[[Script], None]], Callable[[Script], None]]:
    """Register a scenario under ``name``: its root kind, the inventory features it drives, whether it
    is one of the default scenarios, whether it starts first (``slow``)."""

    def register(body: Callable[[Script], None]) -> Callable[[Script], None]:
        if name in REGISTRY:
            raise ValueError(f"scenario {name} is registered twice")
        REGISTRY[name] = Scenario(
            name, lambda ctx: play(ctx, name, body), root, tuple(drives), default=default, slow=slow
        )
        return body

    return register
