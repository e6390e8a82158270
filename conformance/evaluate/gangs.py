"""Gang groups: which Pods a definition's podGroups put together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.definition.model import Definition
from conformance.evaluate.common import outputs, single_value
from conformance.evaluate.pods import pod_name, selects


@dataclass(frozen=True)
class GangGroup:
    pod_group: str  # the podGroups[].name it comes from
    key: tuple[str, ...]  # the values of the members' groupByKeyPaths
    pods: tuple[str, ...]  # namespace/name, sorted

    @property
    def label(self) -> str:
        return f"{self.pod_group}[{', '.join(self.key)}]" if self.key else self.pod_group


def gang_groups(definition: Definition, pods: list[dict[str, Any]]) -> list[GangGroup]:
    """Form the gang groups of ``pods`` as the definition's podGroups describe them.

    A Pod joins a pod group through each member whose component selects it and
    whose filters all yield ``true``; the group it joins is keyed by the values
    of that member's groupByKeyPaths. Raises EvaluationError when a key path
    does not yield exactly one non-empty value.
    """
    groups: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for pod_group in definition.pod_groups:
        for member in pod_group.members:
            component = definition.component(member.component_name)
            if component is None:
                continue
            for pod in pods:
                if not selects(component, pod):
                    continue
                if not all(outputs(f, pod) == [True] for f in member.filters):
                    continue
                key = tuple(single_value(path, pod) for path in member.group_by_key_paths)
                groups.setdefault((pod_group.name, key), set()).add(pod_name(pod))
    return [
        GangGroup(pod_group=name, key=key, pods=tuple(sorted(members)))
        for (name, key), members in groups.items()
    ]
