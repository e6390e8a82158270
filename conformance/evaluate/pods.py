"""Which component (and which instance, which replica) a live Pod belongs to, as Karta infers it.

Karta (``InferPodComponent``) assigns Pods to *leaf* components only: those with a pod template,
a pod spec or a fragmented pod spec. With exactly one leaf, every Pod of the workload is that
leaf's, without looking at selectors. Otherwise a leaf takes the Pods its componentTypeSelector
matches; a leaf without a componentTypeSelector takes none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.definition.model import Component, Definition, Expression
from conformance.errors import EvaluationError
from conformance.evaluate.common import outputs, single_value


@dataclass(frozen=True)
class PodMatch:
    component: str
    instance_id: str | None  # from componentInstanceSelector.idPath
    replica_key: str | None  # from replicaSelector.keyPath


def type_selector_matches(component: Component, pod: dict[str, Any]) -> bool:
    """The component's componentTypeSelector on the Pod, as Karta evaluates it.

    With ``value``: Karta runs ``<keyPath> == "<value>"`` as one jq program, without parentheses
    around keyPath (so an operator of lower precedence than ``==`` in keyPath changes the meaning),
    and the selector matches when an output is ``true``. Without ``value``: keyPath yields a non-null
    output (``false`` and ``""`` count as present). No componentTypeSelector: no match.
    """
    selector = component.pod_selector.component_type if component.pod_selector else None
    if selector is None:
        return False
    if selector.value is None:
        return any(r is not None for r in outputs(selector.key_path, pod))
    equality = Expression(
        text=f"{selector.key_path.text} == {json.dumps(selector.value)}",
        where=selector.key_path.where,
        context=selector.key_path.context,
    )
    return any(r is True for r in outputs(equality, pod))


def selects(definition: Definition, component: Component, pod: dict[str, Any]) -> bool:
    """Whether Karta would consider ``pod`` to be ``component``'s (ignoring the order of leaves)."""
    leaves = definition.leaves
    if component not in leaves:
        return False
    if len(leaves) == 1:
        return True
    return type_selector_matches(component, pod)


def karta_component(definition: Definition, pod: dict[str, Any]) -> Component | None:
    """Karta's answer: the only leaf, or the first leaf (in definition order) whose selector matches."""
    for component in definition.leaves:
        if selects(definition, component, pod):
            return component
    return None


def match(component: Component, pod: dict[str, Any]) -> PodMatch:
    """Read the instance id and replica key of a Pod already selected by ``component``."""
    selector = component.pod_selector
    instance_id = replica = None
    if selector is not None and selector.instance_id_path is not None:
        instance_id = single_value(selector.instance_id_path, pod)
    if selector is not None and selector.replica_key_path is not None:
        replica = single_value(selector.replica_key_path, pod)
    return PodMatch(component=component.name, instance_id=instance_id, replica_key=replica)


def classify(definition: Definition, pod: dict[str, Any]) -> list[PodMatch]:
    """Every leaf of ``definition`` that selects ``pod``, with its reading of the Pod.

    Karta takes the first; a definition whose leaves overlap depends on their order, so a
    correct definition yields exactly one match for every Pod of the workload.
    """
    return [match(c, pod) for c in definition.leaves if selects(definition, c, pod)]


def pod_name(pod: dict[str, Any]) -> str:
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '?')}"


__all__ = [
    "EvaluationError",
    "PodMatch",
    "classify",
    "karta_component",
    "match",
    "pod_name",
    "selects",
    "type_selector_matches",
]
