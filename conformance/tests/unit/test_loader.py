"""The loader: structural errors are one line naming file and field (exit 2 material)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.definition import load_path
from conformance.definition.loader import load_text
from conformance.errors import DefinitionError
from conformance.tests.helpers import DEFINITIONS, broken, component

pytestmark = pytest.mark.unit


def test_shipped_definitions_load() -> None:
    names = sorted(d.name for d in load_path(DEFINITIONS))
    assert names == ["raycluster", "raycronjob", "rayjob", "rayservice"]
    variants = load_path(DEFINITIONS / "variants")
    assert [d.name for d in variants] == ["rayservice-pods-under-root"]


def test_component_locations_are_relative_to_structure_definition() -> None:
    (definition,) = [d for d in load_path(DEFINITIONS) if d.name == "rayservice"]
    worker = definition.component("worker")
    assert worker is not None and worker.pod_selector is not None
    assert worker.pod_selector.component_type is not None
    assert (
        worker.pod_selector.component_type.key_path.where
        == "childComponents[worker].podSelector.componentTypeSelector.keyPath"
    )
    assert worker.where == "childComponents[worker]"
    assert definition.root.where == "rootComponent"


def test_multi_document_file(tmp_path: Path) -> None:
    text = (
        (DEFINITIONS / "raycluster.yaml").read_text() + "\n---\n" + (DEFINITIONS / "rayjob.yaml").read_text()
    )
    path = tmp_path / "both.yaml"
    path.write_text(text)
    definitions = load_path(path)
    assert [d.name for d in definitions] == ["raycluster", "rayjob"]
    assert definitions[1].source == f"{path}#2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [", "bad.yaml: not valid YAML at line"),
        ("", "bad.yaml: no YAML documents"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "bad.yaml: not a Karta definition"),
        ("- 1\n- 2\n", "bad.yaml: document: expected a mapping, got a list"),
        (
            "apiVersion: optimization.nvidia.com/v1alpha1\nkind: ResourceInterface\nmetadata: {name: x}\n",
            "bad.yaml: ResourceInterface (optimization.nvidia.com/v1alpha1): spec: required field is missing",
        ),
        (
            "apiVersion: run.ai/v1alpha1\nkind: Karta\nmetadata: {name: x}\n",
            "bad.yaml: Karta (run.ai/v1alpha1): spec: required field is missing",
        ),
    ],
)
def test_unreadable_documents(text: str, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, "bad.yaml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_unknown_field_names_component_and_field(tmp_path: Path) -> None:
    path = broken(tmp_path, "rayservice", lambda d: component(d, "worker")["podSelector"].update(typo=1))
    with pytest.raises(
        DefinitionError,
        match=r"rayservice.yaml: Karta \(run.ai/v1alpha1\): childComponents\[worker\].podSelector.typo: unknown field",
    ):
        load_path(path)


def test_wrong_type_names_component_and_field(tmp_path: Path) -> None:
    path = broken(
        tmp_path, "rayservice", lambda d: component(d, "head")["scaleDefinition"].update(replicasPath=1)
    )
    with pytest.raises(
        DefinitionError,
        match=r"childComponents\[head\].scaleDefinition.replicasPath: expected a string, got a number",
    ):
        load_path(path)


def test_matcher_needs_a_criterion(tmp_path: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["spec"]["structureDefinition"]["rootComponent"]["statusDefinition"]["statusMappings"]["running"] = [
            {}
        ]

    path = broken(tmp_path, "raycluster", change)
    with pytest.raises(
        DefinitionError, match=r"statusMappings.running\[0\]: a matcher needs at least one of"
    ):
        load_path(path)


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="no such file or folder"):
        load_path(tmp_path / "nope.yaml")
    with pytest.raises(DefinitionError, match=r"no \.yaml or \.yml files"):
        load_path(tmp_path)


def test_duplicate_definition_names(tmp_path: Path) -> None:
    from conformance.definition import load_definitions

    first = broken(tmp_path, "raycluster", lambda d: None, "a.yaml")
    second = broken(tmp_path, "raycluster", lambda d: None, "b.yaml")
    with pytest.raises(DefinitionError, match="'raycluster' is also defined in"):
        load_definitions([first, second])
