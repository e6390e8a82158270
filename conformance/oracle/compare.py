"""Compare Karta's own reading (karta-oracle) with the harness's (conformance/evaluate) item by item.

An *item* is one thing both read on one Snapshot: a Pod, a component, the root's status, the
definition itself. Each item has *fields* (the table ``FIELDS``): one line per field says where
Karta's value and the harness's value come from. A field that differs is a FAIL verdict (claim
``oracle``) naming the definition, the item, the field and both values; every Snapshot's
agreements are one PASS verdict with their count. An error is a value too: Karta erring where the
harness reads a value (or the reverse) is a disagreement; both erring agree (messages differ).

Normalisations, each because both sides mean the same thing:
- status: no matched status is Karta's ``Undefined``; names are compared lower-case, as a set;
  a phase Karta reads as ``""`` (null in the object) is no phase (Karta's byPhase ignores "");
  conditions without a type are left out (they can never be matched).
- scales and pod templates are compared instance by instance (``component worker[gpu-workers]``);
  pod templates by what a consumer acts on (labels, annotations, schedulerName,
  container names and images), since Karta decodes them into core/v1 types.
- numbers: 2.0 and 2 are the same; true is not 1.
- statuses only the ``run.ai/v1alpha1`` dialect has (suspended, suspending, resuming): Karta v0.0.11
  reads the ``ResourceInterface`` the definition converts to, which cannot hold them, so the harness's
  reading leaves them out too (the live ``status`` claim checks them).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.claims import names
from conformance.definition import dialects, rules
from conformance.definition.model import Component, Definition
from conformance.errors import EvaluationError
from conformance.evaluate import gangs, instances, pods, status
from conformance.fixtures import Fixture
from conformance.oracle import build, run
from conformance.snapshot import Expectation, Snapshot, walk_tree
from conformance.verdict import Outcome, Verdict, verdict_for

CLAIM = names.ORACLE


class Failed:
    """A reading that returned an error instead of a value. Any two errors agree."""

    def __init__(self, message: str) -> None:
        self.message = " ".join(message.split())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failed)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"error: {self.message}"


def _attempt(compute: Callable[[], Any]) -> Any:
    try:
        return compute()
    except EvaluationError as error:
        return Failed(str(error))


def _karta(value: dict[str, Any]) -> Any:
    """A karta-oracle ``{"value": ...}`` or ``{"error": ...}``."""
    if value.get("error"):
        return Failed(str(value["error"]))
    return value.get("value")


def canonical(value: Any) -> str:
    """One text per meaning: integral floats are ints, keys sorted; errors all read 'error'."""

    def norm(v: Any) -> Any:
        if isinstance(v, Failed):
            return "<error>"
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, default=str)


def shown(value: Any, limit: int = 300) -> str:
    text = repr(value) if isinstance(value, Failed) else canonical(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# The harness's reading, item by item (only the evaluator's own functions).


def _gang_groups(definition: Definition, root: dict[str, Any], members: list[dict[str, Any]]) -> Any:
    """``gangs.gang_groups`` for ``members``; passes the root when its signature takes one
    (the gang minimum needs the root's scale)."""
    return gangs.gang_groups(definition, members, root=root)


def python_pod(definition: Definition, root: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any]:
    component = _attempt(lambda: pods.karta_component(definition, pod))
    if isinstance(component, Failed):
        return dict.fromkeys(("component", "instance", "replica_key", "gang", "minimum"), component)
    if component is None:
        return dict.fromkeys(("component", "instance", "replica_key", "gang", "minimum"))
    chosen: Component = component
    matched = _attempt(lambda: pods.match(chosen, pod))
    member = _attempt(lambda: gangs.effective_member(definition, chosen, pod))
    groups = _attempt(lambda: _gang_groups(definition, root, [pod]))
    reading: dict[str, Any] = {"component": chosen.name}
    reading["instance"] = matched if isinstance(matched, Failed) else matched.instance_id
    reading["replica_key"] = matched if isinstance(matched, Failed) else matched.replica_key
    if isinstance(member, Failed) or isinstance(groups, Failed):
        reading["gang"] = reading["minimum"] = member if isinstance(member, Failed) else groups
    elif member is None or not groups:
        reading["gang"] = reading["minimum"] = None
    else:
        name, chosen_member = member
        reading["gang"] = {
            "pod_group": name,
            "effective_component": chosen_member.component_name,
            "key": list(groups[0].key),
        }
        reading["minimum"] = getattr(groups[0], "minimum", None)
    return reading


def template_summary(template: Any) -> Any:
    """What a consumer acts on in a pod template."""
    if template is None or isinstance(template, Failed):
        return template
    if not isinstance(template, dict):
        return {"not an object": type(template).__name__}
    raw_metadata, raw_spec = template.get("metadata"), template.get("spec")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    raw_containers = spec.get("containers")
    containers: list[Any] = raw_containers if isinstance(raw_containers, list) else []
    return {
        "labels": metadata.get("labels") or {},
        "annotations": metadata.get("annotations") or {},
        "schedulerName": spec.get("schedulerName") or "",
        "containers": [[c.get("name"), c.get("image")] for c in containers if isinstance(c, dict)],
    }


def python_component(component: Component, root: dict[str, Any]) -> dict[str, Any]:
    ids = _attempt(lambda: instances.instance_ids(component, root))
    declared = _attempt(lambda: instances.instances(component, root))
    reading: dict[str, Any] = {"instance_ids": ids, "scales": None, "pod_templates": None}
    if component.scale is not None:
        scales = _attempt(lambda: instances.scales(component, root) or {})
        reading["scales"] = (
            scales
            if isinstance(scales, Failed)
            else {i: {k: v for k, v in scale.items() if v is not None} for i, scale in scales.items()}
        )
    if component.spec is not None and component.spec.pod_template_spec_path is not None:
        reading["pod_templates"] = (
            declared
            if isinstance(declared, Failed)
            else {i.id: template_summary(i.pod_template) for i in declared}
        )
    return reading


def python_status(definition: Definition, root: dict[str, Any]) -> dict[str, Any]:
    if definition.root.status is None:
        return dict.fromkeys(("matched", "phase", "conditions"))
    statuses = definition.root.status
    reading = _attempt(lambda: status.read_status(statuses, root))
    if isinstance(reading, Failed):
        return dict.fromkeys(("matched", "phase", "conditions"), reading)
    legacy = dialects.by_name("resource-interface").statuses
    return {
        "matched": sorted(s.lower() for s in reading.matched if s in legacy) or ["undefined"],
        "phase": reading.phase,
        "conditions": [[c.type, c.status, c.reason] for c in reading.conditions if c.type],
    }


# ---------------------------------------------------------------------------
# Karta's reading, item by item (from karta-oracle's JSON).


def karta_pod(read: dict[str, Any]) -> dict[str, Any]:
    return {name: _karta(read[name]) for name in ("component", "instance", "replica_key", "gang", "minimum")}


def karta_component(read: dict[str, Any]) -> dict[str, Any]:
    templates = _karta(read["pod_templates"])
    if isinstance(templates, dict):
        templates = {i: template_summary(t) for i, t in templates.items()}
    ids = _karta(read["instance_ids"])
    # Go's nil slice: GetInstanceIds of a path with no output (a RayJob without rayClusterSpec, say) is
    # nil, which every use in Karta treats as the empty list (len 0, nothing to range over); JSON says null
    return {
        "instance_ids": [] if ids is None else ids,
        "scales": _karta(read["scales"]),
        "pod_templates": templates,
    }


def karta_status(read: dict[str, Any] | None) -> dict[str, Any]:
    value = _karta(read) if read is not None else None
    if value is None or isinstance(value, Failed):
        return dict.fromkeys(("matched", "phase", "conditions"), value)
    return {
        "matched": sorted(s.lower() for s in value.get("matched") or []),
        "phase": value.get("phase") or None,
        "conditions": [
            [c.get("type"), c.get("status"), c.get("reason")]
            for c in value.get("conditions") or []
            if c.get("type")
        ],
    }


# ---------------------------------------------------------------------------
# The compared fields. Adding one is one line: (scope, field name, active?).
# The harness's and Karta's readings of a scope are dicts keyed by field name (above).


@dataclass(frozen=True)
class Field:
    scope: str  # "status", "component", "instance" (of a component), "pod"
    name: str
    active: Callable[[], bool] = lambda: True


FIELDS: tuple[Field, ...] = (
    Field("status", "matched"),
    Field("status", "phase"),
    Field("status", "conditions"),
    Field("component", "instance_ids"),
    Field("instance", "replicas"),
    Field("instance", "minReplicas"),
    Field("instance", "maxReplicas"),
    Field("instance", "pod_template"),
    Field("pod", "component"),
    Field("pod", "instance"),
    Field("pod", "replica_key"),
    Field("pod", "gang"),
    Field("pod", "minimum", active=lambda: True),
)


# ---------------------------------------------------------------------------


@dataclass
class OracleResult:
    oracle: str  # e.g. "Karta v0.0.11 (local source /work/shared/karta)"
    compared: int = 0
    disagreements: int = 0
    verdicts: list[Verdict] = field(default_factory=list)
    nested: int = 0  # Snapshots of objects inside a workload (``nested_snapshots``)

    def line(self) -> str:
        inside = f" (on {self.nested} object(s) inside a workload too)" if self.nested else ""
        return (
            f"oracle {self.oracle}: {self.compared} item(s) compared{inside}, "
            f"{self.disagreements} disagreement(s)"
        )


def fixture_snapshots(fixtures: Iterable[Fixture]) -> list[Snapshot]:
    """Each fixture object as a Snapshot without Pods (scenario ``fixture``)."""
    return [
        Snapshot(
            scenario="fixture",
            phase=f"{Path(f.source).name}:{f.kind}/{f.name}",
            namespace=str((f.object.get("metadata") or {}).get("namespace", "")),
            root=f.object,
            tree=[],
            namespace_pods=[],
            events=[],
            served=[],
            expect=Expectation(statuses=[]),
        )
        for f in fixtures
    ]


def nested_snapshots(definitions: Sequence[Definition], snapshots: Iterable[Snapshot]) -> list[Snapshot]:
    """Every object inside a Snapshot's tree that a definition reads, as a Snapshot of its own.

    A RayService's active and pending RayClusters, and a RayJob's RayCluster, are RayClusters:
    the RayCluster definition reads them as Karta does (a dashboard reads every RayCluster's
    status; a scheduler grouping by the top owner does not). Their phase names the object, e.g.
    ``upgrade-pending > RayCluster/svc-abc``; their subtree is the objects it owns. They carry no
    expectation: only the oracle compares them, no claim is judged on them.
    """
    kinds = {(d.root.kind.api_version, d.root.kind.kind) for d in definitions if d.root.kind is not None}
    nested: list[Snapshot] = []
    for snapshot in snapshots:
        for obj in snapshot.tree:
            if (obj.get("apiVersion"), obj.get("kind")) not in kinds:
                continue
            name = str((obj.get("metadata") or {}).get("name", ""))
            nested.append(
                Snapshot(
                    scenario=snapshot.scenario,
                    phase=f"{snapshot.phase} > {obj.get('kind')}/{name}",
                    namespace=snapshot.namespace,
                    root=obj,
                    tree=walk_tree(obj, snapshot.tree),
                    namespace_pods=snapshot.namespace_pods,
                    events=[],
                    served=snapshot.served,
                    expect=Expectation(statuses=[]),
                    taken_at=snapshot.taken_at,
                )
            )
    return nested


def _file_of(definition: Definition) -> str:
    head, _, tail = definition.source.rpartition("#")
    return head if head and tail.isdigit() else definition.source


def _applies(definition: Definition, snapshot: Snapshot) -> bool:
    kind = definition.root.kind
    return (
        kind is not None
        and snapshot.root.get("kind") == kind.kind
        and snapshot.root.get("apiVersion") == kind.api_version
    )


def compare(
    definitions: Sequence[Definition],
    snapshots: Sequence[Snapshot],
    karta_source: Path | None = None,
    oracle: build.Oracle | None = None,
) -> OracleResult:
    """Karta's reading against the harness's, for every definition on every Snapshot of its root kind,
    and on every object of its root kind inside a Snapshot (``nested_snapshots``)."""
    oracle = oracle or build.ensure(karta_source)
    result = OracleResult(oracle=oracle.describe())
    inside = nested_snapshots(definitions, snapshots)
    result.nested = len(inside)
    snapshots = [*snapshots, *inside]
    with tempfile.TemporaryDirectory(prefix="karta-oracle-") as scratch:
        paths: dict[str, Snapshot] = {}
        for index, snapshot in enumerate(snapshots):
            path = Path(scratch) / f"{index:03d}.json"
            snapshot.save(path)
            paths[str(path)] = snapshot
        by_file: dict[str, list[Definition]] = {}
        for definition in definitions:
            by_file.setdefault(_file_of(definition), []).append(definition)
        for file, mine in by_file.items():
            wanted = [p for p, s in paths.items() if any(_applies(d, s) for d in mine)]
            try:
                answer = run.read(oracle, Path(file), [Path(p) for p in wanted])
            except run.OracleFailed as error:
                for definition in mine:
                    result.verdicts.append(
                        verdict_for(definition, CLAIM, "", "oracle", Outcome.ERROR, f"karta-oracle: {error}")
                    )
                continue
            documents = {str(d.get("name")): d for d in answer.get("documents") or []}
            for definition in mine:
                _compare_definition(definition, documents.get(definition.name), paths, result)
    return result


def _compare_definition(
    definition: Definition,
    document: dict[str, Any] | None,
    snapshots: dict[str, Snapshot],
    result: OracleResult,
) -> None:
    if document is None or document.get("error"):
        reason = document.get("error") if document else "no ResourceInterface document of this name"
        result.verdicts.append(
            verdict_for(definition, CLAIM, "", "static", Outcome.ERROR, f"Karta cannot read it: {reason}")
        )
        return
    karta_invalid = list(document.get("validation") or [])
    python_problems = [f"{p.where}: {p.message}" for p in rules.check(definition)]
    result.compared += 1
    if bool(karta_invalid) != bool(python_problems):
        result.disagreements += 1
        result.verdicts.append(
            verdict_for(
                definition,
                CLAIM,
                "definition: valid",
                "static",
                Outcome.FAIL,
                f"Karta's validation says {'invalid: ' + '; '.join(karta_invalid) if karta_invalid else 'valid'}, "
                f"the harness's rules say {'invalid: ' + '; '.join(python_problems) if python_problems else 'valid'}",
                evidence={"karta": karta_invalid, "harness": python_problems},
            )
        )
    readings = {str(r["snapshot"]): r for r in document.get("readings") or []}
    for path, snapshot in snapshots.items():
        if not _applies(definition, snapshot):
            continue
        phase = f"{snapshot.scenario}/{snapshot.phase}"
        reading = readings.get(path)
        if reading is None:
            result.compared += 1
            result.disagreements += 1
            result.verdicts.append(
                verdict_for(
                    definition,
                    CLAIM,
                    "rootComponent.kind",
                    phase,
                    Outcome.FAIL,
                    "the harness reads this Snapshot with the definition, Karta does not (root kind)",
                )
            )
            continue
        _compare_snapshot(definition, snapshot, reading, phase, result)


def _pairs(
    definition: Definition, snapshot: Snapshot, reading: dict[str, Any]
) -> Iterable[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(scope, item label, Karta's reading, the harness's reading) for every item of a Snapshot."""
    root = snapshot.root
    yield "status", "status", karta_status(reading.get("status")), python_status(definition, root)
    karta_components = {c["name"]: c for c in reading.get("components") or []}
    for component in definition.components:
        read = karta_components.get(component.name)
        karta = karta_component(read) if read else dict.fromkeys(("instance_ids", "scales", "pod_templates"))
        python = python_component(component, root)
        yield "component", f"component {component.name}", karta, python
        yield from _instance_pairs(component.name, karta, python)
    karta_pods = {p["pod"]: p for p in reading.get("pods") or []}
    for pod in snapshot.pods():
        name = pods.pod_name(pod)
        read = karta_pods.get(name)
        karta = karta_pod(read) if read else {"component": Failed("Karta did not read this Pod")}
        yield "pod", f"pod {name}", karta, python_pod(definition, root, pod)


NO_INSTANCE = "<no such instance>"


def _instance_reading(component: dict[str, Any], instance: str) -> dict[str, Any]:
    """One instance's scale fields and pod template from a component reading (either side)."""
    reading: dict[str, Any] = {}
    scales, templates = component.get("scales"), component.get("pod_templates")
    for name in ("replicas", "minReplicas", "maxReplicas"):
        if scales is None or isinstance(scales, Failed):
            reading[name] = scales
        else:
            scale = scales.get(instance, NO_INSTANCE)
            reading[name] = scale.get(name) if isinstance(scale, dict) else scale
    if templates is None or isinstance(templates, Failed):
        reading["pod_template"] = templates
    else:
        reading["pod_template"] = templates.get(instance, NO_INSTANCE)
    return reading


def _instance_pairs(
    name: str, karta: dict[str, Any], python: dict[str, Any]
) -> Iterable[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """An item per instance of the component, as either side declares it (ids in first-seen order)."""
    ids: list[str] = []
    for side in (karta, python):
        for key in ("scales", "pod_templates"):
            value = side.get(key)
            if isinstance(value, dict):
                ids += [i for i in value if i not in ids]
        declared = side.get("instance_ids")
        if isinstance(declared, list):
            ids += [str(i) for i in declared if str(i) not in ids]
    for instance in ids:
        label = f"component {name}[{instance}]" if instance else f"component {name}"
        yield "instance", label, _instance_reading(karta, instance), _instance_reading(python, instance)


def _compare_snapshot(
    definition: Definition, snapshot: Snapshot, reading: dict[str, Any], phase: str, result: OracleResult
) -> None:
    agreed = 0
    fields = [f for f in FIELDS if f.active()]
    for scope, item, karta, python in _pairs(definition, snapshot, reading):
        for wanted in fields:
            if wanted.scope != scope:
                continue
            karta_value, python_value = karta.get(wanted.name), python.get(wanted.name)
            result.compared += 1
            if canonical(karta_value) == canonical(python_value):
                agreed += 1
                continue
            result.disagreements += 1
            result.verdicts.append(
                verdict_for(
                    definition,
                    CLAIM,
                    f"{item}: {wanted.name}",
                    phase,
                    Outcome.FAIL,
                    f"Karta reads {shown(karta_value)}, the harness reads {shown(python_value)}",
                    evidence={
                        "item": item,
                        "field": wanted.name,
                        "karta": shown(karta_value, 4000),
                        "harness": shown(python_value, 4000),
                    },
                )
            )
    result.verdicts.append(
        verdict_for(
            definition, CLAIM, "", phase, Outcome.PASS, f"Karta and the harness agree on {agreed} item(s)"
        )
    )
