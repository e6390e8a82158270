"""What a dialect is: the fields, statuses and rules one Karta API allows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str  # "karta" or "resource-interface" (the names `convert --to` takes)
    api_version: str
    kind: str
    statuses: tuple[str, ...]  # statusMappings keys, in the order Karta tries them
    suspend: bool  # components may carry a suspendDefinition
    jq_read_only_everywhere: bool  # the read-only jq rule looks inside every sub-expression
    read_at: str  # the upstream source the dialect's schema and rules were read from

    @property
    def label(self) -> str:
        """How error messages name the dialect."""
        return f"{self.kind} ({self.api_version})"
