"""Per-instance readings of a component on the root object, as Karta's ``Component`` reads them.

A component with ``instanceIdPath`` has one instance per id (a worker group, say); a component
without one has a single instance with the empty id. Karta (``pkg/resource/component.go`` and
``accessor.go``) then zips each extraction with the ids:

- pod template / pod spec / metadata: the path must yield exactly one output per id (a constant
  path with several instances is an error); a ``null`` output reads as an empty object (Go's zero
  value of the struct), so a missing template is ``{}``, not an error;
- scale: ``replicasPath``, ``minReplicasPath`` and ``maxReplicasPath`` are extracted separately; the
  number of scales is the longest of the three outputs, which must equal the number of ids; a
  shorter output leaves the later instances ``null`` (so a constant ``minReplicasPath: "1"`` next to
  a per-instance ``replicasPath`` gives 1 to the *first* instance only); every output must be an
  integer in int32 range or ``null``;
- fragmented pod spec fragments: the same rule as scale, over all fragments;
- repeated ids are accepted: the readings become a map, so the *last* output of a repeated id
  wins, while counts that go by the id list (leaf counts) see every repetition. The harness reports
  repeated ids with a claim of its own (``beyond-karta``), not as an evaluation error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.definition.model import Component, Expression
from conformance.errors import EvaluationError
from conformance.evaluate.common import outputs, wrong_output

SINGLE = ""  # the id of the only instance of a component without instanceIdPath
INT32 = (-(2**31), 2**31 - 1)


def instance_ids(component: Component, root: dict[str, Any]) -> list[str]:
    """The instance ids a component declares on the root, repetitions kept (``[SINGLE]`` without
    instanceIdPath). Every output must be a string that is not empty (Karta decodes them as strings)."""
    expression = component.instance_id_path
    if expression is None:
        return [SINGLE]
    results = outputs(expression, root)
    ids = []
    for result in results:
        if not isinstance(result, str):
            raise wrong_output(expression, "instance ids must be strings", result, results)
        if result == "":
            raise EvaluationError(expression.where, expression.text, "yielded an empty instance id", results)
        ids.append(result)
    return ids


def repeated_ids(ids: list[str]) -> list[str]:
    return sorted({i for i in ids if ids.count(i) > 1})


def _zip_exact(expression: Expression, results: list[Any], ids: list[str]) -> dict[str, Any]:
    if len(results) != len(ids):
        raise EvaluationError(
            expression.where,
            expression.text,
            f"yielded {len(results)} output(s) for {len(ids)} instance(s) "
            f"({', '.join(map(repr, ids)) or 'none'}); Karta requires one output per instance id, in order",
            results,
        )
    return dict(zip(ids, results, strict=True))


def _object_or_empty(expression: Expression, value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise wrong_output(expression, f"{what} must be an object", value, value)
    return value


def per_instance_objects(
    expression: Expression, root: dict[str, Any], ids: list[str], what: str
) -> dict[str, Any]:
    """``{instance id: object}`` for a pod template / pod spec / metadata path (null reads as ``{}``)."""
    results = outputs(expression, root)
    return {i: _object_or_empty(expression, v, what) for i, v in _zip_exact(expression, results, ids).items()}


def _int32(expression: Expression, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise wrong_output(expression, "a scale must be an integer or null", value, value)
    number = int(value)
    if not INT32[0] <= number <= INT32[1]:
        raise EvaluationError(expression.where, expression.text, f"{number} is out of int32 range", value)
    return number


def padded_per_instance(
    paths: dict[str, Expression], root: dict[str, Any], ids: list[str], convert: Any = None
) -> dict[str, dict[str, Any]]:
    """Karta's reading of several paths that make one struct per instance (scale, fragments):
    ``{instance id: {name: value or None}}``; the longest output must match the ids."""
    results = {name: outputs(expression, root) for name, expression in paths.items()}
    if not results:
        return {i: {} for i in ids}
    count = max(len(r) for r in results.values())
    if count != len(ids):
        longest = max(paths, key=lambda n: len(results[n]))
        raise EvaluationError(
            paths[longest].where,
            paths[longest].text,
            f"instance ids count ({len(ids)}) does not match results count ({count}): the longest of "
            f"{', '.join(paths)} must yield one output per instance id",
            results[longest],
        )
    readings: dict[str, dict[str, Any]] = {}
    for index, instance_id in enumerate(ids):
        reading: dict[str, Any] = {}
        for name, values in results.items():
            value = values[index] if index < len(values) else None
            reading[name] = convert(paths[name], value) if convert else value
        readings[instance_id] = reading  # a repeated id: the last one wins, as in Karta's map
    return readings


def scales(component: Component, root: dict[str, Any]) -> dict[str, dict[str, int | None]] | None:
    """Karta's ``GetScale``: ``{instance id: {"replicas"|"minReplicas"|"maxReplicas": int or None}}``,
    or None when the component has no scaleDefinition."""
    if component.scale is None:
        return None
    return padded_per_instance(component.scale.paths(), root, instance_ids(component, root), _int32)


@dataclass(frozen=True)
class Instance:
    """What a component declares for one of its instances."""

    component: str
    id: str
    pod_template: (
        dict[str, Any] | None
    )  # PodTemplateSpec-shaped: {"metadata": ..., "spec": ...}; None: no spec path
    scale: dict[str, Any]  # "replicas"/"minReplicas"/"maxReplicas" -> value (may be None)
    fragments: dict[str, Any]


def instances(component: Component, root: dict[str, Any]) -> list[Instance]:
    """Everything the component declares, one Instance per distinct id (first-seen order; for a
    repeated id the readings of its last occurrence, as Karta's maps hold them)."""
    ids = instance_ids(component, root)
    templates: dict[str, Any] = dict.fromkeys(ids)
    fragments: dict[str, dict[str, Any]] = {i: {} for i in ids}
    spec = component.spec
    if spec is not None:
        if spec.pod_template_spec_path is not None:
            templates = per_instance_objects(spec.pod_template_spec_path, root, ids, "a pod template")
        elif spec.pod_spec_path is not None:
            pod_specs = per_instance_objects(spec.pod_spec_path, root, ids, "a pod spec")
            metadata = (
                per_instance_objects(spec.metadata_path, root, ids, "pod metadata")
                if spec.metadata_path
                else dict.fromkeys(ids)
            )
            templates = {i: {"metadata": metadata[i] or {}, "spec": pod_specs[i]} for i in ids}
        if spec.fragments:
            fragments = padded_per_instance(spec.fragments, root, ids)
    scale = scales(component, root) or {i: {} for i in ids}
    return [
        Instance(
            component=component.name, id=i, pod_template=templates[i], scale=scale[i], fragments=fragments[i]
        )
        for i in dict.fromkeys(ids)
    ]


def beyond_karta(component: Component, root: dict[str, Any]) -> str | None:
    """Where the harness is deliberately stricter than Karta on this component: a message that says
    what works in Karta and why it is still wrong, or None. (Repeated instance ids.)"""
    if component.instance_id_path is None:
        return None
    repeated = repeated_ids(instance_ids(component, root))
    if not repeated:
        return None
    return (
        f"works in Karta, but instance ids repeat ({', '.join(repeated)}): Karta keeps the last reading of "
        "a repeated id and counts every repetition, so the Pods of those instances cannot be told apart"
    )
