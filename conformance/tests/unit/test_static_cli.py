"""`karta-conformance check --static`: the shipped definitions pass; broken ones fail with one line each.

These need the KubeRay CRDs of every supported version, taken from the operator's Go
module (so the Go toolchain and the module proxy); without them they fail with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.tests.helpers import DEFINITIONS, broken, component

pytestmark = pytest.mark.static


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", "--static", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_shipped_definitions_pass(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, _ = _run(capsys, str(DEFINITIONS), str(DEFINITIONS / "variants"), "--json", str(report))
    assert code == 0, out
    verdicts = json.loads(report.read_text())["verdicts"]
    checked = {v["definition"] for v in verdicts}
    assert checked == {"raycluster", "raycronjob", "rayjob", "rayservice", "rayservice-pods-under-root"}
    # every supported version whose CRDs this machine can get was really checked
    schema_passes = {v["phase"] for v in verdicts if v["claim"] == "schema" and v["outcome"] == "pass"}
    assert "static:kuberay-v1.6.2" in schema_passes
    # RayCronJob is served from v1.6.2 on: n/a before (the inventory's feature raycronjob), checked after
    cron = {
        v["phase"]: v["outcome"]
        for v in verdicts
        if (v["definition"], v["claim"]) == ("raycronjob", "schema")
    }
    assert {cron[f"static:kuberay-{v}"] for v in ("v1.3.2", "v1.4.2", "v1.5.1")} == {"n/a"}
    assert cron["static:kuberay-v1.6.2"] == "pass"
    for outcome in ("fail", "error"):
        assert not [v for v in verdicts if v["outcome"] == outcome]


def _jq_syntax(d: dict[str, Any]) -> None:
    component(d, "worker")["podSelector"]["componentTypeSelector"]["keyPath"] = ".metadata.labels[" + '"x"'


def _dangling(d: dict[str, Any]) -> None:
    component(d, "head")["ownerRef"] = "nobody"


def _cycle(d: dict[str, Any]) -> None:
    component(d, "raycluster")["ownerRef"] = "worker"


def _instance_outside_spec(d: dict[str, Any]) -> None:
    component(d, "worker")["instanceIdPath"] = ".status.activeServiceStatus.rayClusterName"


def _absent_from_crd(d: dict[str, Any]) -> None:
    component(d, "head")["specDefinition"]["podTemplateSpecPath"] = (
        ".spec.rayClusterConfig.headGroupSpec.templat"
    )


def _misaligned(d: dict[str, Any]) -> None:
    component(d, "worker")["specDefinition"]["podTemplateSpecPath"] = (
        ".spec.rayClusterConfig.workerGroupSpecs[0].template, .spec.rayClusterConfig.workerGroupSpecs[].template"
    )


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "jq syntax error",
        _jq_syntax,
        "childComponents[worker].podSelector.componentTypeSelector.keyPath: jq: error",
    ),
    ("dangling ownerRef", _dangling, "childComponents[head].ownerRef: ownerRef 'nobody' names no component"),
    ("ownership cycle", _cycle, "childComponents[raycluster].ownerRef: ownership cycle"),
    (
        "instanceIdPath outside spec",
        _instance_outside_spec,
        "childComponents[worker].instanceIdPath: instanceIdPath reads .status.activeServiceStatus.rayClusterName",
    ),
    (
        "path absent from the CRD",
        _absent_from_crd,
        "childComponents[head].specDefinition.podTemplateSpecPath: .spec.rayClusterConfig.headGroupSpec.templat "
        "is not in the schema",
    ),
    (
        "per-instance count differs",
        _misaligned,
        "childComponents[worker].specDefinition.podTemplateSpecPath: yielded 3 output(s) for 2 instance(s)",
    ),
]


@pytest.mark.parametrize(("label", "change", "line"), CASES, ids=[c[0] for c in CASES])
def test_broken_definition_exits_1_naming_file_component_and_field(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    label: str,
    change: Callable[[dict[str, Any]], None],
    line: str,
) -> None:
    path = broken(tmp_path, "rayservice", change)
    code, out, err = _run(capsys, str(path), "--kuberay-version", "v1.6.2")
    assert code == 1, f"{label}: {out}{err}"
    wanted = f"{path}: {line}"
    assert any(wanted in row for row in out.splitlines()), f"{label}: no line with {wanted!r} in\n{out}"


def test_unparsable_definition_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: [")
    code, _out, err = _run(capsys, str(path))
    assert code == 2
    assert err.strip().splitlines() == [
        f"karta-conformance: {path}: not valid YAML at line 1, column 14: "
        "expected the node content, but found '<stream end>'"
    ] or (err.count("\n") == 1 and str(path) in err)
    assert "Traceback" not in err


def test_unknown_kuberay_version_exits_2_naming_the_supported_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _run(capsys, str(DEFINITIONS), "--kuberay-version", "v9.9.9")
    assert code == 2
    assert "unknown KubeRay version 'v9.9.9'; supported: v1.3.2, v1.4.2, v1.5.1, v1.6.2, v1.7.0" in err


def test_non_definition_document_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.tests.helpers import FIXTURES

    code, _, err = _run(capsys, str(FIXTURES / "raycluster.yaml"))
    assert code == 2 and "not a Karta definition" in err
