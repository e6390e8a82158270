"""The KubeRay operator's feature gates as the harness runs it: the chart's defaults (its values.yaml
``featureGates`` list, rendered by the chart into one ``--feature-gates=`` flag), plus the gates the
inventory says the harness turns on (``inventory.harness_gates``: gates that only start the controller of
a kind of their own, such as RayCronJob)."""

from __future__ import annotations

from typing import Any

from conformance import inventory

# values.yaml `featureGates` of the kuberay-operator chart at each pinned version, in its order.
CHART_FEATURE_GATES: dict[str, tuple[tuple[str, bool], ...]] = {
    "v1.3.2": (("RayClusterStatusConditions", True), ("RayJobDeletionPolicy", False)),
    "v1.4.2": (("RayClusterStatusConditions", True), ("RayJobDeletionPolicy", False)),
    "v1.5.1": (
        ("RayClusterStatusConditions", True),
        ("RayJobDeletionPolicy", False),
        ("RayMultiHostIndexing", False),
        ("RayServiceIncrementalUpgrade", False),
    ),
    "v1.6.2": (
        ("RayClusterStatusConditions", True),
        ("RayJobDeletionPolicy", True),
        ("RayMultiHostIndexing", True),
        ("RayServiceIncrementalUpgrade", False),
        ("RayCronJob", False),
    ),
    "v1.7.0": (
        ("RayClusterStatusConditions", True),
        ("RayJobDeletionPolicy", True),
        ("RayMultiHostIndexing", True),
        ("RayServiceIncrementalUpgrade", True),
        ("RayCronJob", False),
        ("RayClusterMTLS", False),
        ("RayClusterNetworkPolicy", False),
        ("RayClusterHistoryServer", False),
    ),
}


def chart_defaults(version: str) -> tuple[tuple[str, bool], ...]:
    return CHART_FEATURE_GATES.get(version, ())


def run_with(version: str) -> tuple[tuple[str, bool], ...]:
    """The gates the harness's operator of ``version`` runs with: the chart's, the harness's turned on."""
    on = set(inventory.harness_gates(version))
    listed = [(name, enabled or name in on) for name, enabled in chart_defaults(version)]
    return (*listed, *((name, True) for name in sorted(on - {n for n, _ in listed})))


def changed(version: str) -> tuple[str, ...]:
    """The gates the harness turns on that the chart leaves off (for the run's header)."""
    defaults = dict(chart_defaults(version))
    return tuple(name for name, enabled in run_with(version) if enabled and not defaults.get(name, False))


def flag(gates: tuple[tuple[str, bool], ...]) -> str:
    """``--feature-gates=A=true,B=false`` as the chart's template renders the list."""
    return "--feature-gates=" + ",".join(f"{name}={str(enabled).lower()}" for name, enabled in gates)


def helm_values(version: str) -> list[dict[str, Any]] | None:
    """The chart's ``featureGates`` value the harness installs with (None: the chart's own, unchanged)."""
    if not changed(version):
        return None
    return [{"name": name, "enabled": enabled} for name, enabled in run_with(version)]


def header(version: str) -> str:
    """What the run's header adds when the harness turns gates on ("" when it runs the chart's own)."""
    on = changed(version)
    return (
        f"; operator feature gate(s) {', '.join(on)} turned on (off in the chart's defaults; each only starts "
        "the controller of a kind of its own)"
        if on
        else ""
    )
