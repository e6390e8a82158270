"""Every claim's id, in one place: what a verdict's ``claim`` says and a report's rows are keyed by.

A claim is one thing a definition asserts about KubeRay's objects; each id below names the module that
judges it. Reports, the feature matrix and the tests compare claims by these constants, never by a
string written again.
"""

from __future__ import annotations

from typing import Final

# Static claims (conformance/claims/static.py): the definition against fixtures and CRD schemas.
VALID: Final = "valid"  # Karta's validation rules
HERMETIC: Final = "hermetic"  # jq that reads nothing but its input (no $ENV, input, import, ...)
INSTANCE_ID_IN_SPEC: Final = "instance-id-in-spec"
PATHS_RESOLVE: Final = "paths-resolve"
INSTANCE_IDS: Final = "instance-ids"  # also live: per RayCluster, the Pods' ids against the spec's
INSTANCE_ALIGNMENT: Final = "instance-alignment"
POD_TEMPLATE_SHAPE: Final = "pod-template-shape"
SCALE: Final = "scale"
SCHEMA: Final = "schema"
BEYOND_KARTA: Final = "beyond-karta"  # works in Karta, but a consumer cannot tell the Pods apart
EVALUATION: Final = "evaluation"  # ERROR: not evaluated (the definition breaks a rule, or is not hermetic)
FIXTURES: Final = "fixtures"  # ERROR: no fixture of the root kind to evaluate the definition on

# Live claims (conformance/claims/live.py): the definition on each Snapshot of a scenario.
GVK: Final = "gvk"
PATHS_LIVE: Final = "paths-live"
MEMBERSHIP: Final = "membership"
REPLICAS: Final = "replicas"
OWNERSHIP: Final = "ownership"
GANG: Final = "gang"
GANG_MINIMUM: Final = "gang-minimum"
STATUS: Final = "status"
GANG_FRAMES: Final = (
    "gang-frames"  # one pod group per RayCluster from each Pod's first frame (claims/frames.py)
)
OWNERSHIP_FRAMES: Final = "ownership-frames"  # each object owned as the definition says from its first frame
MEMBERSHIP_FRAMES: Final = "membership-frames"  # each Pod a member from its first frame (claims/frames.py)
STATUS_FRAMES: Final = (
    "status-frames"  # the status reading on every recorded frame of the root (claims/frames.py)
)
TEMPLATE_FIDELITY: Final = "template-fidelity"
SUSPEND_ACTIONS: Final = "suspend-actions"
TOP_OWNER: Final = "top-owner"
CANNOT_EXPRESS: Final = "cannot-express"  # what KubeRay did that no definition can say in Karta
SCENARIO: Final = "scenario"  # a scenario that broke (ERROR), was left out (N/A) or could not run here

# Admission (conformance/claims/lookup.py): the definition as consumers find it in the cluster.
ADMITTED: Final = "admitted"
LOOKUP: Final = "lookup"

# Coverage and completeness.
NOT_CHECKED: Final = "not-checked"  # a field no claim covers yet (conformance/claims/coverage.py)
SNAPSHOT_COMPLETE: Final = "snapshot-complete"  # a kind that could not be listed (completeness.py)

# Karta's own Go code against the harness's reading (conformance/oracle/compare.py).
ORACLE: Final = "oracle"
