"""The Karta APIs a definition can be written in, and what each of them allows.

Two dialects describe the same model (root and child components, spec/scale/status
definitions, pod selectors, gang pod groups):

- ``karta`` (:mod:`.karta`): ``run.ai/v1alpha1``, kind ``Karta``, what Karta's consumers read
  today; it adds suspend/resume actions and the Suspended, Suspending and Resuming statuses;
- ``resource-interface`` (:mod:`.resource_interface`): ``optimization.nvidia.com/v1alpha1``, kind
  ``ResourceInterface``, Karta up to v0.0.11.

The loader reads both into the one :class:`~conformance.definition.model.Definition` the
evaluator uses; what differs is checked per dialect (its fields, its statuses, its rules).
"""

from __future__ import annotations

from conformance.definition.dialects.base import Dialect
from conformance.definition.dialects.karta import KARTA
from conformance.definition.dialects.resource_interface import RESOURCE_INTERFACE

__all__ = ["Dialect", "all_dialects", "by_name", "for_document"]


def all_dialects() -> tuple[Dialect, ...]:
    return (KARTA, RESOURCE_INTERFACE)


def for_document(api_version: str, kind: str) -> Dialect | None:
    for dialect in all_dialects():
        if (dialect.api_version, dialect.kind) == (api_version, kind):
            return dialect
    return None


def by_name(name: str) -> Dialect:
    for dialect in all_dialects():
        if dialect.name == name:
            return dialect
    raise KeyError(name)
