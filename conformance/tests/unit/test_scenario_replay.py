"""Each scenario's phase sequence, played against the Flow a live run recorded (``tests/replay.py``).

No cluster: the recorded frames answer the scenario's reads, and each poll of a wait replays one frame
more. The scenario as written must reach the recorded phases in the recorded order, each no later than
where the live run took that phase's Snapshot; a probe that waits for the wrong thing, a phase out of
order or a phase the recording never reached fails here, in a second.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from conformance.backends.base import Capability
from conformance.flow import Flow
from conformance.live.scenarios import ScenarioFailed
from conformance.tests.replay import replay

pytestmark = pytest.mark.unit

FLOWS = Path(__file__).resolve().parents[1] / "data" / "flows"
# What the local backend, where these flows were recorded, offers (backends/local/provider.py)
LOCAL = frozenset(Capability) - {Capability.RAY_NODES, Capability.RUN_CONTAINERS}


@pytest.mark.parametrize("scenario", ["rayservice", "raycluster-suspend", "rayjob-suspend"])
def test_the_scenario_reaches_its_recorded_phases_in_order_no_later_than_recorded(scenario: str) -> None:
    flow = Flow.load(FLOWS / f"{scenario}.flow.jsonl.gz")
    taken, unverified, _ = replay(flow, LOCAL)
    assert unverified == []
    assert [t.phase for t in taken] == [m.phase for m in flow.markers]
    late = [
        f"{t.phase}: reached at frame {t.cursor}, recorded at {m.frame}"
        for t, m in zip(taken, flow.markers, strict=True)
        if t.cursor > m.frame
    ]
    assert late == []


def test_a_probe_waiting_for_what_never_happens_fails_on_the_recording() -> None:
    """The replay can fail: the rayservice flow, cut one frame before the old cluster's deletion was
    seen, never reaches old-deleted, and the scenario fails there, naming the phase."""
    flow = Flow.load(FLOWS / "rayservice.flow.jsonl.gz")
    (old_deleted,) = [m for m in flow.markers if m.phase == "old-deleted"]
    flow.frames = flow.frames[: old_deleted.frame - 1]
    with pytest.raises(ScenarioFailed) as failure:
        replay(flow, LOCAL)
    assert failure.value.phase == "old-deleted"
    assert "waiting for the old cluster" in failure.value.message


def test_without_the_gate_the_upgrade_phases_are_unverified_with_the_reason() -> None:
    flow = Flow.load(FLOWS / "rayservice.flow.jsonl.gz")
    taken, unverified, _ = replay(flow, LOCAL - {Capability.GATE})
    assert unverified == ["upgrade-pending", "upgrade-pending-recovered"]
    assert "upgrade-pending" not in [t.phase for t in taken]


def test_the_incremental_upgrade_reaches_its_recorded_phases_and_every_split_is_kuberays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flow of a live run on the local backend (KubeRay v1.7.0, the stand-in Gateway controller): the
    scenario reaches its phases in order, no later than recorded; and every RayService frame of the
    recording shows a capacity/traffic split KubeRay's algorithm makes (``incremental_traffic``), through
    at least one split strictly between 0 and 100 %. The GatewayClass is cluster-scoped, not in the
    namespace's flow: the recording was made where the stand-in had accepted it."""
    from conformance.live.scenarios import rayservice
    from conformance.live.scenarios.language import ClusterHas
    from conformance.model import kuberay_states

    monkeypatch.setattr(rayservice, "GATEWAY_CONTROLLER", ClusterHas("recorded", lambda ctx: None))
    flow = Flow.load(FLOWS / "upgrade-incremental.flow.jsonl.gz")
    taken, unverified, _ = replay(flow, LOCAL)
    assert unverified == []
    assert (
        [t.phase for t in taken]
        == [m.phase for m in flow.markers]
        == [
            "created",
            "ready",
            "upgrade-started",
            "traffic-shifting",
            "promoted",
            "old-deleted",
        ]
    )
    assert [t.phase for t, m in zip(taken, flow.markers, strict=True) if t.cursor > m.frame] == []
    splits = [kuberay_states.traffic(f.object) for f in flow.frames if f.kind == "RayService"]
    allowed = kuberay_states.incremental_traffic(rayservice.MAX_SURGE, rayservice.STEP)
    assert [str(s) for s in splits if s not in allowed] == []
    assert any(0 < (s.pending_routed or 0) < 100 for s in splits)


def test_the_incremental_rollback_reaches_its_recorded_phases_and_every_split_is_kuberays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The flow of a live run on the local backend (KubeRay v1.7.0, the stand-in Gateway controller): the
    rollback scenario reaches its phases in order, no later than recorded; every RayService frame shows a
    split KubeRay's algorithm makes forward or back; RollbackInProgress=True/DesiredClusterSpecChanged is
    seen, and once the pending cluster's share starts falling it never rises again."""
    from conformance.kuberay import condition
    from conformance.live.scenarios import rayservice
    from conformance.live.scenarios.language import ClusterHas
    from conformance.model import kuberay_states

    monkeypatch.setattr(rayservice, "GATEWAY_CONTROLLER", ClusterHas("recorded", lambda ctx: None))
    flow = Flow.load(FLOWS / "upgrade-incremental-rollback.flow.jsonl.gz")
    taken, unverified, _ = replay(flow, LOCAL)
    assert unverified == []
    assert (
        [t.phase for t in taken]
        == [m.phase for m in flow.markers]
        == [
            "created",
            "ready",
            "upgrade-started",
            "traffic-shifting",
            "rolling-back",
            "rolled-back",
            "pending-deleted",
        ]
    )
    assert [t.phase for t, m in zip(taken, flow.markers, strict=True) if t.cursor > m.frame] == []
    frames = [f.object for f in flow.frames if f.kind == "RayService"]
    assert [str(s) for s in map(kuberay_states.traffic, frames) if s not in rayservice.ROLLBACK_TRAFFIC] == []
    rolling = [f for f in frames if (condition(f, "RollbackInProgress") or {}).get("status") == "True"]
    reasons = {(condition(f, "RollbackInProgress") or {}).get("reason") for f in rolling}
    assert rolling and reasons == {"DesiredClusterSpecChanged"}
    first = frames.index(rolling[0])
    shares = [kuberay_states.traffic(f).pending_routed or 0 for f in frames[first:]]
    assert shares[-1] == 0 and all(b <= a for a, b in itertools.pairwise(shares))
