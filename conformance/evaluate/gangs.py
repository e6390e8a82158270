"""Gang groups: which Pods a definition's podGroups put together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.definition.model import Component, Definition, Expression, PodGroupMember
from conformance.evaluate.common import outputs, single_value
from conformance.evaluate.errors import EvaluationError
from conformance.evaluate.pods import karta_component, pod_name


@dataclass(frozen=True)
class GangGroup:
    pod_group: str  # the podGroups[].name it comes from
    key: tuple[str, ...]  # the values of the members' groupByKeyPaths
    pods: tuple[str, ...]  # namespace/name, sorted

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


def gang_groups(definition: Definition, pods: list[dict[str, Any]]) -> list[GangGroup]:
    """Form the gang groups of ``pods`` as Karta's consumers would.

    Each Pod goes to its Karta component (``karta_component``), then to the pod group of its
    effective member (``effective_member``), keyed by the values of that member's groupByKeyPaths.
    Raises EvaluationError when a key path or filter does not yield exactly one non-empty value.
    """
    groups: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for pod in pods:
        component = karta_component(definition, pod)
        if component is None:
            continue  # the membership claim reports Pods no component takes
        chosen = effective_member(definition, component, pod)
        if chosen is None:
            continue
        name, member = chosen
        key = tuple(single_value(path, pod) for path in member.group_by_key_paths)
        groups.setdefault((name, key), set()).add(pod_name(pod))
    return [
        GangGroup(pod_group=name, key=key, pods=tuple(sorted(members)))
        for (name, key), members in groups.items()
    ]
