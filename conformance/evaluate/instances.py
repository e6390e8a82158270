"""Per-instance readings of a component on the root object.

A component with ``instanceIdPath`` has one instance per id (a worker group,
say); every other root path of that component must then yield exactly one
output per id, in the same order, or exactly one output that applies to all
(a constant such as ``"1"``). A component without ``instanceIdPath`` has a
single unnamed instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance import jqexpr
from conformance.definition.model import Component, Expression
from conformance.evaluate.common import outputs
from conformance.evaluate.errors import EvaluationError

SINGLE = ""  # the id of the only instance of a component without instanceIdPath


def instance_ids(component: Component, root: dict[str, Any]) -> list[str]:
    """The instance ids a component declares on the root (``[SINGLE]`` without instanceIdPath)."""
    expression = component.instance_id_path
    if expression is None:
        return [SINGLE]
    results = outputs(expression, root)
    ids = []
    for result in results:
        if result is None or result == "":
            raise EvaluationError(expression.where, expression.text, "yielded an empty instance id", results)
        ids.append(jqexpr.stringify(result))
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise EvaluationError(
            expression.where,
            expression.text,
            f"instance ids must be unique, repeated: {', '.join(duplicates)}",
            ids,
        )
    return ids


def per_instance(expression: Expression, root: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    """``{instance id: value}`` for a per-instance path."""
    results = outputs(expression, root)
    if len(results) == len(ids):
        return dict(zip(ids, results, strict=True))
    if len(results) == 1:
        return dict.fromkeys(ids, results[0])
    raise EvaluationError(
        expression.where,
        expression.text,
        f"yielded {len(results)} outputs for {len(ids)} instance(s) ({', '.join(map(repr, ids)) or 'none'}); "
        "a per-instance path must yield one output per instance id, in order, or one constant",
        results,
    )


@dataclass(frozen=True)
class Instance:
    """What a component declares for one of its instances."""

    component: str
    id: str
    pod_template: dict[str, Any] | None  # PodTemplateSpec-shaped: {"metadata": ..., "spec": ...}
    scale: dict[str, Any]  # "replicas"/"minReplicas"/"maxReplicas" -> value (may be None)
    fragments: dict[str, Any]


def instances(component: Component, root: dict[str, Any]) -> list[Instance]:
    """Everything the component declares, instance by instance."""
    ids = instance_ids(component, root)
    templates: dict[str, Any] = dict.fromkeys(ids)
    fragments: dict[str, dict[str, Any]] = {i: {} for i in ids}
    spec = component.spec
    if spec is not None:
        if spec.pod_template_spec_path is not None:
            templates = per_instance(spec.pod_template_spec_path, root, ids)
        elif spec.pod_spec_path is not None:
            pod_specs = per_instance(spec.pod_spec_path, root, ids)
            metadata = (
                per_instance(spec.metadata_path, root, ids) if spec.metadata_path else dict.fromkeys(ids)
            )
            templates = {i: {"metadata": metadata[i] or {}, "spec": pod_specs[i]} for i in ids}
        for name, expression in spec.fragments.items():
            for instance_id, value in per_instance(expression, root, ids).items():
                fragments[instance_id][name] = value
    scale: dict[str, dict[str, Any]] = {i: {} for i in ids}
    if component.scale is not None:
        for name, expression in component.scale.paths().items():
            for instance_id, value in per_instance(expression, root, ids).items():
                scale[instance_id][name] = value
    return [
        Instance(
            component=component.name, id=i, pod_template=templates[i], scale=scale[i], fragments=fragments[i]
        )
        for i in ids
    ]
