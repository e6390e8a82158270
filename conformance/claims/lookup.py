"""Admission claims: each definition as the API server keeps it, and as a consumer finds it (pure).

The live session applies every definition under test to the cluster as a ``run.ai/v1alpha1``
``Karta`` (the CRD taken from the Karta repository, ``versions.yaml`` ``karta_crd``) and reads it
back (:mod:`conformance.live.admission`). From what it saw, for every definition:

- ``admitted``: the API server accepted the object and kept every field of its ``spec``
  (a field the CRD does not know is pruned: no consumer ever reads it);
- ``lookup``: a consumer finds it the way KAI Scheduler's pod-grouper does: it lists ``Karta``
  objects by the labels ``run.ai/karta-group``, ``run.ai/karta-version`` and ``run.ai/karta-kind``
  of the workload's GVK, keeps those whose root kind is that GVK, not being deleted, not empty,
  with gang instructions and valid, and refuses every one of them when more than one is left.
  Karta's operator stamps the three labels from the root kind (the harness does the same when
  applying); labels written in the file that disagree with the root kind are a FAIL of their own,
  since a cluster without Karta's operator indexes the definition under them.

Definitions in one folder are one install set (applied together, like ``definitions/``);
definitions of another folder are alternatives and never count against each other. A ``Karta``
already in the cluster that this session did not apply counts against every definition of its GVK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.claims import names
from conformance.definition.dialects.karta import LABEL_GROUP, LABEL_KIND, LABEL_VERSION, LOOKUP_LABELS
from conformance.definition.model import Definition
from conformance.verdict import Outcome, Verdict, verdict_for

PHASE = "admission"


@dataclass(frozen=True)
class KartaSeen:
    """One ``Karta`` object as a consumer's List returns it."""

    name: str
    labels: Mapping[str, str]
    root_gvk: tuple[str, str, str] | None  # (group, version, kind) of spec.structureDefinition.rootComponent
    gang: bool  # optimizationInstructions.gangScheduling has a podGroups entry (or a podGroup)
    deleting: bool
    empty: bool  # no root component name and no child components
    invalid: str | None  # why the object fails Karta's validation (None: valid)
    install_set: str | None  # this session's install set it belongs to; None: not applied by this session


@dataclass(frozen=True)
class Admitted:
    """What happened to one definition when it was applied as a ``Karta``."""

    definition: Definition  # as written in its file
    object_name: str
    install_set: str
    refused: str | None = None  # the API server's reason, when it refused the object
    dropped: tuple[str, ...] = ()  # spec paths sent and not read back (pruned by the structural schema)
    read_back: Definition | None = None  # the object as read back, loaded as a definition
    read_back_error: str | None = None  # why the object read back is not a valid definition
    listed: tuple[KartaSeen, ...] = ()  # the consumer's List for the definition's root GVK
    crd: str = ""  # which Karta CRD admitted it ("run.ai/v1alpha1 @ 0269900", or "the cluster's own")


def lookup_labels(definition: Definition) -> dict[str, str]:
    """The three labels Karta's operator stamps from the root component's kind (none without one)."""
    kind = definition.root.kind
    if kind is None:
        return {}
    return {LABEL_GROUP: kind.group, LABEL_VERSION: kind.version, LABEL_KIND: kind.kind}


def label_selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{key}={labels[key]}" for key in LOOKUP_LABELS if key in labels)


def dropped_paths(sent: Any, read: Any, path: str = "spec") -> list[str]:
    """Paths present in ``sent`` and missing or different in ``read`` (what admission lost)."""
    if isinstance(sent, Mapping):
        if not isinstance(read, Mapping):
            return [path]
        lost: list[str] = []
        for key, value in sent.items():
            if key not in read:
                lost.append(f"{path}.{key}")
            else:
                lost.extend(dropped_paths(value, read[key], f"{path}.{key}"))
        return lost
    if isinstance(sent, list):
        if not isinstance(read, list) or len(read) != len(sent):
            return [path]
        lost = []
        for index, (one, other) in enumerate(zip(sent, read, strict=True)):
            lost.extend(dropped_paths(one, other, f"{path}[{index}]"))
        return lost
    return [] if sent == read else [path]


def check(admitted: Iterable[Admitted]) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for one in admitted:
        verdicts.append(_admitted(one))
        verdicts.append(_lookup(one))
    return verdicts


def _admitted(one: Admitted) -> Verdict:
    definition = one.definition
    evidence: dict[str, Any] = {"object": one.object_name, "crd": one.crd}
    if one.refused is not None:
        message = f"the API server refused it as a Karta ({one.crd}): {one.refused}"
        return verdict_for(definition, names.ADMITTED, "", PHASE, Outcome.FAIL, message, evidence=evidence)
    if one.dropped:
        shown = ", ".join(one.dropped[:5]) + (
            f" (+{len(one.dropped) - 5} more)" if len(one.dropped) > 5 else ""
        )
        message = (
            f"the API server dropped {shown} when admitting it as a Karta ({one.crd}): "
            "no consumer ever reads these fields"
        )
        evidence["dropped"] = list(one.dropped)
        return verdict_for(definition, names.ADMITTED, "", PHASE, Outcome.FAIL, message, evidence=evidence)
    if one.read_back_error is not None:
        message = f"the Karta as read back is not a valid definition: {one.read_back_error}"
        return verdict_for(definition, names.ADMITTED, "", PHASE, Outcome.FAIL, message, evidence=evidence)
    message = f"admitted as Karta {one.object_name} ({one.crd}) and read back with every spec field kept"
    return verdict_for(definition, names.ADMITTED, "", PHASE, Outcome.PASS, message, evidence=evidence)


def _lookup(one: Admitted) -> Verdict:
    definition = one.definition
    subject = "metadata.labels"
    kind = definition.root.kind
    expected = lookup_labels(definition)
    evidence: dict[str, Any] = {"object": one.object_name, "selector": label_selector(expected)}

    def verdict(outcome: Outcome, message: str) -> Verdict:
        return verdict_for(definition, names.LOOKUP, subject, PHASE, outcome, message, evidence=evidence)

    if kind is None:
        return verdict(
            Outcome.FAIL, "the root component has no kind: no consumer can look this definition up"
        )
    gvk = f"{kind.api_version} {kind.kind}"
    wrong = {k: v for k, v in definition.labels.items() if k in LOOKUP_LABELS and v != expected[k]}
    if wrong:
        said = ", ".join(f"{k}={v!r} (the root kind says {expected[k]!r})" for k, v in sorted(wrong.items()))
        return verdict(
            Outcome.FAIL,
            f"{said}: Karta's operator overwrites these labels, but on a cluster without it a consumer "
            f"looking up {gvk} never finds this definition",
        )
    if one.refused is not None:
        return verdict(Outcome.FAIL, f"not admitted, so no consumer can find it (refused: {one.refused})")
    if not definition.pod_groups:
        evidence["listed"] = [seen.name for seen in one.listed]
        return verdict(
            Outcome.NOT_APPLICABLE,
            f"no gang instructions: a pod-grouper skips it and groups {gvk} workloads its own way",
        )
    candidates = [
        seen
        for seen in one.listed
        if seen.root_gvk == (kind.group, kind.version, kind.kind)
        and not seen.deleting
        and not seen.empty
        and seen.gang
        and seen.invalid is None
        and (seen.install_set is None or seen.install_set == one.install_set)
    ]
    evidence["candidates"] = [seen.name for seen in candidates]
    mine = [seen for seen in candidates if seen.name == one.object_name]
    if not mine:
        listed = [seen for seen in one.listed if seen.name == one.object_name]
        why = (
            f"it is invalid as read back ({listed[0].invalid})"
            if listed and listed[0].invalid
            else "the List by its labels did not return it"
        )
        return verdict(
            Outcome.FAIL, f"a consumer looking up {gvk} by {evidence['selector']} does not use it: {why}"
        )
    others = [seen for seen in candidates if seen.name != one.object_name]
    if others:
        hiding = ", ".join(
            f"{seen.name} ({'already in the cluster' if seen.install_set is None else 'same install set'})"
            for seen in others
        )
        return verdict(
            Outcome.FAIL,
            f"{len(candidates)} Kartas with gang instructions for {gvk}: this one and {hiding}; a consumer refuses "
            'them all ("found multiple Kartas with gang scheduling instructions") and groups these Pods its own way',
        )
    return verdict(
        Outcome.PASS,
        f"a consumer looking up {gvk} by {evidence['selector']} finds exactly this Karta with gang instructions",
    )


def unverified(definitions: Iterable[Definition], reason: str) -> list[Verdict]:
    """Both claims UNVERIFIED, with the reason, when the cluster could not take Karta objects."""
    return [
        verdict_for(definition, claim, "", PHASE, Outcome.UNVERIFIED, reason)
        for definition in definitions
        for claim in (names.ADMITTED, names.LOOKUP)
    ]
