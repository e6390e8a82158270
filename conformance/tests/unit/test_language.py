"""The phase language (``live/scenarios/language.py``): what a phase does with its needs, its probe, its
check and its Expectation, and what the framework supplies (``created``, finally, registration)."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest

from conformance import inventory, versions
from conformance.backends.base import Capability, Provider
from conformance.k8s.client import Kube, wait_until
from conformance.live.capture import Snapshotter
from conformance.live.scenarios import REGISTRY, Context, PhaseUnverified, ScenarioFailed
from conformance.live.scenarios.language import (
    SHORT,
    ClusterHas,
    Probe,
    Script,
    kuberay_has,
    play,
    running,
    scenario,
)
from conformance.snapshot import Expectation, Snapshot

pytestmark = pytest.mark.unit


class _Provider:
    name = "kind"
    kuberay_version = "v1.6.2"
    timeout_scale = 1.0
    batch_scheduler = ""

    def __init__(self, capabilities: frozenset[Capability] = frozenset(Capability)) -> None:
        self.capabilities = capabilities

    def lacks(self, capability: Capability) -> str:
        return f"no {capability} here"


class _Kube:
    """Answers waits at once (the probe is asked until it holds or the deadline passes)."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def wait_for(self, what: str, probe: Any, timeout: float) -> Any:
        return wait_until(what, probe, 0.2)

    def create(self, manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
        self.created.append(manifest)
        return manifest


class _Snapshotter:
    def take(self, scenario: str, phase: str, namespace: str, root: Any, expect: Expectation) -> Snapshot:
        return Snapshot(scenario, phase, namespace, {}, [], [], [], [], expect)


def _context(provider: _Provider | None = None) -> tuple[Context, list[str]]:
    said: list[str] = []
    ctx = Context(
        cast(Kube, _Kube()),
        cast(Provider, provider or _Provider()),
        "ns",
        cast(Snapshotter, _Snapshotter()),
        said.append,
    )
    return ctx, said


ROOT = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "rc"}}


def test_create_marks_the_created_phase_expecting_initializing_not_settled() -> None:
    ctx, _ = _context()
    script = Script(ctx, "s")
    ref = script.create(dict(ROOT))
    assert ref.name == "rc" and script.root == ref
    (created,) = ctx.snapshots
    assert (created.phase, created.expect.statuses, created.expect.stable) == (
        "created",
        ["initializing"],
        False,
    )


def test_a_phase_acts_waits_checks_then_snapshots_with_what_the_probe_found() -> None:
    ctx, _ = _context()
    script = Script(ctx, "s")
    script.create(dict(ROOT))
    done: list[str] = []
    found = script.phase(
        "ready",
        do=lambda: done.append("do"),
        until=Probe("the cluster up", lambda ctx: "rc-1" if done else None),
        check=lambda value: done.append(f"check {value}"),
        expect=lambda value: running(value),
        timeout=SHORT,
    )
    assert found == "rc-1" and done == ["do", "check rc-1"]
    assert (ctx.snapshots[-1].phase, ctx.snapshots[-1].expect.current_owners) == ("ready", ["rc-1"])


def test_a_phase_that_never_holds_fails_naming_the_scenario_the_phase_and_the_probe() -> None:
    ctx, _ = _context()
    script = Script(ctx, "s")
    with pytest.raises(ScenarioFailed) as failure:
        script.phase("ready", until=Probe("the cluster up", lambda ctx: None), expect=running("rc"))
    assert failure.value.scenario == "s" and failure.value.phase == "ready"
    assert "the cluster up" in failure.value.message
    assert ctx.snapshots == []


def test_a_check_that_fails_leaves_the_phase_without_a_snapshot() -> None:
    ctx, _ = _context()
    script = Script(ctx, "s")
    script.create(dict(ROOT))

    def check(value: Any) -> None:
        raise script.fail("succeeded", f"the Ray job ended {value}")

    with pytest.raises(ScenarioFailed, match="the Ray job ended FAILED"):
        script.phase(
            "succeeded", until=Probe("ended", lambda ctx: "FAILED"), check=check, expect=running("rc")
        )
    assert [s.phase for s in ctx.snapshots] == ["created"]


def test_a_phase_whose_capability_is_missing_is_unverified_and_never_acts() -> None:
    ctx, said = _context(_Provider(frozenset(Capability) - {Capability.SERVE_UNREADY}))
    script = Script(ctx, "rayservice")
    acted: list[bool] = []
    result = script.phase(
        "serve-endpoints-dropped",
        needs=[Capability.SERVE_UNREADY],
        do=lambda: acted.append(True),
        until=Probe("dropped", lambda ctx: True),
        expect=running("rc"),
    )
    reason = "the kind backend cannot drop-serve-endpoints: no drop-serve-endpoints here"
    assert result is None and acted == [] and ctx.snapshots == []
    assert ctx.unverified == [PhaseUnverified("rayservice", "serve-endpoints-dropped", reason)]
    assert said == [f"  [rayservice] UNVERIFIED serve-endpoints-dropped: {reason}"]


def test_a_probe_declares_what_it_needs_and_a_phase_waiting_on_it_is_unverified_without_it() -> None:
    ctx, _ = _context(_Provider(frozenset(Capability) - {Capability.RAY_NODES}))
    script = Script(ctx, "raycluster")
    asks_the_gcs = Probe("the head's GCS lists every Pod", lambda ctx: True, needs=(Capability.RAY_NODES,))
    assert script.phase("ready", until=asks_the_gcs, expect=running("rc")) is None
    assert [(u.phase, u.reason.split(":")[0]) for u in ctx.unverified] == [
        ("ready", "the kind backend cannot list-ray-nodes")
    ]


def test_phases_needing_a_feature_the_version_lacks_are_unverified_with_the_version_that_has_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feature = inventory.by_name()["zero-serve-endpoints"]
    assert feature.versions == tuple(versions.load().kuberay)  # every pinned version has it
    lacking = dataclasses.replace(feature, versions=("v1.7.0",))
    monkeypatch.setattr(inventory, "by_name", lambda: {"zero-serve-endpoints": lacking})
    ctx, said = _context()
    script = Script(ctx, "rayservice")
    phases = ("serve-endpoints-dropped", "serve-endpoints-restored")
    assert not script.able(kuberay_has("zero-serve-endpoints"), Capability.SERVE_UNREADY, phases=phases)
    reason = (
        "KubeRay v1.6.2 does not have the RayService condition Ready=False, reason ZeroServeEndpoints "
        "(it exists in v1.7.0)"
    )
    assert [(u.phase, u.reason) for u in ctx.unverified] == [(p, reason) for p in phases]
    assert said[0] == f"  [rayservice] UNVERIFIED serve-endpoints-dropped: {reason}"


def test_finally_runs_last_first_however_the_scenario_ends() -> None:
    ctx, _ = _context()
    ran: list[str] = []

    def body(s: Script) -> None:
        s.finally_(lambda: ran.append("first"))
        s.finally_(lambda: ran.append("second"))
        s.phase("ready", until=Probe("never", lambda ctx: None), expect=running("rc"))

    with pytest.raises(ScenarioFailed):
        play(ctx, "s", body)
    assert ran == ["second", "first"]


def test_a_failing_finally_fails_a_scenario_that_otherwise_passed_and_the_others_still_run() -> None:
    ctx, _ = _context()
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("could not release the gate")

    def body(s: Script) -> None:
        s.finally_(lambda: ran.append("first"))
        s.finally_(broken)

    with pytest.raises(ScenarioFailed) as failure:
        play(ctx, "s", body)
    assert failure.value.phase == "finally" and "could not release the gate" in failure.value.message
    assert ran == ["first"]


def test_a_scenario_is_registered_once_under_its_name_with_what_it_drives() -> None:
    registered = REGISTRY["rayservice"]
    assert (registered.root_kind, registered.default, registered.slow) == ("RayService", True, True)
    assert "zero-serve-endpoints" in registered.drives
    with pytest.raises(ValueError, match="scenario rayservice is registered twice"):
        scenario("rayservice", root="RayService")(lambda s: None)


def test_every_scenario_plays_through_the_language() -> None:
    """A registered scenario is a play of its steps: the session's call gives the Context to ``play``."""
    ctx, _ = _context(_Provider(frozenset()))
    # a scenario whose every phase needs what this backend lacks: UNVERIFIED phases, no failure
    REGISTRY["rayjob-sidecar"](ctx)
    assert {u.phase for u in ctx.unverified} == {"created", "running", "succeeded"}


def _scenario_bodies() -> dict[str, tuple[str, int]]:
    """Each ``@scenario`` function of the package: (its module, its lines without the docstring)."""
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "live" / "scenarios"
    found: dict[str, tuple[str, int]] = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "scenario":
                    body = node.body
                    documented = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    first = body[1] if documented and len(body) > 1 else body[0]
                    name = decorator.args[0]
                    assert isinstance(name, ast.Constant)
                    found[str(name.value)] = (
                        path.stem,
                        (node.end_lineno or 0) - first.lineno + 1,
                    )
    return found


def test_each_scenario_is_a_short_sequence_in_its_familys_module() -> None:
    bodies = _scenario_bodies()
    assert set(bodies) == set(REGISTRY)  # every registered scenario found by its literal name
    assert {name: lines for name, (_, lines) in bodies.items() if lines > 40} == {}
    families: dict[str, set[str]] = {}
    for name, (module, _) in bodies.items():
        families.setdefault(module, set()).add(REGISTRY[name].root_kind)
    assert families == {
        "kueue": {"RayJob", "RayCluster", "RayService"},  # one family: Kueue's admission of each root
        "raycluster": {"RayCluster"},
        "schedulers": {"RayCluster"},
        "rayjob": {"RayJob"},
        "raycronjob": {"RayCronJob"},
        "rayservice": {"RayService"},
    }


def test_a_phase_needing_what_the_cluster_lacks_is_unverified_with_the_clusters_answer() -> None:
    ctx, said = _context()
    script = Script(ctx, "s")
    asked: list[Context] = []

    def lacks(ctx: Context) -> str | None:
        asked.append(ctx)
        return "no Gateway controller accepted GatewayClass x"

    acted: list[bool] = []
    need = ClusterHas("a Gateway controller", lacks)
    assert script.phase("ready", needs=[need], do=lambda: acted.append(True), expect=running("rc")) is None
    assert asked == [ctx] and acted == [] and ctx.snapshots == []
    assert ctx.unverified == [PhaseUnverified("s", "ready", "no Gateway controller accepted GatewayClass x")]
    assert said == ["  [s] UNVERIFIED ready: no Gateway controller accepted GatewayClass x"]
    assert script.able(ClusterHas("anything", lambda ctx: None), phases=["later"])


class _NoGatewayApi(_Kube):
    """A cluster without the Gateway API's CRDs (kind's, as the harness makes it)."""

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        raise ResourceNotFoundError(
            f"No matches found for {{'api_version': {api_version!r}, 'kind': {kind!r}}}"
        )


@pytest.mark.parametrize(
    ("version", "because"),
    [
        ("v1.7.0", "the kind backend's cluster serves no gateway.networking.k8s.io/v1 GatewayClass"),
        ("v1.6.2", "KubeRay v1.6.2 has spec.upgradeStrategy.type NewClusterWithIncrementalUpgrade"),
        ("v1.4.2", "KubeRay v1.4.2 does not have spec.upgradeStrategy.type NewClusterWithIncrementalUpgrade"),
    ],
)
def test_the_incremental_upgrade_without_a_gateway_controller_or_its_version_is_unverified_not_hung(
    version: str, because: str
) -> None:
    """Where nothing programs Gateways (kind, an existing cluster without a controller for the stand-in's
    class) KubeRay's incremental upgrade would wait forever: every phase is UNVERIFIED with the reason and
    nothing is created; so too where the version lacks the strategy or has it behind its gate."""
    provider = _Provider()
    provider.kuberay_version = version
    kube = _NoGatewayApi()
    ctx = Context(
        cast(Kube, kube), cast(Provider, provider), "ns", cast(Snapshotter, _Snapshotter()), lambda line: None
    )
    REGISTRY["upgrade-incremental"](ctx)
    assert kube.created == [] and ctx.snapshots == []
    assert [u.phase for u in ctx.unverified] == [
        "created",
        "ready",
        "upgrade-started",
        "traffic-shifting",
        "promoted",
        "old-deleted",
    ]
    assert all(u.reason.startswith(because) for u in ctx.unverified), ctx.unverified[0].reason
    rollback = Context(
        cast(Kube, kube), cast(Provider, provider), "ns", cast(Snapshotter, _Snapshotter()), lambda line: None
    )
    REGISTRY["upgrade-incremental-rollback"](rollback)
    assert kube.created == [] and rollback.snapshots == []
    assert [u.phase for u in rollback.unverified] == [
        "created",
        "ready",
        "upgrade-started",
        "traffic-shifting",
        "rolling-back",
        "rolled-back",
        "pending-deleted",
    ]
    assert all(u.reason.startswith(because) for u in rollback.unverified), rollback.unverified[0].reason


def test_the_incremental_upgrade_runs_where_a_controller_accepted_the_stand_ins_gatewayclass() -> None:
    from conformance.backends.gateway_api import STAND_IN_CLASS
    from conformance.live.scenarios.rayservice import no_gateway_controller

    class _Accepting(_Kube):
        def __init__(self, accepted: str) -> None:
            super().__init__()
            self.accepted = accepted

        def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Any:
            assert (api_version, kind, name) == (
                "gateway.networking.k8s.io/v1",
                "GatewayClass",
                STAND_IN_CLASS,
            )
            return {"status": {"conditions": [{"type": "Accepted", "status": self.accepted}]}}

    def asked(accepted: str) -> str | None:
        ctx = Context(
            cast(Kube, _Accepting(accepted)),
            cast(Provider, _Provider()),
            "ns",
            cast(Snapshotter, _Snapshotter()),
            lambda line: None,
        )
        return no_gateway_controller(ctx)

    assert asked("True") is None
    assert f"no controller that accepted GatewayClass {STAND_IN_CLASS}" in str(asked("Unknown"))
