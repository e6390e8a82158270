"""``snapshot-complete``: a Snapshot that could not list every kind says so, never silently short.

The snapshotter lists every namespaced kind the API server serves; a kind it could not list (an
aggregated API that is down, a kind this user may not list) is recorded in ``Snapshot.unlisted``
with the reason. The claims evaluated on that snapshot may then miss objects of those kinds (in the
owner tree, among the namespace's Pods), so each definition checked on it gets one UNVERIFIED
verdict naming the kinds and why. A complete snapshot adds no verdict.
"""

from __future__ import annotations

from conformance.claims import names
from conformance.definition.model import Definition
from conformance.snapshot import Snapshot
from conformance.verdict import Outcome, Verdict, verdict_for

CLAIM = names.SNAPSHOT_COMPLETE


def unlisted_kinds(definition: Definition, snapshot: Snapshot) -> list[Verdict]:
    if not snapshot.unlisted:
        return []
    kinds = "; ".join(f"{kind}: {why}" for kind, why in sorted(snapshot.unlisted.items()))
    return [
        verdict_for(
            definition,
            CLAIM,
            "",
            f"{snapshot.scenario}/{snapshot.phase}",
            Outcome.UNVERIFIED,
            f"{len(snapshot.unlisted)} kind(s) could not be listed in namespace {snapshot.namespace}, so the "
            f"claims on this phase may miss their objects: {kinds}",
            evidence={"unlisted": dict(snapshot.unlisted)},
        )
    ]
