"""The admission claims (``admitted``, ``lookup``) on recorded admissions: pure, no cluster
(``tests/live/test_live_admission.py`` makes the same readings on a real API server)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.claims.lookup import Admitted, KartaSeen, check, dropped_paths, lookup_labels
from conformance.definition import Definition, load_path
from conformance.tests.helpers import DEFINITIONS
from conformance.verdict import Outcome, Verdict

pytestmark = pytest.mark.unit

RAYSERVICE = ("ray.io", "v1", "RayService")


def _definition(name: str = "rayservice") -> Definition:
    (definition,) = load_path(DEFINITIONS / f"{name}.yaml")
    return definition


def _seen(name: str, install_set: str | None = "definitions", **changes: object) -> KartaSeen:
    seen = KartaSeen(
        name=name,
        labels={},
        root_gvk=RAYSERVICE,
        gang=True,
        deleting=False,
        empty=False,
        invalid=None,
        install_set=install_set,
    )
    return replace(seen, **changes)  # type: ignore[arg-type]


def _admitted(*listed: KartaSeen, **changes: object) -> Admitted:
    definition = _definition()
    one = Admitted(
        definition=definition,
        object_name="kc-s1-rayservice",
        install_set="definitions",
        read_back=definition,
        listed=(_seen("kc-s1-rayservice"), *listed),
        crd="run.ai/v1alpha1 CRD @ 0269900",
    )
    return replace(one, **changes)  # type: ignore[arg-type]


def _verdict(verdicts: list[Verdict], claim: str) -> Verdict:
    (found,) = [v for v in verdicts if v.claim == claim]
    return found


def test_the_only_karta_with_gang_instructions_for_its_gvk_is_found() -> None:
    verdicts = check([_admitted()])
    assert _verdict(verdicts, "admitted").outcome is Outcome.PASS
    lookup = _verdict(verdicts, "lookup")
    assert lookup.outcome is Outcome.PASS, lookup.message
    assert lookup.evidence["selector"] == (
        "run.ai/karta-group=ray.io,run.ai/karta-version=v1,run.ai/karta-kind=RayService"
    )


def test_a_second_karta_with_gang_instructions_in_the_same_install_set_hides_both() -> None:
    lookup = _verdict(check([_admitted(_seen("kc-s1-rayservice-copy"))]), "lookup")
    assert lookup.outcome is Outcome.FAIL
    assert "2 Kartas with gang instructions for ray.io/v1 RayService" in lookup.message
    assert "kc-s1-rayservice-copy (same install set)" in lookup.message


def test_a_karta_already_in_the_cluster_counts_against_the_definition() -> None:
    lookup = _verdict(check([_admitted(_seen("team-rayservice", install_set=None))]), "lookup")
    assert lookup.outcome is Outcome.FAIL
    assert "team-rayservice (already in the cluster)" in lookup.message


@pytest.mark.parametrize(
    "other",
    [
        _seen("alternative", install_set="definitions/upstream"),  # another folder: an alternative
        _seen("no-gang", gang=False),
        _seen("going", deleting=True),
        _seen("empty", empty=True),
        _seen("broken", invalid="childComponents[x].ownerRef: no such component"),
        _seen("other-kind", root_gvk=("ray.io", "v1", "RayCluster")),  # labels lie; its root kind is not this
    ],
    ids=lambda seen: seen.name,
)
def test_kartas_a_consumer_skips_do_not_count(other: KartaSeen) -> None:
    lookup = _verdict(check([_admitted(other)]), "lookup")
    assert lookup.outcome is Outcome.PASS, lookup.message
    assert lookup.evidence["candidates"] == ["kc-s1-rayservice"]


def test_lookup_labels_in_the_file_that_disagree_with_the_root_kind_fail() -> None:
    definition = replace(_definition(), labels={"run.ai/karta-kind": "RaySvc"})
    lookup = _verdict(check([_admitted(definition=definition)]), "lookup")
    assert lookup.outcome is Outcome.FAIL
    assert "run.ai/karta-kind='RaySvc' (the root kind says 'RayService')" in lookup.message


def test_matching_labels_in_the_file_are_fine() -> None:
    definition = _definition()
    labelled = replace(definition, labels=lookup_labels(definition))
    assert _verdict(check([_admitted(definition=labelled)]), "lookup").outcome is Outcome.PASS


def test_a_definition_without_gang_instructions_is_not_applicable_to_the_grouper() -> None:
    definition = replace(_definition(), pod_groups=())
    lookup = _verdict(check([_admitted(definition=definition)]), "lookup")
    assert lookup.outcome is Outcome.NOT_APPLICABLE
    assert "no gang instructions" in lookup.message


def test_invalid_as_read_back_is_not_used() -> None:
    mine = _seen("kc-s1-rayservice", invalid="rootComponent: no kind")
    verdicts = check([_admitted(listed=(mine,), read_back_error="rootComponent: no kind")])
    assert _verdict(verdicts, "admitted").outcome is Outcome.FAIL
    lookup = _verdict(verdicts, "lookup")
    assert lookup.outcome is Outcome.FAIL
    assert "invalid as read back (rootComponent: no kind)" in lookup.message


def test_refused_by_the_api_server_fails_both_claims() -> None:
    verdicts = check([_admitted(refused="422 Unprocessable Entity: spec.x: Invalid value", listed=())])
    admitted = _verdict(verdicts, "admitted")
    assert admitted.outcome is Outcome.FAIL
    assert "refused it as a Karta (run.ai/v1alpha1 CRD @ 0269900): 422" in admitted.message
    assert _verdict(verdicts, "lookup").outcome is Outcome.FAIL


def test_fields_the_api_server_dropped_fail_admission_by_path() -> None:
    admitted = _verdict(
        check([_admitted(dropped=("spec.structureDefinition.rootComponent.extra",))]), "admitted"
    )
    assert admitted.outcome is Outcome.FAIL
    assert "dropped spec.structureDefinition.rootComponent.extra" in admitted.message


def test_dropped_paths_names_what_was_sent_and_not_read_back() -> None:
    sent = {"a": {"b": 1, "c": [1, {"d": 2}]}, "e": "x"}
    assert dropped_paths(sent, sent) == []
    assert dropped_paths(sent, {"a": {"b": 1, "c": [1, {}]}, "e": "x"}) == ["spec.a.c[1].d"]
    assert dropped_paths(sent, {"a": {"b": 2, "c": [1]}}) == ["spec.a.b", "spec.a.c", "spec.e"]
    # Defaults the API server adds are not losses.
    assert dropped_paths({"a": {}}, {"a": {"typeFieldName": "type"}}) == []
