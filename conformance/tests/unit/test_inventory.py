"""The feature matrix's inventory (conformance/inventory.yaml) and the --features selection."""

from __future__ import annotations

import pytest

from conformance import inventory, versions
from conformance.claims import live
from conformance.definition import load_path
from conformance.errors import UserError
from conformance.live.scenarios import FEATURE_SCENARIOS, REGISTRY, SCENARIOS, default_scenarios, left_out
from conformance.live.selection import selection
from conformance.live.session import LiveResult, evaluate
from conformance.tests.helpers import DEFINITIONS
from conformance.verdict import Outcome, Verdict, exit_code

pytestmark = pytest.mark.unit

PINNED = tuple(versions.load().kuberay)

# The entries issue 11 asks for by name, at least.
REQUIRED = {
    "multi-host",
    "multi-host-replica-labels",
    "in-tree-autoscaling",
    "workers-to-delete",
    "raycluster-suspend",
    "rayjob-suspend",
    "rayjob-shutdown-after-finishes",
    "rayjob-cluster-selector",
    "submission-mode-k8sjob",
    "submission-mode-http",
    "submission-mode-interactive",
    "submission-mode-sidecar",
    "rayjob-backoff-limit",
    "upgrade-new-cluster",
    "upgrade-none",
    "upgrade-incremental",
    "rayservice-replicas-only",
    "rayservice-failed-upgrade",
    "gcs-fault-tolerance",
    "head-pod-deleted",
    "batch-scheduler-volcano",
    "extended-resources",
    "owner-above-root",
    "raycronjob",
    "kueue-admission",
}


def test_the_inventory_keeps_its_rules() -> None:
    assert inventory.problems(inventory.load(), PINNED) == []


def test_the_inventory_lists_every_entry_the_issue_names() -> None:
    assert REQUIRED - set(inventory.by_name()) == set()


def test_every_scenario_named_in_the_inventory_exists() -> None:
    missing = {f.name: s for f in inventory.load() for s in f.scenarios if s not in REGISTRY}
    assert missing == {}
    # ... and every feature scenario drives at least one entry (none is dead code).
    assert set(FEATURE_SCENARIOS) - {s for f in inventory.load() for s in f.scenarios} == set()


def test_the_inventory_reads_what_each_scenario_registers_it_drives() -> None:
    registered: dict[str, tuple[str, ...]] = {}
    for s in REGISTRY.values():
        for feature in s.drives:
            registered[feature] = (*registered.get(feature, ()), s.name)
    assert inventory.scenario_drivers() == registered
    assert registered["zero-serve-endpoints"] == ("rayservice",)  # a default scenario drives features too
    assert set(registered) <= set(inventory.by_name())  # no scenario drives a feature the inventory lacks


def test_a_scenario_written_in_the_inventory_is_refused_with_where_it_belongs() -> None:
    with pytest.raises(
        inventory.InventoryError, match=r"`scenario` is not written in the inventory: .*drives="
    ):
        inventory.parse({"features": [_entry(scenario="multi-host")]})


def _parse(
    raw: dict[str, object], drivers: dict[str, tuple[str, ...]] | None = None
) -> tuple[inventory.Feature, ...]:
    """Entry ``x`` driven by the multi-host scenario unless ``drivers`` says otherwise."""
    return inventory.parse(raw, {"x": ("multi-host",)} if drivers is None else drivers)


def _entry(**changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": "x",
        "kinds": ["RayCluster"],
        "what": "spec.x",
        "type": "field",
        "versions": ["v1.6.2"],
        "changes": ["pods"],
        "effect": "moves Pods",
    }
    entry.update(changes)
    return {key: value for key, value in entry.items() if value is not None}


def test_an_entry_without_scenario_or_reason_is_refused() -> None:
    (problem,) = inventory.problems(_parse({"features": [_entry()]}, drivers={}), PINNED)
    assert problem == "x: needs exactly one of `scenario` and `reason` (has neither)"


def test_an_entry_with_both_scenario_and_reason_is_refused() -> None:
    (problem,) = inventory.problems(_parse({"features": [_entry(reason="later")]}), PINNED)
    assert problem == "x: needs exactly one of `scenario` and `reason` (has both)"


def test_an_entry_in_a_version_not_pinned_is_refused() -> None:
    (problem,) = inventory.problems(_parse({"features": [_entry(versions=["v1.6.2", "v1.2.0"])]}), PINNED)
    assert problem.startswith("x: version v1.2.0 is not pinned in versions.yaml (v1.3.2, ")


def test_a_gate_on_in_a_version_without_the_feature_is_refused() -> None:
    entry = _entry(gate={"name": "G", "default_on": ["v1.7.0"]})
    (problem,) = inventory.problems(_parse({"features": [entry]}), PINNED)
    assert problem == "x: gate G on by default in v1.7.0, which lacks it"


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(inventory.InventoryError, match=r"unknown keys \['scenarios'\]"):
        _parse({"features": [_entry(scenarios="multi-host")]})


def test_no_features_runs_the_default_set() -> None:
    chosen = selection(None, "v1.6.2")
    assert chosen.scenarios is None and not chosen.selected


def test_named_features_run_only_their_scenarios_once() -> None:
    chosen = selection("multi-host,multi-host-replica-labels,head-pod-deleted", "v1.6.2")
    assert chosen.scenarios == ["multi-host", "head-pod-deleted"]


def test_all_runs_the_default_set_first_then_every_feature_scenario() -> None:
    chosen = selection("all", "v1.6.2")
    assert chosen.scenarios is not None
    assert chosen.scenarios[: len(SCENARIOS)] == list(SCENARIOS)
    active = {
        f.scenario for f in inventory.load() if f.scenario and f.active_in("v1.6.2") and not f.batch_scheduler
    }
    assert set(FEATURE_SCENARIOS) & active <= set(chosen.scenarios)
    # rayservice-suspend exists in v1.7.0 only: not run on v1.6.2, run on v1.7.0
    assert "rayservice-suspend" not in chosen.scenarios
    assert "rayservice-suspend" in (selection("all", "v1.7.0").scenarios or [])


def test_a_feature_of_a_batch_scheduler_runs_only_on_a_run_with_that_batch_scheduler() -> None:
    plain = selection("all", "v1.6.2")
    assert "batch-scheduler-volcano" not in (plain.scenarios or [])
    outcome, message = plain.state(inventory.by_name()["batch-scheduler-volcano"])
    assert outcome is Outcome.UNVERIFIED
    assert message.startswith("needs a run with --batch-scheduler volcano")
    volcano = selection("all", "v1.6.2", batch_scheduler="volcano")
    assert "batch-scheduler-volcano" in (volcano.scenarios or [])
    assert (volcano.scenarios or [])[: len(SCENARIOS)] == list(SCENARIOS)  # the default set runs under it too
    assert volcano.state(inventory.by_name()["batch-scheduler-volcano"]) == (
        None,
        "driven by scenario batch-scheduler-volcano",
    )


def test_a_feature_the_version_lacks_is_na_and_not_run() -> None:
    chosen = selection("rayservice-suspend", "v1.6.2")
    assert chosen.scenarios == []
    outcome, message = chosen.state(inventory.by_name()["rayservice-suspend"])
    assert outcome is Outcome.NOT_APPLICABLE
    assert message == "KubeRay v1.6.2 does not have spec.suspend (it exists in v1.7.0)"
    on = selection("rayservice-suspend", "v1.7.0")
    assert on.scenarios == ["rayservice-suspend"]
    assert on.state(inventory.by_name()["rayservice-suspend"]) == (
        None,
        "driven by scenario rayservice-suspend",
    )


def test_a_gated_feature_is_na_where_the_gate_is_off_by_default() -> None:
    chosen = selection("multi-host-replica-labels", "v1.5.1")
    assert chosen.scenarios == []
    outcome, message = chosen.state(inventory.by_name()["multi-host-replica-labels"])
    assert (outcome, message) == (
        Outcome.NOT_APPLICABLE,
        "needs feature gate RayMultiHostIndexing, off in KubeRay v1.5.1's default flags",
    )


def test_feature_verdicts_name_each_definition_of_the_features_kinds() -> None:
    definitions = load_path(DEFINITIONS)
    chosen = selection("rayservice-suspend,kueue-admission,worker-group-priority", "v1.6.2")
    verdicts = chosen.verdicts(definitions, [])
    by = {(v.definition, v.subject): v.outcome for v in verdicts}
    # kueue-admission is driven by its scenarios: their verdicts, no feature verdict of its own
    assert by == {
        ("rayservice", "rayservice-suspend"): Outcome.NOT_APPLICABLE,
        ("raycluster", "worker-group-priority"): Outcome.NOT_APPLICABLE,
        ("rayjob", "worker-group-priority"): Outcome.NOT_APPLICABLE,
        ("rayservice", "worker-group-priority"): Outcome.NOT_APPLICABLE,
    }
    newer = selection("worker-group-priority", "v1.7.0").verdicts(definitions, [])
    assert {(v.definition, v.subject): v.outcome for v in newer} == {
        ("raycluster", "worker-group-priority"): Outcome.UNVERIFIED,
        ("rayjob", "worker-group-priority"): Outcome.UNVERIFIED,
        ("rayservice", "worker-group-priority"): Outcome.UNVERIFIED,
    }


def test_a_feature_several_scenarios_drive_runs_them_all_in_their_order() -> None:
    chosen = selection("kueue-admission", "v1.6.2")
    assert chosen.scenarios == ["kueue-rayjob", "kueue-rayjob-quota", "kueue-raycluster", "kueue-rayservice"]
    feature = inventory.by_name()["kueue-admission"]
    assert chosen.state(feature) == (
        None,
        "driven by scenarios kueue-rayjob, kueue-rayjob-quota, kueue-raycluster, kueue-rayservice",
    )
    meta = chosen.meta({"kueue-rayjob": 10.0, "kueue-raycluster": 5.0})["kueue-admission"]
    assert (meta["scenario"], meta["scenarios"][1], meta["seconds"]) == (
        "kueue-rayjob",
        "kueue-rayjob-quota",
        15.0,
    )


def test_a_definition_no_selected_scenario_drives_is_na_not_an_error() -> None:
    definitions = load_path(DEFINITIONS)
    undriven = Verdict(
        "rayjob",
        "definitions/rayjob.yaml",
        "scenario",
        "rootComponent.kind",
        "live",
        Outcome.ERROR,
        "no scenario drives a ray.io/v1 RayJob",
    )
    driven = Verdict(
        "raycluster",
        "definitions/raycluster.yaml",
        "scenario",
        "rootComponent.kind",
        "live",
        Outcome.ERROR,
        "no scenario drives a ray.io/v1 RayCluster",
    )
    kept = selection("multi-host", "v1.6.2").verdicts(definitions, [undriven, driven])
    assert [v.outcome for v in kept] == [Outcome.NOT_APPLICABLE, Outcome.ERROR]


def test_unknown_feature_names_exit_2_naming_the_known_ones() -> None:
    with pytest.raises(UserError, match=r"unknown feature\(s\) nope; known: all, multi-host,") as caught:
        selection("multi-host,nope", "v1.6.2")
    assert caught.value.exit_code == 2


def test_na_never_fails_and_cannot_express_fails_only_when_strict() -> None:
    def verdict(outcome: Outcome) -> Verdict:
        return Verdict("d", "d.yaml", "c", "", "p", outcome, "m")

    assert exit_code([verdict(Outcome.NOT_APPLICABLE)], strict=True) == 0
    assert exit_code([verdict(Outcome.CANNOT_EXPRESS)]) == 0
    assert exit_code([verdict(Outcome.CANNOT_EXPRESS)], strict=True) == 1


def test_a_feature_a_batch_scheduler_stops_is_na_on_such_a_run_where_it_does() -> None:
    """KubeRay v1.5.1+ with --batch-scheduler=volcano never runs a RayJob on an existing cluster."""
    feature = inventory.by_name()["rayjob-cluster-selector"]
    volcano = selection("all", "v1.6.2", batch_scheduler="volcano")
    assert "rayjob-cluster-selector" not in (volcano.scenarios or [])
    outcome, message = volcano.state(feature)
    assert outcome is Outcome.NOT_APPLICABLE
    assert message.startswith("not with --batch-scheduler volcano in KubeRay v1.6.2: KubeRay's Volcano")
    assert "rayjob-cluster-selector" in (selection("all", "v1.6.2").scenarios or [])  # no batch scheduler
    assert "rayjob-cluster-selector" in (
        selection("all", "v1.4.2", batch_scheduler="volcano").scenarios or []
    )


def test_a_gate_the_harness_turns_on_runs_its_scenario_by_default_where_the_version_has_it() -> None:
    """RayCronJob: off in the chart, turned on by the harness (it only starts that kind's controller), so
    definitions/raycronjob.yaml is proved by every default run of v1.6.2 and v1.7.0 and is n/a before."""
    cron = inventory.by_name()["raycronjob"]
    assert cron.gate is not None and cron.gate.harness_on and not cron.gate.default_on
    assert [v for v in PINNED if cron.active_in(v)] == ["v1.6.2", "v1.7.0"]
    assert inventory.harness_gates("v1.6.2") == ("RayCronJob",) and inventory.harness_gates("v1.5.1") == ()
    assert "raycronjob" in default_scenarios("v1.6.2") and "raycronjob" not in default_scenarios("v1.5.1")
    assert selection("raycronjob", "v1.7.0").scenarios == ["raycronjob"]
    assert selection("raycronjob", "v1.5.1").state(cron) == (
        Outcome.NOT_APPLICABLE,
        "KubeRay v1.5.1 does not have the RayCronJob kind (spec.schedule, spec.jobTemplate, spec.suspend) "
        "(it exists in v1.6.2, v1.7.0)",
    )
    assert inventory.kind_feature("RayCronJob") is cron and inventory.kind_feature("RayJob") is None


def test_a_definition_of_a_kind_the_version_does_not_serve_is_na_live_not_an_error() -> None:
    (cron,) = [d for d in load_path(DEFINITIONS) if d.name == "raycronjob"]
    (before,) = [v for v in live.check([cron], [], "v1.5.1") if v.claim == "scenario"]
    assert before.outcome is Outcome.NOT_APPLICABLE
    assert (
        before.message == "KubeRay v1.5.1 does not serve RayCronJob (feature raycronjob: v1.6.2, v1.7.0 only)"
    )
    (after,) = [v for v in live.check([cron], [], "v1.6.2") if v.claim == "scenario"]
    assert after.outcome is Outcome.ERROR  # served, yet no snapshot: the scenario did not run


def test_raycronjob_is_a_default_scenario_of_the_local_backend_only_and_its_definition_says_so_elsewhere() -> (
    None
):
    assert "raycronjob" in default_scenarios("v1.6.2", "local")
    assert "raycronjob" not in default_scenarios("v1.6.2", "kind")
    assert list(left_out("v1.6.2", "kind")) == ["raycronjob"] and left_out("v1.5.1", "kind") == {}
    assert left_out("v1.6.2", "local") == {}
    (cron,) = [d for d in load_path(DEFINITIONS) if d.name == "raycronjob"]
    result = LiveResult(
        kuberay_version="v1.6.2", left_out={"RayCronJob": "scenario raycronjob is local only"}
    )
    (verdict,) = [v for v in evaluate([cron], result) if v.claim == "scenario"]
    assert verdict.outcome is Outcome.NOT_APPLICABLE
    assert verdict.message.endswith("(scenario raycronjob is local only)")
    (unexplained,) = [
        v for v in evaluate([cron], LiveResult(kuberay_version="v1.6.2")) if v.claim == "scenario"
    ]
    assert unexplained.outcome is Outcome.ERROR
