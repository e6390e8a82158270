"""Each scenario's phase sequence, played against the Flow a live run recorded (``tests/replay.py``).

No cluster: the recorded frames answer the scenario's reads, and each poll of a wait replays one frame
more. The scenario as written must reach the recorded phases in the recorded order, each no later than
where the live run took that phase's Snapshot; a probe that waits for the wrong thing, a phase out of
order or a phase the recording never reached fails here, in a second.
"""

from __future__ import annotations

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
