"""What a definition says that no claim checks yet: reported as UNVERIFIED by name, never dropped.

The ``run.ai/v1alpha1`` dialect has fields the claims do not cover yet (issue #15, part 5):
suspend/resume actions, and the Suspended, Suspending and Resuming statuses (no scenario suspends
a workload). The loader reads them into the model, the rules validate their jq, the schema claim
checks the action paths exist in the CRD; this module says what remains unproven.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from conformance import inventory
from conformance.claims import names
from conformance.definition.dialects.karta import ONLY_HERE_STATUSES
from conformance.definition.model import Definition
from conformance.verdict import Outcome, Verdict, verdict_for

CLAIM = names.NOT_CHECKED


def not_checked(
    definition: Definition,
    phase: str,
    shown: Collection[str] | None = None,
    acted: Collection[str] = (),
    version: str | None = None,
) -> list[Verdict]:
    """``shown``: the statuses live Snapshots of this definition's kind expected (live runs); static runs
    pass None and take the statuses a feature scenario of the inventory shows for the root kind
    (``check --live --features NAME``), since a claim then exists for them. ``version``: the KubeRay
    version of a live run; a status that only features this version lacks can show is N/A there."""
    verdicts = []
    kind = definition.root.kind.kind if definition.root.kind else ""
    scenarios = [f for f in inventory.load() if kind in f.kinds and f.scenario]
    driven = {s: f.name for f in scenarios for s in f.statuses}
    lacking = {
        s: [f for f in scenarios if s in f.statuses]
        for s in driven
        if version is not None and not any(f.exists_in(version) for f in scenarios if s in f.statuses)
    }
    covered = driven if shown is None else {s: f for s, f in driven.items() if s in shown}
    if shown is None:  # static: the actions a feature scenario of this kind takes are checked live
        acted = {a for f in inventory.load() if kind in f.kinds and f.scenario for a in f.actions}
    for component in definition.components:
        suspend = component.suspend
        if suspend is not None:
            for key, actions in (
                ("suspendActions", suspend.suspend_actions),
                ("resumeActions", suspend.resume_actions),
            ):
                if component is definition.root and key.removesuffix("Actions") in acted:
                    continue  # the suspend-actions claim compared them with a live suspension
                shown = ", ".join(f"{a.path.text} = {json.dumps(a.value)}" for a in actions)
                verdicts.append(
                    verdict_for(
                        definition,
                        CLAIM,
                        f"{suspend.where}.{key}",
                        phase,
                        Outcome.UNVERIFIED,
                        f"not checked: no snapshot of this run was reached by this change ({shown}): "
                        "read, jq-validated and schema-checked only (a live run's suspension scenarios "
                        "compare a root component's actions with the change that suspended the workload)",
                    )
                )
        status = component.status
        if status is None:
            continue
        for name in ONLY_HERE_STATUSES:
            if name not in status.mappings or (component is definition.root and name in covered):
                continue
            if component is definition.root and name in lacking:
                versions = sorted({v for f in lacking[name] for v in f.versions})
                outcome, message = (
                    Outcome.NOT_APPLICABLE,
                    f"n/a: KubeRay {version} has nothing that makes a {kind} {name.capitalize()} "
                    f"({', '.join(f.name for f in lacking[name])}: {', '.join(versions)} only)",
                )
            else:
                outcome, message = (
                    Outcome.UNVERIFIED,
                    f"not checked: no scenario phase of this run is {name.capitalize()}, so the mapping is "
                    "never shown to match (live, the status claim only requires it not to match elsewhere)"
                    + (f"; `--features {driven[name]}` shows it" if name in driven else ""),
                )
            subject = f"{component.where}.statusDefinition.statusMappings.{name}"
            verdicts.append(verdict_for(definition, CLAIM, subject, phase, outcome, message))
    return verdicts
