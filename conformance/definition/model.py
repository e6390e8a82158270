"""The parsed form of a Karta definition, in either dialect (``run.ai/v1alpha1`` ``Karta`` or
``optimization.nvidia.com/v1alpha1`` ``ResourceInterface``, see :mod:`.dialects`).

Plain immutable data. Every jq expression keeps the location it was read from
(``childComponents[worker].podSelector.componentTypeSelector.keyPath``) so
that any verdict about it can name the file, the component and the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

API_VERSION = "optimization.nvidia.com/v1alpha1"  # the legacy dialect (kept for older callers)
KIND = "ResourceInterface"

STATUSES = ("initializing", "running", "completed", "failed", "degraded")  # ResourceInterface's
FRAGMENT_FIELDS = (
    "schedulerNamePath",
    "labelsPath",
    "annotationsPath",
    "resourcesPath",
    "resourceClaimsPath",
    "podAffinityPath",
    "nodeAffinityPath",
    "containersPath",
    "containerPath",
    "priorityClassNamePath",
    "imagePath",
)


class Context(Enum):
    """What a jq expression is applied to."""

    ROOT = "root"  # the workload's root object (the CR)
    POD = "pod"  # a live Pod


@dataclass(frozen=True)
class Expression:
    """One jq expression of a definition and where it was written."""

    text: str
    where: str  # e.g. "childComponents[worker].scaleDefinition.replicasPath"
    context: Context


@dataclass(frozen=True)
class GVK:
    group: str
    version: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.api_version}, Kind={self.kind}"


@dataclass(frozen=True)
class TypeSelector:
    key_path: Expression
    value: str | None


@dataclass(frozen=True)
class PodSelector:
    component_type: TypeSelector | None
    instance_id_path: Expression | None  # componentInstanceSelector.idPath
    replica_key_path: Expression | None  # replicaSelector.keyPath


@dataclass(frozen=True)
class SpecDefinition:
    pod_template_spec_path: Expression | None = None
    pod_spec_path: Expression | None = None
    metadata_path: Expression | None = None
    fragments: dict[str, Expression] = field(default_factory=dict)

    @property
    def kinds_set(self) -> list[str]:
        kinds = []
        if self.pod_template_spec_path:
            kinds.append("podTemplateSpecPath")
        if self.pod_spec_path:
            kinds.append("podSpecPath")
        if self.fragments:
            kinds.append("fragmentedPodSpecDefinition")
        return kinds


@dataclass(frozen=True)
class ScaleDefinition:
    replicas_path: Expression | None = None
    min_replicas_path: Expression | None = None
    max_replicas_path: Expression | None = None

    def paths(self) -> dict[str, Expression]:
        found = {
            "replicas": self.replicas_path,
            "minReplicas": self.min_replicas_path,
            "maxReplicas": self.max_replicas_path,
        }
        return {name: expr for name, expr in found.items() if expr is not None}


@dataclass(frozen=True)
class ConditionMatch:
    type: str
    status: str | None
    reason: str | None


@dataclass(frozen=True)
class ExpressionMatch:
    expression: Expression
    expected_result: str


@dataclass(frozen=True)
class Matcher:
    """All named criteria must hold (AND)."""

    where: str
    by_phase: str | None = None
    by_conditions: tuple[ConditionMatch, ...] = ()
    by_expression: ExpressionMatch | None = None


@dataclass(frozen=True)
class ConditionsDefinition:
    path: Expression
    type_field: str = "type"
    status_field: str = "status"
    message_field: str = "message"
    reason_field: str = "reason"


@dataclass(frozen=True)
class StatusDefinition:
    phase_path: Expression | None
    conditions: ConditionsDefinition | None
    mappings: dict[str, tuple[Matcher, ...]]  # status name -> matchers (OR)


@dataclass(frozen=True)
class SuspendAction:
    """One ``{path, value}`` assignment of a suspend or resume action (``run.ai/v1alpha1`` only)."""

    path: Expression
    value: Any  # any JSON value


@dataclass(frozen=True)
class SuspendDefinition:
    suspend_actions: tuple[SuspendAction, ...]
    resume_actions: tuple[SuspendAction, ...]
    where: str


@dataclass(frozen=True)
class Component:
    name: str
    where: str  # "rootComponent" or "childComponents[<name>]"
    kind: GVK | None
    owner_ref: str | None
    spec: SpecDefinition | None
    scale: ScaleDefinition | None
    instance_id_path: Expression | None
    pod_selector: PodSelector | None
    status: StatusDefinition | None
    is_root: bool = False
    suspend: SuspendDefinition | None = None  # run.ai/v1alpha1 only; not yet claimed

    @property
    def is_pod(self) -> bool:
        return self.kind is not None and self.kind.group == "" and self.kind.kind == "Pod"

    @property
    def is_leaf(self) -> bool:
        """Karta's leaf: a component with a pod template, a pod spec or a fragmented pod spec
        (metadataPath alone does not count). Karta assigns Pods to leaves only."""
        return bool(self.spec and self.spec.kinds_set)


@dataclass(frozen=True)
class PodGroupMember:
    component_name: str
    group_by_key_paths: tuple[Expression, ...]
    filters: tuple[Expression, ...]
    where: str


@dataclass(frozen=True)
class PodGroup:
    name: str
    members: tuple[PodGroupMember, ...]
    where: str


@dataclass(frozen=True)
class Definition:
    """One definition document (a Karta or a ResourceInterface)."""

    name: str
    source: str  # the file it came from (plus "#N" for the N-th document of a multi-document file)
    root: Component
    children: tuple[Component, ...]
    additional_child_kinds: tuple[GVK, ...]
    pod_groups: tuple[PodGroup, ...]
    dialect: str = "resource-interface"  # a Dialect name: "karta" or "resource-interface"
    labels: dict[str, str] = field(default_factory=dict)  # metadata.labels (consumers look Kartas up by them)
    # The document as read (what live admission applies to the cluster); not part of equality.
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def components(self) -> tuple[Component, ...]:
        return (self.root, *self.children)

    @property
    def leaves(self) -> tuple[Component, ...]:
        """The components Karta assigns Pods to, root first, then children in order."""
        return tuple(c for c in self.components if c.is_leaf)

    def ancestry(self, name: str) -> list[Component]:
        """``name``'s component, then its owner, up to the root (stops on a cycle)."""
        chain: list[Component] = []
        current = self.component(name)
        while current is not None and current not in chain:
            chain.append(current)
            current = self.component(current.owner_ref or "") if current.owner_ref else None
        return chain

    def component(self, name: str) -> Component | None:
        for component in self.components:
            if component.name == name:
                return component
        return None

    def children_of(self, name: str) -> list[Component]:
        return [c for c in self.children if c.owner_ref == name]

    def expressions(self) -> Iterator[Expression]:
        """Every jq expression in the definition, in document order."""
        for component in self.components:
            yield from component_expressions(component)
        for group in self.pod_groups:
            for member in group.members:
                yield from member.group_by_key_paths
                yield from member.filters

    def suspend_expressions(self) -> Iterator[Expression]:
        """The jq paths of every suspend and resume action (run.ai/v1alpha1 only). Kept out of
        :meth:`expressions`: no claim evaluates them yet, the rules and the schema check read them."""
        for component in self.components:
            if component.suspend is not None:
                for action in (*component.suspend.suspend_actions, *component.suspend.resume_actions):
                    yield action.path


def component_expressions(component: Component) -> Iterator[Expression]:
    spec = component.spec
    if spec is not None:
        for expr in (spec.pod_template_spec_path, spec.pod_spec_path, spec.metadata_path):
            if expr is not None:
                yield expr
        yield from spec.fragments.values()
    if component.scale is not None:
        yield from component.scale.paths().values()
    if component.instance_id_path is not None:
        yield component.instance_id_path
    selector = component.pod_selector
    if selector is not None:
        if selector.component_type is not None:
            yield selector.component_type.key_path
        if selector.instance_id_path is not None:
            yield selector.instance_id_path
        if selector.replica_key_path is not None:
            yield selector.replica_key_path
    status = component.status
    if status is not None:
        if status.phase_path is not None:
            yield status.phase_path
        if status.conditions is not None:
            yield status.conditions.path
        for matchers in status.mappings.values():
            for matcher in matchers:
                if matcher.by_expression is not None:
                    yield matcher.by_expression.expression
