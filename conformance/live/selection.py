"""``--features``: which scenarios a run drives at one KubeRay version, and a verdict for each selected
feature the run cannot show (N/A where the version lacks it, UNVERIFIED where no scenario drives it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from conformance import inventory
from conformance.definition.model import Definition
from conformance.live.scenarios import REGISTRY, default_scenarios
from conformance.verdict import Outcome, Verdict, verdict_for


@dataclass
class Selection:
    """What ``--features`` asks for at one KubeRay version: the scenarios to run, and a verdict for each
    selected feature this run cannot show (n/a: the version lacks it or its gate is off by default;
    unverified: no scenario drives it yet, with the inventory's reason)."""

    version: str
    features: tuple[inventory.Feature, ...] = ()
    everything: bool = False  # `all`: the default scenarios too
    batch_scheduler: str = ""  # the run's --batch-scheduler (the operator's, for every scenario)

    @property
    def selected(self) -> bool:
        return bool(self.features)

    def runnable(self, feature: inventory.Feature) -> bool:
        return (
            bool(feature.scenarios)
            and feature.active_in(self.version)
            and (feature.batch_scheduler or "") in ("", self.batch_scheduler)
            and not self._refused(feature)
        )

    def _refused(self, feature: inventory.Feature) -> bool:
        conflict = feature.not_with_batch_scheduler
        return conflict is not None and conflict.applies(self.batch_scheduler, self.version)

    @property
    def scenarios(self) -> list[str] | None:
        """Scenario names to run in order (None: the default set, as without --features)."""
        if not self.selected:
            return None
        names = default_scenarios(self.version) if self.everything else []
        for feature in self.features:
            if self.runnable(feature):
                names.extend(s for s in feature.scenarios if s not in names)
        return names

    def state(self, feature: inventory.Feature) -> tuple[Outcome | None, str]:
        if not feature.exists_in(self.version):
            return Outcome.NOT_APPLICABLE, (
                f"KubeRay {self.version} does not have {feature.what} (it exists in {', '.join(feature.versions)})"
            )
        if feature.gate is not None and not feature.active_in(self.version):
            return Outcome.NOT_APPLICABLE, (
                f"needs feature gate {feature.gate.name}, off in KubeRay {self.version}'s default flags"
            )
        if feature.not_with_batch_scheduler is not None and self._refused(feature):
            return Outcome.NOT_APPLICABLE, (
                f"not with --batch-scheduler {self.batch_scheduler} in KubeRay {self.version}: "
                f"{feature.not_with_batch_scheduler.why}"
            )
        if not feature.scenarios:
            return Outcome.UNVERIFIED, f"no scenario drives {feature.what} yet: {feature.reason}"
        if feature.batch_scheduler and feature.batch_scheduler != self.batch_scheduler:
            return Outcome.UNVERIFIED, (
                f"needs a run with --batch-scheduler {feature.batch_scheduler} (the operator's flag acts on "
                "every workload of the cluster, so it is a run's, not a scenario's)"
            )
        plural = "s" if len(feature.scenarios) > 1 else ""
        return None, f"driven by scenario{plural} {', '.join(feature.scenarios)}"

    def verdicts(self, definitions: Sequence[Definition], verdicts: list[Verdict]) -> list[Verdict]:
        """``verdicts`` with a feature verdict per selected feature and definition of its kinds; a
        definition whose kind no selected scenario drives is n/a, not an ERROR."""
        driven = {REGISTRY[n].root_kind for n in self.scenarios or [] if n in REGISTRY}
        kept = [
            v
            if not (
                v.claim == "scenario"
                and v.phase == "live"
                and _kind_of(definitions, v.definition) not in driven
            )
            else replace(
                v,
                outcome=Outcome.NOT_APPLICABLE,
                message=f"{v.message} (not driven by the selected features)",
            )
            for v in verdicts
        ]
        for feature in self.features:
            outcome, message = self.state(feature)
            if outcome is None:
                continue
            for definition in definitions:
                if _kind_of(definitions, definition.name) in feature.kinds:
                    kept.append(
                        verdict_for(
                            definition, "feature", feature.name, f"feature/{feature.name}", outcome, message
                        )
                    )
        return kept

    def meta(self, seconds: dict[str, float]) -> dict[str, Any]:
        return {
            feature.name: {
                "scenario": feature.scenario,
                "scenarios": list(feature.scenarios),
                "state": (self.state(feature)[0] or "ran").__str__().lower(),
                "why": self.state(feature)[1],
                "seconds": round(sum(seconds[s] for s in feature.scenarios if s in seconds), 1)
                if any(s in seconds for s in feature.scenarios)
                else None,
            }
            for feature in self.features
        }


def _kind_of(definitions: Sequence[Definition], name: str) -> str | None:
    for definition in definitions:
        if definition.name == name and definition.root.kind is not None:
            return definition.root.kind.kind
    return None


def selection(spec: str | None, version: str, batch_scheduler: str = "") -> Selection:
    """``--features`` for KubeRay ``version`` on a run whose operator has ``batch_scheduler``; unknown
    names exit 2 (before any cluster work)."""
    chosen = inventory.select(spec)
    return Selection(
        version, chosen, everything=(spec or "").strip() == "all", batch_scheduler=batch_scheduler
    )
