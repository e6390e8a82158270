"""Every scenario, by name, as ``@scenario`` registers it (``language.py``).

Kept apart from the language so that the Context (whose failures name the root kind of their scenario)
and the language can both read it without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.snapshot import Snapshot


@dataclass(frozen=True)
class Scenario:
    """A registered scenario: its driver, the root kind whose definitions its snapshots check, and the
    inventory features it drives (``conformance/inventory.yaml``)."""

    name: str
    run: Callable[[Any], list[Snapshot]]  # given the scenario's Context (context.py, which reads this)
    root_kind: str
    drives: tuple[str, ...] = ()
    # One of the default scenarios (a run without --features), else of the feature matrix.
    default: bool = False
    # Started before the others when scenarios run side by side (the longest: a run whose longest
    # scenario starts last waits for it alone at the end). Results keep the given order.
    slow: bool = False

    def __call__(self, ctx: Any) -> list[Snapshot]:
        return self.run(ctx)


# Every scenario, in the order the family modules register them.
REGISTRY: dict[str, Scenario] = {}
