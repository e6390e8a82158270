"""Turn a definition document from one dialect into the other, where the meaning is the same.

Both dialects share the whole structure (components, spec/scale/status definitions, selectors,
``optimizationInstructions.gangScheduling``), so converting is renaming ``apiVersion``/``kind``,
plus, towards ``ResourceInterface``, dropping what only ``run.ai/v1alpha1`` has: every
component's ``suspendDefinition`` and the ``suspended``/``suspending``/``resuming`` status
mappings. What is dropped is returned, one entry per field, never silently lost.

:func:`to_resource_interface` is also how the Karta v0.0.11 oracle (``ResourceInterface`` only)
evaluates a ``Karta``-dialect definition: it reports the lost fields as not checked by the oracle.
Documents are plain dicts (as ``yaml.safe_load`` gives them); the input is not modified.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from conformance.definition.dialects import Dialect, by_name, for_document
from conformance.definition.dialects.karta import KARTA
from conformance.definition.dialects.resource_interface import RESOURCE_INTERFACE
from conformance.errors import DefinitionError


@dataclass(frozen=True)
class Lost:
    """A field the target dialect has no place for."""

    field: str  # e.g. "rootComponent.suspendDefinition"
    reason: str

    def line(self) -> str:
        return f"{self.field}: {self.reason}"


def to_resource_interface(definition_document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The ``ResourceInterface`` form of a definition document (either dialect), and the fields
    that could not be converted (``"<field>: <why>"``, empty when the meaning is kept whole)."""
    document, lost = convert_document(definition_document, RESOURCE_INTERFACE)
    return document, [item.line() for item in lost]


def to_karta(definition_document: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The ``run.ai/v1alpha1`` ``Karta`` form (nothing is lost: Karta has every field)."""
    document, lost = convert_document(definition_document, KARTA)
    return document, [item.line() for item in lost]


def convert_document(document: dict[str, Any], target: Dialect | str) -> tuple[dict[str, Any], list[Lost]]:
    dialect = by_name(target) if isinstance(target, str) else target
    source = _dialect_of(document)
    result = copy.deepcopy(document)
    result["apiVersion"] = dialect.api_version
    result["kind"] = dialect.kind
    lost: list[Lost] = []
    if source is dialect:
        return result, lost
    for where, component in _components(result):
        if not dialect.suspend and "suspendDefinition" in component:
            del component["suspendDefinition"]
            lost.append(
                Lost(
                    f"{where}.suspendDefinition",
                    f"{dialect.label} has no suspend/resume actions ({source.label} only)",
                )
            )
        mappings = (component.get("statusDefinition") or {}).get("statusMappings")
        if isinstance(mappings, dict):
            for status in [s for s in mappings if s not in dialect.statuses]:
                del mappings[status]
                lost.append(
                    Lost(
                        f"{where}.statusDefinition.statusMappings.{status}",
                        f"{dialect.label} has no {status.capitalize()} status ({source.label} only)",
                    )
                )
    return result, lost


def convert_text(text: str, source: str, target: str) -> tuple[str, list[Lost]]:
    """Convert every document of a YAML file; the documents must load as definitions (exit 2 if not)."""
    from conformance.definition.loader import load_text

    load_text(text, source)  # bad input: one line, exit 2, before anything is written
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    converted = []
    lost: list[Lost] = []
    multi = len(documents) > 1
    for index, document in enumerate(documents):
        result, missing = convert_document(document, target)
        converted.append(result)
        prefix = f"#{index + 1} " if multi else ""
        lost.extend(Lost(prefix + item.field, item.reason) for item in missing)
    return yaml.safe_dump_all(converted, sort_keys=False, width=1000), lost


def _dialect_of(document: dict[str, Any]) -> Dialect:
    dialect = for_document(str(document.get("apiVersion")), str(document.get("kind")))
    if dialect is None:
        raise DefinitionError(
            f"not a Karta definition (apiVersion {document.get('apiVersion')!r}, kind {document.get('kind')!r})"
        )
    return dialect


def _components(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    structure = (document.get("spec") or {}).get("structureDefinition") or {}
    root = structure.get("rootComponent")
    if isinstance(root, dict):
        yield "rootComponent", root
    for child in structure.get("childComponents") or []:
        if isinstance(child, dict):
            yield f"childComponents[{child.get('name', '?')}]", child
