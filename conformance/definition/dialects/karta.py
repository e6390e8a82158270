"""``run.ai/v1alpha1`` ``Karta``: the dialect Karta's consumers read today.

Read (facts only) from github.com/run-ai/karta: ``pkg/api/runai/v1alpha1`` (``structure.go``,
``types.go``, ``instructions.go``, ``labels.go``) and ``charts/karta/crds/run.ai_kartas.yaml`` at
commit 02699006dd431c993ddffd9cb9fc58bed5b29aa2, the validator (``validation.go``) at
03336ae42092e87f1611bc4524e08c0e470427eb, the jq rules (``pkg/jq/validation.go``) at 02699006.

What it has beyond ``ResourceInterface``:
- a cluster-scoped ``Karta`` (short name ``krt``), indexed for consumers by the labels below, which
  Karta's operator stamps from the root component's GVK;
- ``suspendDefinition`` on a component: ``suspendActions`` and ``resumeActions``, each a non-empty,
  ordered list of ``{path, value}`` (``path`` a read-only jq path, ``value`` any JSON value);
- statuses ``suspended``, ``suspending``, ``resuming``; Karta tries the mappings in the order
  resuming, suspending, suspended, running, failed, completed, initializing, degraded;
- the read-only jq rule (no assignment operators, ``del``, ``range``/``paths``/``recurse``/
  ``walk``/``repeat``, ``..``) applied inside every sub-expression and function body.

The ``podGroup``/``subGroups`` gang form and topology constraints are not in the sources read
here; a definition using them is refused as having unknown fields, never read half.
"""

from __future__ import annotations

from conformance.definition.dialects.base import Dialect

LABEL_GROUP = "run.ai/karta-group"
LABEL_VERSION = "run.ai/karta-version"
LABEL_KIND = "run.ai/karta-kind"
LOOKUP_LABELS = (LABEL_GROUP, LABEL_VERSION, LABEL_KIND)

KARTA = Dialect(
    name="karta",
    api_version="run.ai/v1alpha1",
    kind="Karta",
    statuses=(
        "resuming",
        "suspending",
        "suspended",
        "running",
        "failed",
        "completed",
        "initializing",
        "degraded",
    ),
    suspend=True,
    jq_read_only_everywhere=True,
    read_at="github.com/run-ai/karta@02699006dd431c993ddffd9cb9fc58bed5b29aa2",
)

# Fields and statuses only this dialect has: what `convert --to resource-interface` cannot keep.
ONLY_HERE_STATUSES = ("suspended", "suspending", "resuming")
