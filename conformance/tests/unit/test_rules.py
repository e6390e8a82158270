"""Karta's validation rules, each with broken definitions whose message is asserted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.definition import load_path
from conformance.definition.rules import check
from conformance.tests.helpers import broken, component

pytestmark = pytest.mark.unit

Doc = dict[str, Any]


def _structure(d: Doc) -> Doc:
    result: Doc = d["spec"]["structureDefinition"]
    return result


def _jq_syntax(d: Doc) -> None:
    component(d, "worker")["podSelector"]["componentTypeSelector"]["keyPath"] = (
        '.metadata.labels["ray.io/node-type"'
    )


def _dangling_owner(d: Doc) -> None:
    component(d, "head")["ownerRef"] = "rayclustr"


def _cycle(d: Doc) -> None:
    component(d, "raycluster")["ownerRef"] = "head"


def _self_owner(d: Doc) -> None:
    component(d, "worker")["ownerRef"] = "worker"


def _duplicate_name(d: Doc) -> None:
    component(d, "worker")["name"] = "head"


def _root_owner(d: Doc) -> None:
    _structure(d)["rootComponent"]["ownerRef"] = "head"


def _child_without_owner(d: Doc) -> None:
    del component(d, "worker")["ownerRef"]


def _root_without_group(d: Doc) -> None:
    _structure(d)["rootComponent"]["kind"]["group"] = ""


def _root_without_status(d: Doc) -> None:
    del _structure(d)["rootComponent"]["statusDefinition"]


def _two_spec_kinds(d: Doc) -> None:
    component(d, "head")["specDefinition"]["podSpecPath"] = (
        ".spec.rayClusterConfig.headGroupSpec.template.spec"
    )


def _metadata_without_pod_spec(d: Doc) -> None:
    component(d, "head")["specDefinition"]["metadataPath"] = (
        ".spec.rayClusterConfig.headGroupSpec.template.metadata"
    )


def _instance_path_without_selector(d: Doc) -> None:
    del component(d, "worker")["podSelector"]["componentInstanceSelector"]


def _selector_without_instance_path(d: Doc) -> None:
    del component(d, "worker")["instanceIdPath"]


def _missing_group_member(d: Doc) -> None:
    d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"][0]["componentName"] = (
        "workers"
    )


def _bad_filter(d: Doc) -> None:
    d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]["members"][0]["filters"] = [
        "select("
    ]


def _bad_status_expression(d: Doc) -> None:
    running = _structure(d)["rootComponent"]["statusDefinition"]["statusMappings"]["running"][0]
    running["byExpression"]["expression"] = "(.status.conditions"


def _duplicate_pod_group(d: Doc) -> None:
    groups = d["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"]
    groups.append(dict(groups[0]))


BROKEN: list[tuple[str, Callable[[Doc], None], str, str]] = [
    (
        "jq syntax error",
        _jq_syntax,
        "childComponents[worker].podSelector.componentTypeSelector.keyPath",
        "jq: error",
    ),
    (
        "dangling ownerRef",
        _dangling_owner,
        "childComponents[head].ownerRef",
        "ownerRef 'rayclustr' names no component",
    ),
    (
        "ownership cycle",
        _cycle,
        "childComponents[raycluster].ownerRef",
        "ownership cycle: raycluster -> head -> raycluster",
    ),
    ("owns itself", _self_owner, "childComponents[worker].ownerRef", "a component cannot own itself"),
    ("duplicate name", _duplicate_name, "childComponents[head].name", "component name 'head' is used twice"),
    (
        "root with ownerRef",
        _root_owner,
        "rootComponent.ownerRef",
        "the root component must not have an ownerRef",
    ),
    (
        "child without ownerRef",
        _child_without_owner,
        "childComponents[worker].ownerRef",
        "a child component needs an ownerRef",
    ),
    ("root without group", _root_without_group, "rootComponent.kind", "the root component needs a full kind"),
    (
        "root without status",
        _root_without_status,
        "rootComponent.statusDefinition",
        "needs a statusDefinition",
    ),
    ("two spec definitions", _two_spec_kinds, "childComponents[head].specDefinition", "set at most one of"),
    (
        "metadataPath alone",
        _metadata_without_pod_spec,
        "childComponents[head].specDefinition.metadataPath",
        "goes with podSpecPath",
    ),
    (
        "instanceIdPath without selector",
        _instance_path_without_selector,
        "childComponents[worker].podSelector.componentInstanceSelector",
        "componentInstanceSelector is required",
    ),
    (
        "selector without instanceIdPath",
        _selector_without_instance_path,
        "childComponents[worker].instanceIdPath",
        "instanceIdPath is required",
    ),
    (
        "pod group member missing",
        _missing_group_member,
        "optimizationInstructions.gangScheduling.podGroups[raycluster].members[workers].componentName",
        "'workers' names no component",
    ),
    (
        "filter does not compile",
        _bad_filter,
        "optimizationInstructions.gangScheduling.podGroups[raycluster].members[raycluster].filters[0]",
        "jq: error",
    ),
    (
        "status expression does not compile",
        _bad_status_expression,
        "rootComponent.statusDefinition.statusMappings.running[0].byExpression.expression",
        "jq: error",
    ),
    (
        "pod group twice",
        _duplicate_pod_group,
        "optimizationInstructions.gangScheduling.podGroups[raycluster].name",
        "defined twice",
    ),
]


@pytest.mark.parametrize(("label", "change", "where", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_definition_is_rejected_with_its_field(
    tmp_path: Path, label: str, change: Callable[[Doc], None], where: str, message: str
) -> None:
    (definition,) = load_path(broken(tmp_path, "rayservice", change))
    problems = check(definition)
    assert problems, f"{label}: no problem found"
    assert any(p.where == where and message in p.message for p in problems), [
        f"{p.where}: {p.message}" for p in problems
    ]
    for problem in problems:
        assert "\n" not in problem.message


@pytest.mark.parametrize("name", ["raycluster", "rayjob", "rayservice"])
def test_shipped_definitions_break_no_rule(tmp_path: Path, name: str) -> None:
    (definition,) = load_path(broken(tmp_path, name, lambda d: None))
    assert check(definition) == []


def test_every_shipped_expression_compiles() -> None:
    from conformance.jq import expr as jqexpr
    from conformance.tests.helpers import DEFINITIONS

    for definition in load_path(DEFINITIONS) + load_path(DEFINITIONS / "variants"):
        for expression in definition.expressions():
            assert jqexpr.compile_check(expression.text) is None, expression.where
