"""Gang groups: which Pods a definition's podGroups put together, and the minimum a consumer asks for.

The minimum is what KAI Scheduler's Karta-based pod-grouper computes for each Pod (``podGroups``
form): the Pod's effective component (``effective_member``), then Karta's ``CalculateSubtreeScale``
of that component, for the Pod's own instance when the effective component is the Pod's own, else
for every instance (``pkg/instructions/gang_scheduling.go``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.definition.model import Component, Definition, Expression, PodGroupMember
from conformance.errors import EvaluationError
from conformance.evaluate.common import outputs, single_value
from conformance.evaluate.instances import instance_ids, scales
from conformance.evaluate.pods import karta_component, pod_name


@dataclass(frozen=True)
class GangGroup:
    pod_group: str  # the podGroups[].name it comes from
    key: tuple[str, ...]  # the values of the members' groupByKeyPaths
    pods: tuple[str, ...]  # namespace/name, sorted
    effective_component: str = ""  # the member component the Pods' groups were chosen by
    pod_minimums: tuple[tuple[str, int], ...] = ()  # (pod, the minimum a consumer computes for it)

    @property
    def minimum(self) -> int | None:
        """The group's minimum member count, when every Pod of the group gets the same one."""
        values = {m for _, m in self.pod_minimums}
        return values.pop() if len(values) == 1 else None

    @property
    def label(self) -> str:
        return f"{self.pod_group}[{', '.join(self.key)}]" if self.key else self.pod_group


def filter_passes(expression: Expression, pod: dict[str, Any]) -> bool:
    """A gang filter as Karta runs it: exactly one output that is not null or "" (else an error),
    passing only when that output is ``true``."""
    results = outputs(expression, pod)
    if len(results) != 1 or results[0] is None or results[0] == "":
        raise EvaluationError(
            expression.where,
            expression.text,
            f"a filter must yield exactly one non-empty value, yielded {len(results)}: {results[:3]!r}",
            results,
        )
    return results[0] is True


def effective_member(
    definition: Definition, component: Component, pod: dict[str, Any]
) -> tuple[str, PodGroupMember] | None:
    """Karta's choice of pod group for a Pod of ``component``: members naming the component come
    first, then members naming its owners, up to the root; the first whose filters all pass wins."""
    for level in definition.ancestry(component.name):
        for pod_group in definition.pod_groups:
            for member in pod_group.members:
                if member.component_name != level.name:
                    continue
                if all(filter_passes(f, pod) for f in member.filters):
                    return pod_group.name, member
    return None


def effective_min_replicas(scale: dict[str, int | None]) -> int:
    """Karta's ``getEffectiveMinReplicas``: minReplicas when > 0, else replicas when > 0, else 0."""
    for name in ("minReplicas", "replicas"):
        value = scale.get(name)
        if value is not None and value > 0:
            return value
    return 0


def subtree_scale(definition: Definition, name: str, instance: str | None, root: dict[str, Any]) -> int:
    """Karta's ``CalculateSubtreeScale(name, instance)`` on the root object.

    With any scaleDefinition in the definition: the component's effective minReplicas (of
    ``instance`` when given for the subtree's root, else summed over its instances), children summed,
    then: no children or children 0 -> own; own 0 -> children; else own x children. Without any
    scaleDefinition: the number of leaf instances in the subtree.
    """
    if instance == "":
        raise EvaluationError(_component(definition, name).where, "", "instance id is empty")
    if any(c.scale is not None for c in definition.components):
        return _by_definition(definition, name, name, instance, root)
    return _by_leaves(definition, name, name, instance, root)


def _component(definition: Definition, name: str) -> Component:
    found = definition.component(name)
    if found is None:
        raise EvaluationError(
            "optimizationInstructions.gangScheduling", "", f"component {name!r} is not defined"
        )
    return found


def _by_definition(
    definition: Definition, current: str, top: str, instance: str | None, root: dict[str, Any]
) -> int:
    component = _component(definition, current)
    readings = scales(component, root) or {}
    if current == top and instance is not None:
        if instance not in readings:
            raise EvaluationError(component.where, "", f"instance id {instance} not found")
        own = effective_min_replicas(readings[instance])
    else:
        own = sum(effective_min_replicas(r) for r in readings.values())
    children = definition.children_of(current)
    if not children:
        return own
    below = sum(_by_definition(definition, c.name, top, instance, root) for c in children)
    if below == 0:
        return own
    if own == 0:
        return below
    return own * below


def _by_leaves(
    definition: Definition, current: str, top: str, instance: str | None, root: dict[str, Any]
) -> int:
    component = _component(definition, current)
    if component.is_leaf:
        if component.instance_id_path is None:
            return 1
        ids = instance_ids(component, root)
        if current == top and instance is not None:
            if instance not in ids:
                raise EvaluationError(component.where, "", f"instance id {instance} not found")
            return 1
        return len(ids)
    return sum(_by_leaves(definition, c.name, top, instance, root) for c in definition.children_of(current))


def pod_instance(component: Component, pod: dict[str, Any], root: dict[str, Any]) -> str | None:
    """Karta's ``InferPodComponentInstance``: the Pod's instance id among the component's ids, or None
    (a single unnamed instance, or a component without a podSelector)."""
    ids = instance_ids(component, root)
    if not ids or ids[0] == "" or component.pod_selector is None:
        return None
    path = component.pod_selector.instance_id_path
    if path is None:
        raise EvaluationError(
            f"{component.where}.podSelector",
            "",
            "no componentInstanceSelector but the component has instance ids",
        )
    found = single_value(path, pod)
    if found not in ids:
        raise EvaluationError(
            path.where, path.text, f"could not match instance id {found!r}; the spec declares {ids}", found
        )
    return found


def pod_minimum(
    definition: Definition, component: Component, effective: str, pod: dict[str, Any], root: dict[str, Any]
) -> int:
    """The minimum a Karta consumer gives the pod group of ``pod`` (KAI's grouper, podGroups form)."""
    instance = pod_instance(component, pod, root) if effective == component.name else None
    return subtree_scale(definition, effective, instance, root)


def gang_groups(
    definition: Definition, pods: list[dict[str, Any]], root: dict[str, Any] | None = None
) -> list[GangGroup]:
    """Form the gang groups of ``pods`` as Karta's consumers would.

    Each Pod goes to its Karta component (``karta_component``), then to the pod group of its
    effective member (``effective_member``), keyed by the values of that member's groupByKeyPaths.
    With ``root`` (the object Karta's components read), each Pod's minimum is computed too.
    Raises EvaluationError when a key path or filter does not yield exactly one non-empty value,
    or a minimum cannot be computed.
    """
    groups: dict[tuple[str, tuple[str, ...]], dict[str, int | None]] = {}
    effective: dict[tuple[str, tuple[str, ...]], str] = {}
    for pod in pods:
        component = karta_component(definition, pod)
        if component is None:
            continue  # the membership claim reports Pods no component takes
        chosen = effective_member(definition, component, pod)
        if chosen is None:
            continue
        name, member = chosen
        key = tuple(single_value(path, pod) for path in member.group_by_key_paths)
        minimum = (
            pod_minimum(definition, component, member.component_name, pod, root) if root is not None else None
        )
        groups.setdefault((name, key), {})[pod_name(pod)] = minimum
        effective.setdefault((name, key), member.component_name)
    return [
        GangGroup(
            pod_group=name,
            key=key,
            pods=tuple(sorted(members)),
            effective_component=effective[(name, key)],
            pod_minimums=tuple(sorted((p, m) for p, m in members.items() if m is not None)),
        )
        for (name, key), members in groups.items()
    ]
