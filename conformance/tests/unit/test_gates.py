"""conformance/backends/gates.py: the operator's feature gates, the chart's with the harness's turned on."""

from __future__ import annotations

import json

import pytest

from conformance import versions
from conformance.backends import gates
from conformance.backends.kind.plan import KindPlan
from conformance.backends.local import operator

pytestmark = pytest.mark.unit


def test_the_chart_defaults_are_kept_and_only_the_harness_gates_turned_on() -> None:
    assert ("RayCronJob", False) in gates.chart_defaults("v1.6.2")
    assert ("RayCronJob", True) in gates.run_with("v1.6.2")
    changed = [
        (a, b)
        for a, b in zip(gates.chart_defaults("v1.7.0"), gates.run_with("v1.7.0"), strict=True)
        if a != b
    ]
    assert changed == [
        (("RayCronJob", False), ("RayCronJob", True)),
        (("RayClusterNetworkPolicy", False), ("RayClusterNetworkPolicy", True)),
    ]
    assert gates.changed("v1.7.0") == ("RayCronJob", "RayClusterNetworkPolicy")
    for version in ("v1.3.2", "v1.4.2", "v1.5.1"):  # no RayCronJob kind: the chart's own, unchanged
        assert gates.run_with(version) == gates.chart_defaults(version) and gates.changed(version) == ()
        assert gates.helm_values(version) is None and gates.header(version) == ""


@pytest.mark.parametrize("version", list(versions.load().kuberay))
def test_the_local_operator_and_the_kind_chart_get_the_same_gates(version: str) -> None:
    (flag,) = [a for a in operator.arguments(version, 1, 2) if a.startswith("--feature-gates=")]
    assert flag == gates.flag(gates.run_with(version))
    assert ("RayCronJob=true" in flag) == (version in ("v1.6.2", "v1.7.0"))
    values = KindPlan.pinned("karta", version, None).feature_gate_values()
    if gates.changed(version):
        assert values[0] == "--set-json"
        listed = json.loads(values[1].removeprefix("featureGates="))
        assert [(g["name"], g["enabled"]) for g in listed] == list(gates.run_with(version))
    else:
        assert values == []
