"""Karta as the oracle: Karta's own Go packages (karta-oracle, built from the pinned Karta) read the
fixtures, and every reading must equal the harness's; one-change definitions where Karta v0.0.11
and the harness are known to differ must each be named, with both values.

The live suite's Snapshots are compared in test_live_conformance.py (same ``compare``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import conformance.oracle.compare as compare_module
from conformance import cli
from conformance.definition import Definition, load_path
from conformance.errors import EnvironmentProblem
from conformance.fixtures import load_fixtures
from conformance.oracle import build
from conformance.oracle.compare import OracleResult, compare, fixture_snapshots
from conformance.snapshot import Expectation, Snapshot
from conformance.tests.helpers import DEFINITIONS

DIVERGENT = Path(__file__).parents[1] / "data" / "divergent"


@pytest.fixture(scope="module")
def oracle() -> build.Oracle:
    return build.ensure()


def _shipped() -> list[Definition]:
    return load_path(DEFINITIONS) + load_path(DEFINITIONS / "variants")


def _disagreements(result: OracleResult) -> list[str]:
    return [f"{v.outcome} [{v.phase}] {v.line()}" for v in result.verdicts if not v.ok]


def _fixtures_with_status() -> list[Snapshot]:
    """The fixtures, plus the RayService fixture with a Ready status (conditions to read)."""
    snapshots = fixture_snapshots(load_fixtures())
    (service,) = [s for s in snapshots if s.root["kind"] == "RayService"]
    ready = copy.deepcopy(service)
    ready.phase += "+ready"
    ready.root["status"] = {
        "conditions": [{"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints"}],
        "activeServiceStatus": {
            "rayClusterName": "c1",
            "applicationStatuses": {"app": {"status": "RUNNING"}},
        },
    }
    return [*snapshots, ready]


@pytest.mark.static
def test_karta_agrees_with_the_harness_on_the_fixtures(oracle: build.Oracle) -> None:
    result = compare(_shipped(), _fixtures_with_status(), oracle=oracle)
    assert not _disagreements(result), "\n".join(_disagreements(result))
    # 4 definitions; each fixture of its root kind: status (3 fields) and 3 fields per component
    assert result.compared >= 60
    assert result.disagreements == 0
    assert {v.claim for v in result.verdicts} == {"oracle"}


@pytest.mark.static
@pytest.mark.parametrize(
    ("case", "subject", "karta", "harness"),
    [
        (
            "constant-min-replicas",
            "component worker[cpu-workers]: minReplicas",
            "null",
            "1",
        ),
        (
            "constant-pod-template",
            "component worker[cpu-workers]: pod_template",
            "error: instance ids count (2) does not match results count (1)",
            '{"annotations": {"karta.conformance/fixture": "rayservice"}',
        ),
        ("repeated-instance-ids", "component worker: instance_ids", '["workers", "workers"]', "error:"),
        (
            "conditions-objects",
            "status: matched",
            "error: failed to extract status: failed to extract conditions",
            '["running"]',
        ),
        ("numeric-phase", "status: phase", "error: failed to extract status: failed to extract phase", '"2"'),
        (
            "quoted-expected-result",
            "status: matched",
            "error: failed to extract status: failed to match status",
            '["initializing"]',
        ),
        (
            "missing-pod-template",
            "component head: pod_template",
            '{"annotations": {}, "containers": [], "labels": {}, "schedulerName": ""}',
            "null",
        ),
    ],
)
def test_the_harness_reads_each_known_divergence_as_karta_does(
    oracle: build.Oracle, case: str, subject: str, karta: str, harness: str
) -> None:
    """Each case was a disagreement before the evaluator followed Karta (``harness`` is what it
    read then); now the oracle compares the item and finds none."""
    (definition,) = load_path(DIVERGENT / f"{case}.yaml")
    result = compare([definition], _fixtures_with_status(), oracle=oracle)
    assert result.compared > 0
    assert _disagreements(result) == [], f"{case} ({subject}): Karta {karta!r}, harness once {harness!r}"


@pytest.mark.static
def test_cli_static_oracle_counts_and_exits_on_disagreement(
    oracle: build.Oracle, capsys: pytest.CaptureFixture[str]
) -> None:
    agree = cli.main(
        ["check", "--static", str(DEFINITIONS), "--kuberay-version", "v1.6.2", "--oracle", "karta"]
    )
    out = capsys.readouterr().out
    assert agree == 0, out
    assert f"oracle Karta {oracle.version}" in out and "0 disagreement(s)" in out
    # A harness that read every phase as "Running" (the leniency the oracle exists to catch):
    real = compare_module.python_status

    def lenient(definition: Any, root: Any) -> Any:
        return {**real(definition, root), "phase": "Running"}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compare_module, "python_status", lenient)
        differ = cli.main(
            [
                "check",
                "--static",
                str(DEFINITIONS / "rayjob.yaml"),
                "--kuberay-version",
                "v1.6.2",
                "--oracle",
                "karta",
            ]
        )
    out = capsys.readouterr().out
    assert differ == 1
    assert "status: phase: Karta reads" in out and 'the harness reads "Running"' in out


@pytest.mark.static
def test_cli_oracle_on_saved_snapshots(
    oracle: build.Oracle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index, snapshot in enumerate(_fixtures_with_status()):
        snapshot.save(tmp_path / f"{index:02d}.json")
    code = cli.main(["check", "--snapshots", str(tmp_path), str(DEFINITIONS), "--oracle", "karta"])
    out = capsys.readouterr().out
    assert "karta-conformance on saved snapshots: 5 Snapshot(s)" in out  # one per fixture
    assert "0 disagreement(s)" in out
    # the live claims on Pod-less fixtures fail (no Pods, no expected statuses): exit 1 for them
    assert code == 1


@pytest.mark.unit
def test_no_karta_source_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(build, "_from_proxy", lambda module, version: (None, "403 Forbidden"))
    with pytest.raises(EnvironmentProblem) as raised:
        build.locate_source(tmp_path / "nowhere")
    message = str(raised.value)
    assert "403 Forbidden" in message and "KARTA_SOURCE" in message and "\n" not in message
    code = cli.main(
        ["check", "--static", str(DEFINITIONS), "--oracle", "karta", "--karta-source", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and f"{tmp_path} holds no Karta source" in err


@pytest.mark.unit
def test_a_folder_of_another_module_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "_from_proxy", lambda module, version: (None, "403 Forbidden"))
    (tmp_path / "go.mod").write_text("module example.com/other\n")
    with pytest.raises(EnvironmentProblem, match=r"not the github\.com/run-ai/karta module"):
        build.locate_source(tmp_path)


@pytest.mark.unit
def test_the_cache_key_follows_the_karta_source(tmp_path: Path) -> None:
    source = tmp_path / "karta"
    (source / "pkg" / "a").mkdir(parents=True)
    (source / "go.mod").write_text("module github.com/run-ai/karta\n")
    (source / "pkg" / "a" / "a.go").write_text("package a\n")
    before = build._digest(build._karta_files(source), source)
    (source / "pkg" / "a" / "a.go").write_text("package a // changed\n")
    assert build._digest(build._karta_files(source), source) != before


def test_objects_inside_a_workload_are_read_as_snapshots_of_their_own() -> None:
    """A RayService's RayCluster is a RayCluster: the RayCluster definition reads it, with the Pods
    it owns and nothing else; a definition set without a RayCluster definition adds nothing."""
    from conformance.oracle.compare import nested_snapshots

    def obj(
        kind: str, name: str, uid: str, owner: str | None = None, api: str = "ray.io/v1"
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "uid": uid, "namespace": "n"}
        if owner:
            meta["ownerReferences"] = [{"uid": owner, "kind": "x", "name": "x"}]
        return {"apiVersion": api, "kind": kind, "metadata": meta}

    service = obj("RayService", "svc", "s")
    active, pending = obj("RayCluster", "svc-a", "a", "s"), obj("RayCluster", "svc-b", "b", "s")
    pod_a, pod_b = obj("Pod", "pa", "pa", "a", "v1"), obj("Pod", "pb", "pb", "b", "v1")
    snapshot = Snapshot(
        scenario="rayservice",
        phase="upgrade-pending",
        namespace="n",
        root=service,
        tree=[active, pending, pod_a, pod_b],
        namespace_pods=[pod_a, pod_b],
        events=[],
        served=[],
        expect=Expectation(statuses=["running"]),
    )
    (raycluster,) = load_path(DEFINITIONS / "raycluster.yaml")
    nested = nested_snapshots([raycluster], [snapshot])
    assert [
        (s.phase, s.root["metadata"]["name"], [p["metadata"]["name"] for p in s.pods()]) for s in nested
    ] == [
        ("upgrade-pending > RayCluster/svc-a", "svc-a", ["pa"]),
        ("upgrade-pending > RayCluster/svc-b", "svc-b", ["pb"]),
    ]
    assert all(s.expect.statuses == [] for s in nested)
    (rayservice,) = load_path(DEFINITIONS / "rayservice.yaml")
    assert nested_snapshots([rayservice], [snapshot]) == []


def test_a_nil_instance_list_from_karta_reads_as_no_instance() -> None:
    """Seen on the rayjob-cluster-selector snapshots: Karta's GetInstanceIds of a path with no output is a Go
    nil slice (JSON null), the harness's is []: the same reading (no instance), not a disagreement."""
    from conformance.oracle.compare import karta_component

    read = {"instance_ids": {"value": None}, "scales": {"value": None}, "pod_templates": {"value": None}}
    assert karta_component(read)["instance_ids"] == []
    assert karta_component({**read, "instance_ids": {"value": ["a"]}})["instance_ids"] == ["a"]
    assert (
        karta_component({**read, "instance_ids": {"error": "boom"}})["instance_ids"].__class__.__name__
        == "Failed"
    )
