"""Read Karta definition YAML, in either dialect, into :class:`Definition` objects.

A document is a ``run.ai/v1alpha1`` ``Karta`` or an ``optimization.nvidia.com/v1alpha1``
``ResourceInterface`` (:mod:`conformance.definition.dialects`); each is read against its own
schema. Structural problems (YAML that does not parse, a document of neither dialect, a field of
the wrong type, an unknown field, a field the dialect does not have) raise
:class:`DefinitionError` with one line naming file, dialect and field. Karta's semantic
rules (owner references, cycles, expressions that compile, ...) are checked
separately by :mod:`conformance.definition.rules`, because they are verdicts
about a definition that could be read, not input errors.
"""

from __future__ import annotations

import copy
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance import inputs
from conformance.definition.dialects import Dialect, all_dialects, for_document
from conformance.definition.model import (
    FRAGMENT_FIELDS,
    GVK,
    Component,
    ConditionMatch,
    ConditionsDefinition,
    Context,
    Definition,
    Expression,
    ExpressionMatch,
    Matcher,
    PodGroup,
    PodGroupMember,
    PodSelector,
    ScaleDefinition,
    SpecDefinition,
    StatusDefinition,
    SuspendAction,
    SuspendDefinition,
    TypeSelector,
)
from conformance.errors import DefinitionError

YAML_SUFFIXES = (".yaml", ".yml")


def load_path(path: str | Path) -> list[Definition]:
    """Load every ResourceInterface from a file, or from the YAML files directly in a folder.

    The tree given is the folder named (or the folder of the file named): a symlink leaving it,
    a FIFO, a device or anything but a regular file or folder is refused (:mod:`conformance.inputs`).
    """
    path = Path(path)
    tree = path if path.is_dir() else path.parent
    if stat.S_ISDIR(inputs.check_path(path, tree, _refuse).st_mode):
        files = inputs.yaml_files(path, tree, _refuse)
        if not files:
            raise DefinitionError("no .yaml or .yml files in this folder", where=str(path))
        definitions: list[Definition] = []
        for file in files:
            definitions.extend(load_file(file, tree))
        return definitions
    return load_file(path, tree)


def _refuse(message: str, where: str) -> DefinitionError:
    return DefinitionError(message, where=where)


def load_definitions(paths: Iterable[str | Path]) -> list[Definition]:
    definitions: list[Definition] = []
    for path in paths:
        definitions.extend(load_path(path))
    seen: dict[str, str] = {}
    for definition in definitions:
        if definition.name in seen:
            raise DefinitionError(
                f"metadata.name: {definition.name!r} is also defined in {seen[definition.name]}",
                where=definition.source,
            )
        seen[definition.name] = definition.source
    return definitions


def load_file(path: Path, tree: Path | None = None) -> list[Definition]:
    text = inputs.read_text(path, path.parent if tree is None else tree, _refuse)
    return load_text(text, str(path))


def load_text(text: str, source: str) -> list[Definition]:
    documents = [doc for doc in inputs.load_all(text, source, _refuse) if doc is not None]
    if not documents:
        raise DefinitionError("no YAML documents", where=source)
    multi = len(documents) > 1
    return [
        _definition(doc, f"{source}#{index + 1}" if multi else source) for index, doc in enumerate(documents)
    ]


def load_document(document: Any, source: str) -> Definition:
    """One already-parsed document (e.g. a Karta object as the API server returned it)."""
    return _definition(document, source)


# ---------------------------------------------------------------------------
# A strict reader: every field is typed, unknown fields are errors.


class _Node:
    """A mapping being read, with its location for error messages."""

    def __init__(self, source: str, where: str, value: Any, dialect: Dialect | None = None) -> None:
        self.source = source
        self.where = where
        self.dialect = dialect
        if not isinstance(value, Mapping):
            raise self.error(f"{where or 'document'}: expected a mapping, got {_type(value)}")
        self.value = value
        self.read: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def error(self, message: str) -> DefinitionError:
        """One line naming the dialect the document was read as."""
        prefix = f"{self.dialect.label}: " if self.dialect else ""
        return DefinitionError(prefix + message, where=self.source)

    def fail(self, key: str, message: str) -> DefinitionError:
        return self.error(f"{self.at(key)}: {message}")

    def raw(self, key: str) -> Any:
        self.read.add(key)
        return self.value.get(key)

    def string(self, key: str, *, required: bool = False, allow_empty: bool = False) -> str | None:
        value = self.raw(key)
        if value is None:
            if required:
                raise self.fail(key, "required field is missing")
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {_type(value)}")
        if not value.strip() and not allow_empty:
            raise self.fail(key, "must not be empty")
        return value

    def expr(self, key: str, context: Context, *, required: bool = False) -> Expression | None:
        text = self.string(key, required=required)
        return None if text is None else Expression(text=text, where=self.at(key), context=context)

    def node(self, key: str, *, required: bool = False) -> _Node | None:
        value = self.raw(key)
        if value is None:
            if required:
                raise self.fail(key, "required field is missing")
            return None
        return _Node(self.source, self.at(key), value, self.dialect)

    def nodes(self, key: str, *, label: str | None = None) -> list[_Node]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_type(value)}")
        result = []
        for index, item in enumerate(value):
            name = item.get(label) if label and isinstance(item, Mapping) else None
            tag = name if isinstance(name, str) and name else str(index)
            result.append(_Node(self.source, f"{self.at(key)}[{tag}]", item, self.dialect))
        return result

    def strings(self, key: str) -> list[tuple[str, str]]:
        """A list of strings, each with its own location."""
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of strings, got {_type(value)}")
        result = []
        for index, item in enumerate(value):
            where = f"{self.at(key)}[{index}]"
            if not isinstance(item, str) or not item.strip():
                raise self.error(f"{where}: expected a non-empty string, got {_type(item)}")
            result.append((item, where))
        return result

    def done(self) -> None:
        unknown = sorted(set(self.value) - self.read)
        if unknown:
            elsewhere = _only_in_other_dialect(unknown[0], self.dialect)
            raise self.fail(
                unknown[0], "unknown field" + (f" (only {elsewhere} has it)" if elsewhere else "")
            )


def _only_in_other_dialect(key: str, dialect: Dialect | None) -> str | None:
    """Name the other dialect when ``key`` is one of its fields (a ResourceInterface with a
    suspendDefinition is a Karta-dialect document with the wrong apiVersion)."""
    for other in all_dialects():
        if other is dialect:
            continue
        if (key == "suspendDefinition" and other.suspend) or (
            dialect is not None and key in other.statuses and key not in dialect.statuses
        ):
            return other.label
    return None


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _definition(document: Any, source: str) -> Definition:
    top = _Node(source, "", document)
    api_version = top.string("apiVersion", required=True)
    kind = top.string("kind", required=True)
    assert api_version is not None and kind is not None
    dialect = for_document(api_version, kind)
    if dialect is None:
        expected = " or ".join(f"{d.api_version} {d.kind}" for d in all_dialects())
        raise DefinitionError(
            f"not a Karta definition (apiVersion {api_version!r}, kind {kind!r}; expected {expected})",
            where=source,
        )
    top.dialect = dialect
    metadata = top.node("metadata", required=True)
    assert metadata is not None
    name = metadata.string("name", required=True)
    assert name is not None
    labels = _labels(metadata)
    metadata.read.update(metadata.value.keys())  # annotations ... are free-form
    spec = top.node("spec", required=True)
    assert spec is not None
    top.read.add("status")
    top.done()

    structure = spec.node("structureDefinition", required=True)
    assert structure is not None
    # Locations inside structureDefinition are written relative to it, as Karta users read them.
    structure.where = ""
    root_node = structure.node("rootComponent", required=True)
    assert root_node is not None
    root = _component(root_node, "rootComponent", is_root=True, dialect=dialect)
    children = tuple(
        _component(node, f"childComponents[{_name_of(node)}]", is_root=False, dialect=dialect)
        for node in structure.nodes("childComponents", label="name")
    )
    extra_kinds = tuple(_gvk(node) for node in structure.nodes("additionalChildKinds"))
    structure.done()

    pod_groups: tuple[PodGroup, ...] = ()
    instructions = spec.node("optimizationInstructions")
    if instructions is not None:
        instructions.where = "optimizationInstructions"
        gang = instructions.node("gangScheduling")
        if gang is not None:
            pod_groups = tuple(_pod_group(node) for node in gang.nodes("podGroups", label="name"))
            gang.done()
        instructions.read.update(instructions.value.keys())  # other instructions are not ours to check
    spec.done()
    return Definition(
        name=name,
        source=source,
        root=root,
        children=children,
        additional_child_kinds=extra_kinds,
        pod_groups=pod_groups,
        dialect=dialect.name,
        labels=labels,
        document=copy.deepcopy(dict(document)),
    )


def _labels(metadata: _Node) -> dict[str, str]:
    value = metadata.raw("labels")
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise metadata.fail("labels", "expected a mapping of strings to strings")
    return dict(value)


def _name_of(node: _Node) -> str:
    name = node.value.get("name")
    return name if isinstance(name, str) and name else "?"


def _gvk(node: _Node) -> GVK:
    group = node.string("group", allow_empty=True) or ""
    version = node.string("version", required=True)
    kind = node.string("kind", required=True)
    node.done()
    assert version is not None and kind is not None
    return GVK(group=group, version=version, kind=kind)


def _component(node: _Node, where: str, *, is_root: bool, dialect: Dialect) -> Component:
    node.where = where
    name = node.string("name", required=True)
    assert name is not None
    kind_node = node.node("kind")
    kind = _gvk(kind_node) if kind_node is not None else None
    owner_ref = node.string("ownerRef")
    spec_node = node.node("specDefinition")
    scale_node = node.node("scaleDefinition")
    status_node = node.node("statusDefinition")
    selector_node = node.node("podSelector")
    suspend_node = node.node("suspendDefinition") if dialect.suspend else None
    component = Component(
        name=name,
        where=where,
        kind=kind,
        owner_ref=owner_ref,
        spec=_spec(spec_node) if spec_node else None,
        scale=_scale(scale_node) if scale_node else None,
        instance_id_path=node.expr("instanceIdPath", Context.ROOT),
        pod_selector=_selector(selector_node) if selector_node else None,
        status=_status(status_node, dialect) if status_node else None,
        is_root=is_root,
        suspend=_suspend(suspend_node) if suspend_node else None,
    )
    node.done()
    return component


def _spec(node: _Node) -> SpecDefinition:
    fragments: dict[str, Expression] = {}
    fragment_node = node.node("fragmentedPodSpecDefinition")
    if fragment_node is not None:
        for key in FRAGMENT_FIELDS:
            expr = fragment_node.expr(key, Context.ROOT)
            if expr is not None:
                fragments[key] = expr
        fragment_node.done()
    spec = SpecDefinition(
        pod_template_spec_path=node.expr("podTemplateSpecPath", Context.ROOT),
        pod_spec_path=node.expr("podSpecPath", Context.ROOT),
        metadata_path=node.expr("metadataPath", Context.ROOT),
        fragments=fragments,
    )
    node.done()
    return spec


def _scale(node: _Node) -> ScaleDefinition:
    scale = ScaleDefinition(
        replicas_path=node.expr("replicasPath", Context.ROOT),
        min_replicas_path=node.expr("minReplicasPath", Context.ROOT),
        max_replicas_path=node.expr("maxReplicasPath", Context.ROOT),
    )
    node.done()
    return scale


def _selector(node: _Node) -> PodSelector:
    type_node = node.node("componentTypeSelector")
    component_type = None
    if type_node is not None:
        key_path = type_node.expr("keyPath", Context.POD, required=True)
        assert key_path is not None
        value = type_node.raw("value")
        if value is not None and not isinstance(value, str):
            raise type_node.fail("value", f"expected a string, got {_type(value)}")
        component_type = TypeSelector(key_path=key_path, value=value)
        type_node.done()
    instance_node = node.node("componentInstanceSelector")
    instance_path = None
    if instance_node is not None:
        instance_path = instance_node.expr("idPath", Context.POD, required=True)
        instance_node.done()
    replica_node = node.node("replicaSelector")
    replica_path = None
    if replica_node is not None:
        replica_path = replica_node.expr("keyPath", Context.POD, required=True)
        replica_node.done()
    node.done()
    return PodSelector(
        component_type=component_type, instance_id_path=instance_path, replica_key_path=replica_path
    )


def _suspend(node: _Node) -> SuspendDefinition:
    def actions(key: str) -> tuple[SuspendAction, ...]:
        if node.raw(key) is None:
            raise node.fail(key, "required field is missing")
        items = node.nodes(key)
        if not items:
            raise node.fail(key, "needs at least one action")
        result = []
        for item in items:
            path = item.expr("path", Context.ROOT, required=True)
            assert path is not None
            if "value" not in item.value:
                raise item.fail("value", "required field is missing")
            result.append(SuspendAction(path=path, value=item.raw("value")))
            item.done()
        return tuple(result)

    suspend = SuspendDefinition(
        suspend_actions=actions("suspendActions"), resume_actions=actions("resumeActions"), where=node.where
    )
    node.done()
    return suspend


def _status(node: _Node, dialect: Dialect) -> StatusDefinition:
    phase_node = node.node("phaseDefinition")
    phase_path = None
    if phase_node is not None:
        phase_path = phase_node.expr("path", Context.ROOT, required=True)
        phase_node.done()
    conditions = None
    conditions_node = node.node("conditionsDefinition")
    if conditions_node is not None:
        path = conditions_node.expr("path", Context.ROOT, required=True)
        assert path is not None
        conditions = ConditionsDefinition(
            path=path,
            type_field=conditions_node.string("typeFieldName") or "type",
            status_field=conditions_node.string("statusFieldName") or "status",
            message_field=conditions_node.string("messageFieldName") or "message",
            reason_field=conditions_node.string("reasonFieldName") or "reason",
        )
        conditions_node.done()
    mappings: dict[str, tuple[Matcher, ...]] = {}
    mappings_node = node.node("statusMappings")
    if mappings_node is not None:
        for status in dialect.statuses:
            matchers = tuple(_matcher(item) for item in mappings_node.nodes(status))
            if mappings_node.value.get(status) is not None:
                mappings[status] = matchers
        mappings_node.done()
    node.done()
    return StatusDefinition(phase_path=phase_path, conditions=conditions, mappings=mappings)


def _matcher(node: _Node) -> Matcher:
    by_phase = node.string("byPhase")
    conditions = []
    for item in node.nodes("byConditions"):
        condition_type = item.string("type", required=True)
        assert condition_type is not None
        conditions.append(
            ConditionMatch(type=condition_type, status=item.string("status"), reason=item.string("reason"))
        )
        item.done()
    by_expression = None
    expression_node = node.node("byExpression")
    if expression_node is not None:
        expression = expression_node.expr("expression", Context.ROOT, required=True)
        expected = expression_node.raw("expectedResult")
        if expected is None:
            raise expression_node.fail("expectedResult", "required field is missing")
        if not isinstance(expected, str):
            raise expression_node.fail("expectedResult", f"expected a string, got {_type(expected)}")
        assert expression is not None
        by_expression = ExpressionMatch(expression=expression, expected_result=expected)
        expression_node.done()
    node.done()
    if by_phase is None and not conditions and by_expression is None:
        raise node.error(f"{node.where}: a matcher needs at least one of byPhase, byConditions, byExpression")
    return Matcher(
        where=node.where, by_phase=by_phase, by_conditions=tuple(conditions), by_expression=by_expression
    )


def _pod_group(node: _Node) -> PodGroup:
    name = node.string("name", required=True)
    assert name is not None
    members = []
    for member in node.nodes("members", label="componentName"):
        component_name = member.string("componentName", required=True)
        assert component_name is not None
        paths = tuple(
            Expression(text=text, where=where, context=Context.POD)
            for text, where in member.strings("groupByKeyPaths")
        )
        filters = tuple(
            Expression(text=text, where=where, context=Context.POD)
            for text, where in member.strings("filters")
        )
        member.done()
        members.append(
            PodGroupMember(
                component_name=component_name, group_by_key_paths=paths, filters=filters, where=member.where
            )
        )
    node.done()
    return PodGroup(name=name, members=tuple(members), where=node.where)
