"""Live: each definition applied to the API server as a ``run.ai/v1alpha1`` ``Karta`` (the CRD from
the Karta repository, ``versions.yaml`` ``karta_crd``), read back, and looked up as a consumer does."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.claims.lookup import check, lookup_labels
from conformance.definition import Definition, load_path
from conformance.live.admission import Admission
from conformance.live.session import LiveSession
from conformance.tests.helpers import DEFINITIONS, shipped
from conformance.verdict import Outcome, Verdict

pytestmark = pytest.mark.live

KARTA = ("run.ai/v1alpha1", "Karta")


@pytest.fixture(scope="module")
def crd(session: LiveSession) -> Iterator[Admission]:
    """The Karta CRD installed once for the module (and deleted after it)."""
    installer = Admission(session.kube, session.progress)
    installer.prepare()
    yield installer
    installer.withdraw()
    assert session.kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "kartas.run.ai") is None


@pytest.fixture
def admission(session: LiveSession, crd: Admission) -> Iterator[Admission]:
    """Karta objects of a session of their own (their own session label) on the module's CRD."""
    admission = Admission(session.kube, session.progress)
    admission.prepare()
    assert not admission.installed_crd
    yield admission
    admission.withdraw()
    assert not admission.remaining(), "withdraw left Karta objects behind"


def _by(verdicts: list[Verdict], claim: str) -> dict[str, Verdict]:
    return {v.definition: v for v in verdicts if v.claim == claim}


def _folder(tmp_path: Path, *documents: dict[str, Any]) -> list[Definition]:
    for document in documents:
        (tmp_path / f"{document['metadata']['name']}.yaml").write_text(
            yaml.safe_dump(document, sort_keys=False)
        )
    return load_path(tmp_path)


def test_shipped_definitions_are_admitted_unchanged_and_found(admission: Admission) -> None:
    definitions = load_path(DEFINITIONS)
    admitted = admission.admit(definitions)
    verdicts = check(admitted)
    failures = [f"{v.claim} {v.definition}: {v.message}" for v in verdicts if v.outcome is not Outcome.PASS]
    assert not failures, failures
    assert admission.crd_label.startswith("run.ai/v1alpha1 CRD @ 0269900")
    for one in admitted:
        # Read back, the definition means what the file says (the CRD's defaults are the model's).
        assert one.read_back is not None
        assert one.read_back.components == one.definition.components
        assert one.read_back.pod_groups == one.definition.pod_groups
        read = admission.kube.get(*KARTA, one.object_name)
        assert read is not None
        labels = read["metadata"]["labels"]
        assert {k: labels[k] for k in lookup_labels(one.definition)} == lookup_labels(one.definition)


def test_two_kartas_with_gang_instructions_for_one_kind_hide_each_other(
    admission: Admission, tmp_path: Path
) -> None:
    twin = copy.deepcopy(shipped("rayservice"))
    twin["metadata"]["name"] = "rayservice-twin"
    admitted = admission.admit(_folder(tmp_path, shipped("rayservice"), twin))
    lookup = _by(check(admitted), "lookup")
    for name, other in [("rayservice", "rayservice-twin"), ("rayservice-twin", "rayservice")]:
        assert lookup[name].outcome is Outcome.FAIL, lookup[name].message
        assert f"kc-{admission.session}-{other} (same install set)" in lookup[name].message
        assert "a consumer refuses them all" in lookup[name].message


def test_alternatives_in_another_folder_do_not_hide_each_other(admission: Admission, tmp_path: Path) -> None:
    other = tmp_path / "alternative"
    other.mkdir()
    twin = copy.deepcopy(shipped("rayservice"))
    twin["metadata"]["name"] = "rayservice-alternative"
    definitions = load_path(DEFINITIONS / "rayservice.yaml") + _folder(other, twin)
    lookup = _by(check(admission.admit(definitions)), "lookup")
    assert {name: v.outcome for name, v in lookup.items()} == {
        "rayservice": Outcome.PASS,
        "rayservice-alternative": Outcome.PASS,
    }


def test_a_karta_already_in_the_cluster_hides_the_definition(
    admission: Admission, session: LiveSession
) -> None:
    foreign = copy.deepcopy(shipped("raycluster"))
    foreign["metadata"] = {
        "name": f"team-raycluster-{admission.session}",
        "labels": lookup_labels(load_path(DEFINITIONS / "raycluster.yaml")[0]),
    }
    session.kube.create(foreign)
    try:
        (one,) = admission.admit(load_path(DEFINITIONS / "raycluster.yaml"))
        lookup = _by(check([one]), "lookup")["raycluster"]
        assert lookup.outcome is Outcome.FAIL
        assert f"team-raycluster-{admission.session} (already in the cluster)" in lookup.message
    finally:
        session.kube.delete(*KARTA, foreign["metadata"]["name"])


def test_lookup_labels_that_disagree_with_the_root_kind_fail(admission: Admission, tmp_path: Path) -> None:
    document = shipped("rayjob")
    document["metadata"]["labels"] = {"run.ai/karta-kind": "RayCluster"}
    (one,) = admission.admit(_folder(tmp_path, document))
    lookup = _by(check([one]), "lookup")["rayjob"]
    assert lookup.outcome is Outcome.FAIL
    assert "run.ai/karta-kind='RayCluster' (the root kind says 'RayJob')" in lookup.message
    # Admitted with the labels Karta's operator stamps, so a consumer finds it by its real kind.
    read = admission.kube.get(*KARTA, one.object_name)
    assert read is not None and read["metadata"]["labels"]["run.ai/karta-kind"] == "RayJob"


def test_the_api_server_refuses_what_the_crd_does_not_allow(admission: Admission, tmp_path: Path) -> None:
    """A pod group listing one member twice: ``members`` is a list-map keyed by componentName."""
    document = shipped("raycluster")
    group = document["spec"]["optimizationInstructions"]["gangScheduling"]["podGroups"][0]
    group["members"].append(copy.deepcopy(group["members"][0]))
    (one,) = admission.admit(_folder(tmp_path, document))
    admitted = _by(check([one]), "admitted")["raycluster"]
    assert admitted.outcome is Outcome.FAIL
    assert "the API server refused it as a Karta" in admitted.message
    assert "Duplicate value" in admitted.message
