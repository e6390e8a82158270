"""conformance/backends/local/operator.py: the KubeRay operator's arguments, as its Helm chart sets them."""

from __future__ import annotations

import pytest

from conformance import versions
from conformance.backends.local import operator

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("version", list(versions.load().kuberay))
def test_operator_arguments_follow_the_chart(version: str) -> None:
    args = operator.arguments(version, 1111, 2222)
    assert "--enable-leader-election=true" in args
    assert "--health-probe-bind-address=127.0.0.1:1111" in args and "--metrics-addr=127.0.0.1:2222" in args
    gates = next(a for a in args if a.startswith("--feature-gates="))
    assert "RayClusterStatusConditions=true" in gates
    assert ("RayMultiHostIndexing" in gates) == (version not in ("v1.3.2", "v1.4.2"))
