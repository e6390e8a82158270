"""Karta's validation rules for a definition, as problems with locations.

These mirror Karta's validator, the same in both dialects: unique component
names, owner references that resolve to an acyclic tree rooted at the root
component, a full GVK and a status definition on the root, mutually exclusive
spec definitions, instanceIdPath if and only if componentInstanceSelector,
pod-group members that exist, and jq expressions that compile and are read-only
(no assignment, ``del``, ``..``, ``range``/``paths``/``recurse``/``walk``/``repeat``).
The read-only rule's reach is the dialect's: ``run.ai/v1alpha1`` looks inside
every sub-expression; ``ResourceInterface`` (v0.0.11) only through pipes, binary
operators and function arguments. Suspend and resume action paths are jq paths
too (``run.ai/v1alpha1``).
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.definition.dialects import by_name
from conformance.definition.model import Definition
from conformance.jq import expr as jqexpr
from conformance.jq.paths import read_only_problem


@dataclass(frozen=True)
class Problem:
    rule: str
    where: str
    message: str


def check(definition: Definition) -> list[Problem]:
    problems: list[Problem] = []
    problems += _names(definition)
    problems += _root(definition)
    problems += _ownership(definition)
    problems += _specs(definition)
    problems += _instances(definition)
    problems += _pod_groups(definition)
    problems += _expressions(definition)
    return problems


def _names(definition: Definition) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for component in definition.components:
        if component.name in seen:
            problems.append(
                Problem(
                    "unique-names",
                    f"{component.where}.name",
                    f"component name {component.name!r} is used twice",
                )
            )
        seen.add(component.name)
    return problems


def _root(definition: Definition) -> list[Problem]:
    root = definition.root
    problems = []
    kind = root.kind
    if kind is None or not (kind.group and kind.version and kind.kind):
        problems.append(
            Problem(
                "root-gvk",
                f"{root.where}.kind",
                "the root component needs a full kind: group, version and kind",
            )
        )
    if root.owner_ref is not None:
        problems.append(
            Problem("owner-refs", f"{root.where}.ownerRef", "the root component must not have an ownerRef")
        )
    if root.status is None:
        problems.append(
            Problem(
                "root-status", f"{root.where}.statusDefinition", "the root component needs a statusDefinition"
            )
        )
    for child in definition.children:
        if child.kind is None or not (child.kind.version and child.kind.kind):
            problems.append(
                Problem("child-gvk", f"{child.where}.kind", "a child component needs version and kind")
            )
    return problems


def _ownership(definition: Definition) -> list[Problem]:
    names = {c.name for c in definition.components}
    problems = []
    parents: dict[str, str] = {}
    for child in definition.children:
        if child.owner_ref is None:
            problems.append(
                Problem("owner-refs", f"{child.where}.ownerRef", "a child component needs an ownerRef")
            )
        elif child.owner_ref not in names:
            problems.append(
                Problem(
                    "owner-refs",
                    f"{child.where}.ownerRef",
                    f"ownerRef {child.owner_ref!r} names no component (known: {', '.join(sorted(names))})",
                )
            )
        elif child.owner_ref == child.name:
            problems.append(
                Problem("owner-cycle", f"{child.where}.ownerRef", "a component cannot own itself")
            )
        else:
            parents[child.name] = child.owner_ref
    reported: set[str] = set()
    for child in definition.children:
        chain = [child.name]
        current = child.name
        while current in parents:
            current = parents[current]
            if current in chain:
                cycle = [*chain[chain.index(current) :], current]
                if not reported.intersection(cycle):
                    problems.append(
                        Problem(
                            "owner-cycle",
                            f"{child.where}.ownerRef",
                            f"ownership cycle: {' -> '.join(cycle)} never reaches the root {definition.root.name!r}",
                        )
                    )
                    reported.update(cycle)
                break
            chain.append(current)
    return problems


def _specs(definition: Definition) -> list[Problem]:
    problems = []
    for component in definition.components:
        spec = component.spec
        if spec is None:
            continue
        if len(spec.kinds_set) > 1:
            problems.append(
                Problem(
                    "spec-exclusive",
                    f"{component.where}.specDefinition",
                    f"set at most one of podTemplateSpecPath, podSpecPath, fragmentedPodSpecDefinition "
                    f"(found {', '.join(spec.kinds_set)})",
                )
            )
        if spec.metadata_path is not None and spec.pod_spec_path is None:
            problems.append(
                Problem(
                    "spec-exclusive",
                    f"{component.where}.specDefinition.metadataPath",
                    "metadataPath goes with podSpecPath only",
                )
            )
    return problems


def _instances(definition: Definition) -> list[Problem]:
    problems = []
    for component in definition.components:
        has_path = component.instance_id_path is not None
        has_selector = (
            component.pod_selector is not None and component.pod_selector.instance_id_path is not None
        )
        if has_path and not has_selector:
            problems.append(
                Problem(
                    "instance-id-pair",
                    f"{component.where}.podSelector.componentInstanceSelector",
                    "instanceIdPath is set, so podSelector.componentInstanceSelector is required",
                )
            )
        if has_selector and not has_path:
            problems.append(
                Problem(
                    "instance-id-pair",
                    f"{component.where}.instanceIdPath",
                    "podSelector.componentInstanceSelector is set, so instanceIdPath is required",
                )
            )
    return problems


def _pod_groups(definition: Definition) -> list[Problem]:
    names = {c.name for c in definition.components}
    problems = []
    seen: set[str] = set()
    for group in definition.pod_groups:
        if group.name in seen:
            problems.append(
                Problem("pod-groups", f"{group.where}.name", f"pod group {group.name!r} is defined twice")
            )
        seen.add(group.name)
        if not group.members:
            problems.append(
                Problem("pod-groups", f"{group.where}.members", "a pod group needs at least one member")
            )
        for member in group.members:
            if member.component_name not in names:
                problems.append(
                    Problem(
                        "pod-groups",
                        f"{member.where}.componentName",
                        f"{member.component_name!r} names no component",
                    )
                )
    return problems


def _expressions(definition: Definition) -> list[Problem]:
    everywhere = by_name(definition.dialect).jq_read_only_everywhere
    problems = []
    for expression in [*definition.expressions(), *definition.suspend_expressions()]:
        reason = jqexpr.compile_check(expression.text)
        if reason is not None:
            problems.append(Problem("expressions-compile", expression.where, reason))
            continue
        reason = read_only_problem(expression.text, everywhere=everywhere)
        if reason is not None:
            problems.append(Problem("expressions-read-only", expression.where, reason))
    return problems
