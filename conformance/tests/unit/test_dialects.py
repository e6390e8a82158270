"""Both dialects: run.ai/v1alpha1 Karta and optimization.nvidia.com/v1alpha1 ResourceInterface."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.claims.coverage import not_checked
from conformance.claims.static import check_definition
from conformance.cli import main
from conformance.definition import load_path
from conformance.definition.convert import convert_document, to_karta, to_resource_interface
from conformance.definition.loader import load_text
from conformance.definition.rules import check
from conformance.errors import DefinitionError
from conformance.fixtures import load_fixtures
from conformance.jq.paths import read_only_problem
from conformance.tests.helpers import (
    DEFINITIONS,
    UPSTREAM,
    as_resource_interface,
    component,
    shipped,
    write,
)
from conformance.verdict import Outcome

pytestmark = pytest.mark.unit

SHIPPED = sorted([*DEFINITIONS.glob("*.yaml"), *(DEFINITIONS / "variants").glob("*.yaml")])
UPSTREAM_FILES = sorted(UPSTREAM.glob("*.yaml"))


def _document(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def _without_dialect(definition: Any) -> Any:
    return dataclasses.replace(definition, dialect="", source="")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_definitions_are_kartas_and_round_trip(path: Path) -> None:
    document = _document(path)
    assert (document["apiVersion"], document["kind"]) == ("run.ai/v1alpha1", "Karta")
    legacy, lost = to_resource_interface(document)
    # What the legacy dialect cannot hold: the suspend/resume actions and the Suspended mapping of
    # RayCluster, RayJob, RayService and RayCronJob (shown live by the raycluster-suspend, rayjob-suspend,
    # rayservice-suspend and raycronjob scenarios), the Suspending mapping of RayCluster, RayJob and
    # RayService, and RayCluster's Resuming (every frame of the suspension flows judged).
    mappings = document["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"]["statusMappings"]
    suspended = "suspended" in mappings
    assert suspended == (
        path.name in {"raycluster.yaml", "rayjob.yaml", "rayservice.yaml", "raycronjob.yaml"}
    )
    assert ("suspending" in mappings) == (path.name in {"raycluster.yaml", "rayjob.yaml", "rayservice.yaml"})
    assert ("resuming" in mappings) == (path.name == "raycluster.yaml")
    # RayService has the statuses but no actions: spec.suspend exists in v1.7.0 only (definitions/README.md).
    actions = "suspendDefinition" in document["spec"]["structureDefinition"]["rootComponent"]
    assert actions == (path.name in {"raycluster.yaml", "rayjob.yaml", "raycronjob.yaml"})
    assert lost == (
        [
            "rootComponent.suspendDefinition: ResourceInterface (optimization.nvidia.com/v1alpha1) has no "
            "suspend/resume actions (Karta (run.ai/v1alpha1) only)",
        ][: int(actions)]
        + [
            f"rootComponent.statusDefinition.statusMappings.{name}: ResourceInterface "
            f"(optimization.nvidia.com/v1alpha1) has no {name.capitalize()} status (Karta (run.ai/v1alpha1) only)"
            for name in mappings
            if name in ("suspending", "suspended", "resuming")
        ]
        if suspended
        else []
    )
    assert (legacy["apiVersion"], legacy["kind"]) == ("optimization.nvidia.com/v1alpha1", "ResourceInterface")
    back, lost_back = to_karta(legacy)
    kept = copy.deepcopy(document)
    for name in ("suspending", "suspended", "resuming"):
        kept["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"]["statusMappings"].pop(
            name, None
        )
    kept["spec"]["structureDefinition"]["rootComponent"].pop("suspendDefinition", None)
    assert lost_back == [] and back == kept
    [as_karta] = load_text(yaml.safe_dump(kept), "a.yaml")
    [as_legacy] = load_text(yaml.safe_dump(legacy), "a.yaml")
    assert (as_karta.dialect, as_legacy.dialect) == ("karta", "resource-interface")
    assert _without_dialect(as_karta) == _without_dialect(as_legacy)


@pytest.mark.parametrize("path", UPSTREAM_FILES, ids=lambda p: p.name)
def test_upstream_kartas_name_the_commit_they_were_read_at(path: Path) -> None:
    text = path.read_text()
    assert "github.com/run-ai/karta pkg/catalog/kartas/" in text
    [definition] = load_text(text, str(path))
    assert definition.dialect == "karta" and definition.name.startswith("ray-io-")


def test_convert_to_resource_interface_names_each_lost_field() -> None:
    document = _document(UPSTREAM / "raycluster.yaml")
    legacy, lost = to_resource_interface(document)
    assert lost == [
        "rootComponent.suspendDefinition: ResourceInterface (optimization.nvidia.com/v1alpha1) has no "
        "suspend/resume actions (Karta (run.ai/v1alpha1) only)",
        "rootComponent.statusDefinition.statusMappings.suspended: ResourceInterface "
        "(optimization.nvidia.com/v1alpha1) has no Suspended status (Karta (run.ai/v1alpha1) only)",
    ]
    assert "suspendDefinition" not in legacy["spec"]["structureDefinition"]["rootComponent"]
    assert "suspendDefinition" in document["spec"]["structureDefinition"]["rootComponent"]  # input untouched
    [definition] = load_text(
        yaml.safe_dump(legacy), "legacy.yaml"
    )  # what is left is a valid ResourceInterface
    assert definition.root.suspend is None and definition.root.status is not None
    assert list(definition.root.status.mappings) == ["running", "failed"]


def test_convert_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ri.yaml"
    variant = DEFINITIONS / "variants" / "rayservice-pods-under-root.yaml"
    assert main(["convert", str(variant), "--to", "resource-interface", "-o", str(out)]) == 0
    assert _document(out)["kind"] == "ResourceInterface"
    assert main(["convert", str(out), "--to", "karta"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == _document(variant)
    # The RayJob's suspend actions and Suspended mapping have no place in a ResourceInterface: said, exit 1.
    assert (
        main(["convert", str(DEFINITIONS / "rayjob.yaml"), "--to", "resource-interface", "-o", str(out)]) == 1
    )
    assert capsys.readouterr().err.splitlines() == [
        f"karta-conformance: not converted: {DEFINITIONS / 'rayjob.yaml'}: "
        "rootComponent.suspendDefinition: ResourceInterface (optimization.nvidia.com/v1alpha1) has no "
        "suspend/resume actions (Karta (run.ai/v1alpha1) only)",
        f"karta-conformance: not converted: {DEFINITIONS / 'rayjob.yaml'}: "
        "rootComponent.statusDefinition.statusMappings.suspended: ResourceInterface "
        "(optimization.nvidia.com/v1alpha1) has no Suspended status (Karta (run.ai/v1alpha1) only)",
        f"karta-conformance: not converted: {DEFINITIONS / 'rayjob.yaml'}: "
        "rootComponent.statusDefinition.statusMappings.suspending: ResourceInterface "
        "(optimization.nvidia.com/v1alpha1) has no Suspending status (Karta (run.ai/v1alpha1) only)",
    ]
    assert main(["convert", str(UPSTREAM / "rayjob.yaml"), "--to", "resource-interface"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("karta-conformance: not converted: ") for line in err)
    assert "rootComponent.suspendDefinition" in err[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert main(["convert", str(bad), "--to", "karta"]) == 2
    assert "not a Karta definition" in capsys.readouterr().err


def test_resource_interface_refuses_karta_only_fields(tmp_path: Path) -> None:
    legacy = as_resource_interface(shipped("raycluster"))
    legacy["spec"]["structureDefinition"]["rootComponent"]["suspendDefinition"] = {
        "suspendActions": [{"path": ".spec.suspend", "value": True}],
        "resumeActions": [{"path": ".spec.suspend", "value": False}],
    }
    with pytest.raises(DefinitionError) as caught:
        load_path(write(tmp_path, legacy))
    assert str(caught.value).endswith(
        "definition.yaml: ResourceInterface (optimization.nvidia.com/v1alpha1): "
        "rootComponent.suspendDefinition: unknown field (only Karta (run.ai/v1alpha1) has it)"
    )
    legacy = as_resource_interface(shipped("raycluster"))
    mappings = legacy["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"]["statusMappings"]
    mappings["resuming"] = [{"byPhase": "x"}]
    with pytest.raises(DefinitionError, match=r"statusMappings.resuming: unknown field \(only Karta"):
        load_path(write(tmp_path, legacy))


def test_karta_reads_suspend_definition_and_new_statuses() -> None:
    [definition] = load_path(UPSTREAM / "rayjob.yaml")
    suspend = definition.root.suspend
    assert suspend is not None
    assert [(a.path.text, a.value) for a in suspend.suspend_actions] == [(".spec.suspend", True)]
    assert [(a.path.text, a.value) for a in suspend.resume_actions] == [(".spec.suspend", False)]
    assert suspend.resume_actions[0].path.where == "rootComponent.suspendDefinition.resumeActions[0].path"
    assert definition.root.status is not None
    assert list(definition.root.status.mappings) == [
        "suspended",
        "running",
        "failed",
        "completed",
        "initializing",
    ]


@pytest.mark.parametrize(
    ("suspend", "message"),
    [
        (
            {"suspendActions": [{"path": ".spec.suspend", "value": True}]},
            "resumeActions: required field is missing",
        ),
        (
            {"suspendActions": [], "resumeActions": [{"path": ".a", "value": 1}]},
            "suspendActions: needs at least one",
        ),
        (
            {"suspendActions": [{"path": ".spec.suspend"}], "resumeActions": [{"path": ".a", "value": 1}]},
            "value: required",
        ),
        ({"suspendActions": [{"value": 1}], "resumeActions": [{"path": ".a", "value": 1}]}, "path: required"),
    ],
)
def test_karta_suspend_definition_schema(tmp_path: Path, suspend: dict[str, Any], message: str) -> None:
    document = shipped("raycluster")
    component(document, "raycluster")["suspendDefinition"] = suspend
    with pytest.raises(DefinitionError) as caught:
        load_path(write(tmp_path, document))
    assert "Karta (run.ai/v1alpha1): rootComponent.suspendDefinition." in str(caught.value)
    assert message in str(caught.value)


def test_read_only_jq_rule_reach_is_the_dialects() -> None:
    assert read_only_problem(".spec.a = 1") == "modifying operator '=' is not allowed"
    assert read_only_problem("[..]") == "recursive descent operator '..' is not allowed"
    assert read_only_problem(".a | del(.b)", everywhere=False) == "del function is not allowed"
    assert (
        read_only_problem("[range(3)]") == "function 'range' may produce excessive output and is not allowed"
    )
    assert read_only_problem("[range(3)]", everywhere=False) is None  # v0.0.11 does not look into arrays
    assert read_only_problem('.spec.x // 1 | . == 1 and .range != "a"') is None
    assert read_only_problem("{range: 1}") is None


@pytest.mark.parametrize(("dialect", "refused"), [("karta", True), ("resource-interface", False)])
def test_read_only_rule_per_dialect(tmp_path: Path, dialect: str, refused: bool) -> None:
    document = shipped("raycluster")
    component(document, "worker")["scaleDefinition"]["replicasPath"] = (
        "[.spec.workerGroupSpecs[] | (.x |= 1) | .replicas][]"
    )
    document, _ = convert_document(document, dialect)
    [definition] = load_path(write(tmp_path, document))
    problems = [p for p in check(definition) if p.rule == "expressions-read-only"]
    if refused:
        assert [(p.where, p.message) for p in problems] == [
            ("childComponents[worker].scaleDefinition.replicasPath", "modifying operator '|=' is not allowed")
        ]
    else:
        assert problems == []


def test_fields_no_claim_covers_are_unverified_by_name() -> None:
    [definition] = load_path(UPSTREAM / "raycluster.yaml")
    verdicts = check_definition(definition, load_fixtures(None), [])
    unverified = [(v.claim, v.subject) for v in verdicts if v.outcome is Outcome.UNVERIFIED]
    # The Suspended mapping and the suspend/resume actions of a RayCluster are shown live by the
    # raycluster-suspend feature scenario (inventory.yaml), so the static run does not call them unchecked.
    assert unverified == []
    # A live run none of whose snapshots was reached by suspending says so, by name.
    actions = {
        v.subject: v.message for v in not_checked(definition, "live", shown={"running"}, acted={"resume"})
    }
    assert set(actions) >= {"rootComponent.suspendDefinition.suspendActions"}
    assert "rootComponent.suspendDefinition.resumeActions" not in actions
    assert (
        "not checked: no snapshot of this run was reached by this change (.spec.suspend = true)"
        in (actions["rootComponent.suspendDefinition.suspendActions"])
    )
    # A live run whose snapshots never expected Suspended still says so, naming the scenario that would.
    suspended = "rootComponent.statusDefinition.statusMappings.suspended"
    live_run = {v.subject: v.message for v in not_checked(definition, "live", shown={"running"})}
    assert live_run[suspended] == (
        "not checked: no scenario phase of this run is Suspended, so the mapping is never shown to match "
        "(live, the status claim only requires it not to match elsewhere); `--features raycluster-suspend` shows it"
    )
    assert suspended not in {
        v.subject for v in not_checked(definition, "live", shown={"running", "suspended"})
    }


def test_a_status_only_a_feature_the_version_lacks_can_show_is_na_live_not_unverified() -> None:
    """RayService Suspending/Suspended exist in v1.7.0 only (rayservice-suspend): a default live run on
    v1.6.2 cannot show them, and says n/a naming why; on v1.7.0 (or version unknown) they stay unverified."""
    [definition] = load_path(DEFINITIONS / "rayservice.yaml")
    subjects = {f"rootComponent.statusDefinition.statusMappings.{s}" for s in ("suspending", "suspended")}

    def outcomes(version: str | None) -> dict[str, tuple[Outcome, str]]:
        found = not_checked(definition, "live", shown={"running", "degraded"}, version=version)
        return {v.subject: (v.outcome, v.message) for v in found if v.subject in subjects}

    older = outcomes("v1.6.2")
    assert {o for o, _ in older.values()} == {Outcome.NOT_APPLICABLE} and set(older) == subjects
    assert older["rootComponent.statusDefinition.statusMappings.suspended"][1] == (
        "n/a: KubeRay v1.6.2 has nothing that makes a RayService Suspended (rayservice-suspend: v1.7.0 only)"
    )
    for version in ("v1.7.0", None):
        assert {o for o, _ in outcomes(version).values()} == {Outcome.UNVERIFIED}, version


def test_upstream_replicas_default_misaligns_when_a_group_omits_replicas() -> None:
    """``.replicas // 1`` over several groups: jq's ``//`` drops the null outputs as soon as one group
    sets replicas, so Karta's padded reading gives the first instance another group's value."""
    from conformance.evaluate.instances import scales

    [definition] = load_path(UPSTREAM / "rayjob.yaml")
    worker = definition.component("worker")
    assert worker is not None
    root = {
        "spec": {
            "rayClusterSpec": {
                "workerGroupSpecs": [
                    {"groupName": "a", "minReplicas": 1, "maxReplicas": 4},  # not defaulted yet: no replicas
                    {"groupName": "b", "replicas": 3, "minReplicas": 3, "maxReplicas": 3},
                ]
            }
        }
    }
    readings = scales(worker, root)
    assert readings is not None
    assert readings["a"]["replicas"] == 3 and readings["b"]["replicas"] is None
    root["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] = (
        0  # KubeRay's CRD default, once admitted
    )
    readings = scales(worker, root)
    assert readings is not None
    assert (readings["a"]["replicas"], readings["b"]["replicas"]) == (0, 3)


@pytest.mark.static
def test_ungated_definitions_are_reported_but_do_not_set_the_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "--static", str(UPSTREAM)]) == 1
    capsys.readouterr()
    assert main(["check", "--static", str(DEFINITIONS), "--ungated", str(UPSTREAM)]) == 0
    out = capsys.readouterr().out
    assert "FAIL       ray-io-rayservice-v1             instance-alignment" in out
    # The gate's answer is the last line; upstream's findings are on their own line before it.
    assert out.rstrip().splitlines()[-2:] == [
        f"{UPSTREAM} (reported, not gated): 6 finding(s) in 2 of 3 definition(s)",
        f"{DEFINITIONS}: 130 passed, 0 failed, 3 n/a: gate passes",
    ]
