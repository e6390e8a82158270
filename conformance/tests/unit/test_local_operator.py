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


def test_a_batch_scheduler_is_passed_first_as_the_chart_passes_batchScheduler_name() -> None:
    args = operator.arguments("v1.6.2", 1111, 2222, "volcano")
    assert args[0] == "--batch-scheduler=volcano"
    assert args[1:] == operator.arguments("v1.6.2", 1111, 2222)
    assert not [a for a in operator.arguments("v1.6.2", 1111, 2222) if "batch" in a]
