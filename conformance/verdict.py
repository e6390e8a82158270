"""Verdicts: the outcome of checking one claim of one definition on one subject."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"  # the definition is wrong about what it claims
    ERROR = "error"  # the claim could not be evaluated (e.g. the definition is invalid)
    UNVERIFIED = "unverified"  # this machine lacks an input (e.g. a KubeRay version's CRDs); never silent
    CANNOT_EXPRESS = (
        "cannot-express"  # KubeRay does something Karta's schema has no way to say (a gap upstream)
    )
    NOT_APPLICABLE = "n/a"  # the feature does not exist in this KubeRay version (or is gated off by default)

    def __str__(self) -> str:
        return self.value.upper()


@dataclass(frozen=True)
class Verdict:
    definition: str  # metadata.name of the definition (a Karta or a ResourceInterface)
    source: str  # the file it came from
    claim: str  # claim id, e.g. "schema", "instance-alignment"
    subject: str  # the definition field (or component) the verdict is about
    phase: str  # "static", "static/v1.6.2", or a live scenario phase
    outcome: Outcome
    message: str
    expression: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.PASS

    def line(self) -> str:
        """The one line a definition author reads: file, component and field, what is wrong."""
        at = str(self.evidence.get("at") or self.subject)  # the field a per-component verdict found it at
        where = f"{self.source}: {at}" if at else self.source
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data


def verdict_for(
    definition: Named,
    claim: str,
    subject: str,
    phase: str,
    outcome: Outcome,
    message: str,
    expression: str | None = None,
    evidence: dict[str, Any] | None = None,
) -> Verdict:
    """A verdict about ``definition`` (anything with ``name`` and ``source``)."""
    return Verdict(
        definition=definition.name,
        source=definition.source,
        claim=claim,
        subject=subject,
        phase=phase,
        outcome=outcome,
        message=message,
        expression=expression,
        evidence=evidence or {},
    )


def exit_code(verdicts: list[Verdict], *, strict: bool = False) -> int:
    """0 when every verdict passes, 1 otherwise; UNVERIFIED and CANNOT_EXPRESS fail only when ``strict``,
    NOT_APPLICABLE never."""
    tolerated: tuple[Outcome, ...] = (Outcome.NOT_APPLICABLE,)
    if not strict:
        tolerated += (Outcome.UNVERIFIED, Outcome.CANNOT_EXPRESS)
    return 0 if all(v.ok or v.outcome in tolerated for v in verdicts) else 1
