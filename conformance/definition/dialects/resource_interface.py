"""``optimization.nvidia.com/v1alpha1`` ``ResourceInterface``: Karta up to v0.0.11.

Read from the Karta source at hand (``../shared/karta``, commit
d20a8a97273eba3e0e1d7e6a89b3a98433ba9d63, v0.0.11 lineage): ``pkg/api/optimization/v1alpha1``,
``charts/ri/crds``, ``pkg/jq/validation.go``. No suspend definition; statuses initializing,
running, completed, failed, degraded; the read-only jq rule looks only through pipes, binary
operators and function arguments (not inside parentheses, arrays, objects or ``if``).
"""

from __future__ import annotations

from conformance.definition.dialects.base import Dialect

RESOURCE_INTERFACE = Dialect(
    name="resource-interface",
    api_version="optimization.nvidia.com/v1alpha1",
    kind="ResourceInterface",
    statuses=("initializing", "running", "completed", "failed", "degraded"),
    suspend=False,
    jq_read_only_everywhere=False,
    read_at="github.com/run-ai/karta@d20a8a97273eba3e0e1d7e6a89b3a98433ba9d63 (v0.0.11)",
)
