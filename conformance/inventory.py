"""The feature matrix's inventory (``inventory.yaml``): KubeRay behaviours that move Pods, per version.

Pure: reads the packaged YAML and answers which features exist, in which pinned versions, and which
scenario drives each (or why none does yet). The scenarios (``conformance/live/scenarios/``) say which
features they drive, once, in their ``@scenario(name, root=..., drives=[...])``; this module reads
those declarations from the package's source text (it never imports the live side). ``--features``
selects the scenarios.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from conformance.errors import UserError

TYPES = ("field", "flag", "feature-gate", "label", "fault")
CHANGES = ("pods", "labels", "owners", "children", "status")


@dataclass(frozen=True)
class Gate:
    name: str
    default_on: tuple[str, ...]  # versions where the gate is on by default (the chart's default flags)
    # The harness turns the gate on in the operators it starts (local and kind), wherever the version
    # has the feature: for gates that only start the controller of a kind of their own (RayCronJob),
    # so that kind's definition can be proved without changing what the operator does to any other.
    harness_on: bool = False


@dataclass(frozen=True)
class Feature:
    name: str
    kinds: tuple[str, ...]
    what: str
    type: str
    versions: tuple[str, ...]
    changes: tuple[str, ...]
    effect: str
    scenarios: tuple[str, ...]  # the scenarios that drive it, in the order they are declared (none: reason)
    reason: str | None
    gate: Gate | None = None
    statuses: tuple[str, ...] = ()  # Karta statuses a phase of the scenario expects beyond the default ones
    actions: tuple[str, ...] = ()  # root suspend/resume actions the scenario's phases are reached by
    # the operator's --batch-scheduler the scenario needs (a flag for the whole cluster: a run's
    # --batch-scheduler, not one scenario's)
    batch_scheduler: str | None = None
    # a batch scheduler with which the feature does not work at all (n/a on such a run), where and why
    not_with_batch_scheduler: Conflict | None = None

    @property
    def scenario(self) -> str | None:
        """The first scenario that drives it (None: none does yet)."""
        return self.scenarios[0] if self.scenarios else None

    def exists_in(self, version: str) -> bool:
        return version in self.versions

    def active_in(self, version: str) -> bool:
        """Exists in ``version`` and, when gated, the gate is on with the chart's default flags or
        turned on by the harness (``gate.harness_on``)."""
        return self.exists_in(version) and (
            self.gate is None or version in self.gate.default_on or self.gate.harness_on
        )


@dataclass(frozen=True)
class Conflict:
    """The operator's --batch-scheduler ``scheduler`` stops the feature in these versions, for ``why``."""

    scheduler: str
    versions: tuple[str, ...]
    why: str

    def applies(self, scheduler: str, version: str) -> bool:
        return scheduler == self.scheduler and version in self.versions


def _conflict(raw: Any) -> Conflict | None:
    if not isinstance(raw, dict):
        return None
    return Conflict(
        str(raw.get("scheduler", "")),
        tuple(str(v) for v in raw.get("versions") or ()),
        " ".join(str(raw.get("why", "")).split()),
    )


class InventoryError(ValueError):
    """inventory.yaml breaks its own rules (a developer error: the unit tests catch it)."""


def parse(raw: Any, drivers: Mapping[str, tuple[str, ...]] | None = None) -> tuple[Feature, ...]:
    """The inventory's entries; each feature's scenarios from ``drivers`` (feature -> scenarios; default:
    the scenarios' own declarations, :func:`scenario_drivers`)."""
    drivers = scenario_drivers() if drivers is None else drivers
    if not isinstance(raw, dict) or not isinstance(raw.get("features"), list):
        raise InventoryError("inventory.yaml: a mapping with a `features` list")
    found: list[Feature] = []
    for index, entry in enumerate(raw["features"]):
        where = f"features[{index}]"
        if not isinstance(entry, dict):
            raise InventoryError(f"{where}: not a mapping")
        unknown = set(entry) - {
            "name",
            "kinds",
            "what",
            "type",
            "versions",
            "gate",
            "changes",
            "effect",
            "reason",
            "statuses",
            "actions",
            "batch_scheduler",
            "not_with_batch_scheduler",
        }
        if "scenario" in unknown:
            raise InventoryError(
                f"{where}: `scenario` is not written in the inventory: the scenario names the features it "
                "drives (@scenario(..., drives=[...]) in conformance/live/scenarios/)"
            )
        if unknown:
            raise InventoryError(f"{where}: unknown keys {sorted(unknown)}")
        gate = entry.get("gate")
        found.append(
            Feature(
                name=str(entry.get("name", "")),
                kinds=tuple(str(k) for k in entry.get("kinds") or ()),
                what=str(entry.get("what", "")),
                type=str(entry.get("type", "")),
                versions=tuple(str(v) for v in entry.get("versions") or ()),
                changes=tuple(str(c) for c in entry.get("changes") or ()),
                effect=" ".join(str(entry.get("effect", "")).split()),
                scenarios=tuple(drivers.get(str(entry.get("name", ""))) or ()),
                reason=" ".join(str(entry["reason"]).split()) if entry.get("reason") else None,
                gate=Gate(
                    str(gate["name"]),
                    tuple(str(v) for v in gate.get("default_on") or ()),
                    harness_on=gate.get("harness_on") is True,
                )
                if isinstance(gate, dict) and gate.get("name")
                else None,
                statuses=tuple(str(v) for v in entry.get("statuses") or ()),
                actions=tuple(str(v) for v in entry.get("actions") or ()),
                batch_scheduler=str(entry["batch_scheduler"]) if entry.get("batch_scheduler") else None,
                not_with_batch_scheduler=_conflict(entry.get("not_with_batch_scheduler")),
            )
        )
    return tuple(found)


def problems(features: tuple[Feature, ...], pinned: tuple[str, ...]) -> list[str]:
    """Every rule an inventory entry breaks (empty: the inventory is well-formed)."""
    found = []
    seen: set[str] = set()
    for feature in features:
        name = feature.name or "?"
        if not feature.name:
            found.append("an entry has no name")
        if feature.name in seen:
            found.append(f"{name}: listed twice")
        seen.add(feature.name)
        if bool(feature.scenarios) == bool(feature.reason):
            found.append(
                f"{name}: needs exactly one of `scenario` and `reason` "
                f"(has {'both' if feature.scenario else 'neither'})"
            )
        if not feature.versions:
            found.append(f"{name}: no versions")
        for version in feature.versions:
            if version not in pinned:
                found.append(
                    f"{name}: version {version} is not pinned in versions.yaml ({', '.join(pinned)})"
                )
        if feature.gate is not None:
            for version in feature.gate.default_on:
                if version not in feature.versions:
                    found.append(
                        f"{name}: gate {feature.gate.name} on by default in {version}, which lacks it"
                    )
        if feature.type not in TYPES:
            found.append(f"{name}: type {feature.type!r} is not one of {', '.join(TYPES)}")
        for change in feature.changes:
            if change not in CHANGES:
                found.append(f"{name}: change {change!r} is not one of {', '.join(CHANGES)}")
        if feature.statuses and not feature.scenario:
            found.append(f"{name}: statuses {list(feature.statuses)} need a scenario that shows them")
        if feature.actions and not feature.scenario:
            found.append(f"{name}: actions {list(feature.actions)} need a scenario that takes them")
        for action in feature.actions:
            if action not in ("suspend", "resume"):
                found.append(f"{name}: action {action!r} is not suspend or resume")
        if not feature.changes or not feature.kinds or not feature.what or not feature.effect:
            found.append(f"{name}: kinds, what, changes and effect are all required")
    return found


SCENARIOS_PACKAGE = ("live", "scenarios")  # under conformance/: the scenarios, one module per family


@functools.cache
def scenario_drivers() -> dict[str, tuple[str, ...]]:
    """Feature -> the scenarios that drive it, read from each ``@scenario("name", ..., drives=[...])``
    in the scenarios' source (literals only: a test holds these equal to what the decorators register),
    in the order of the modules (by name) and of the scenarios in each. Most features have one; one
    that several roots show (Kueue's admission of a RayJob, a RayCluster, a RayService) has several."""
    folder = resources.files("conformance").joinpath(*SCENARIOS_PACKAGE)
    found: dict[str, tuple[str, ...]] = {}
    for module in sorted(folder.iterdir(), key=lambda m: m.name):
        if not module.name.endswith(".py"):
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        functions = sorted(
            (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)), key=lambda n: n.lineno
        )
        for node in functions:
            for decorator in node.decorator_list:
                for feature, name in _declared(decorator):
                    if name not in found.get(feature, ()):
                        found[feature] = (*found.get(feature, ()), name)
    return found


def _declared(decorator: ast.expr) -> list[tuple[str, str]]:
    """(feature, scenario) for each literal feature of ``@scenario("name", ..., drives=[...])``."""
    if not (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Name)
        and decorator.func.id == "scenario"
        and decorator.args
        and isinstance(decorator.args[0], ast.Constant)
    ):
        return []
    name = str(decorator.args[0].value)
    for keyword in decorator.keywords:
        if keyword.arg == "drives" and isinstance(keyword.value, (ast.List, ast.Tuple)):
            return [(str(e.value), name) for e in keyword.value.elts if isinstance(e, ast.Constant)]
    return []


@functools.cache
def load() -> tuple[Feature, ...]:
    text = resources.files("conformance").joinpath("inventory.yaml").read_text()
    return parse(yaml.safe_load(text))


def by_name() -> dict[str, Feature]:
    return {f.name: f for f in load()}


def kind_feature(kind: str) -> Feature | None:
    """The entry that brings root kind ``kind`` itself (a gated kind of its own: RayCronJob), if any."""
    for feature in load():
        if feature.type == "feature-gate" and feature.kinds == (kind,):
            return feature
    return None


def harness_gates(version: str) -> tuple[str, ...]:
    """The feature gates the harness turns on in the KubeRay ``version`` operators it starts, beyond the
    chart's defaults (each only starts the controller of a kind of its own)."""
    return tuple(
        sorted(
            {
                f.gate.name
                for f in load()
                if f.gate is not None
                and f.gate.harness_on
                and f.exists_in(version)
                and version not in f.gate.default_on
            }
        )
    )


def select(spec: str | None) -> tuple[Feature, ...]:
    """``--features``: None (the default set, no feature scenarios), ``all``, or ``NAME,...``;
    an unknown name exits 2 naming the known ones."""
    if spec is None:
        return ()
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise UserError("--features: name at least one feature, or `all`")
    if names == ["all"]:
        return load()
    known = by_name()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(
            f"--features: unknown feature(s) {', '.join(unknown)}; known: all, {', '.join(known)}"
        )
    return tuple(known[n] for n in dict.fromkeys(names))
