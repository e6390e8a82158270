"""conformance/backends/local/provider.py: the operator is kept running as a kubelet keeps a Deployment's Pod."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conformance.backends.local import provider as local_provider
from conformance.backends.local.provider import LocalProvider
from conformance.errors import EnvironmentProblem

pytestmark = pytest.mark.unit


class _Cluster:
    """Stands in for LocalCluster (the watchdog's bookkeeping is under test): its operator exits once."""

    name = "fake"
    home = Path("/nonexistent/karta-conformance-test-cluster")  # a cluster whose folder is gone

    def __init__(self) -> None:
        self.exited = True
        self.restarted = threading.Event()
        self.downs = 0

    def up(self, version: str, batch_scheduler: str = "") -> None:
        pass

    def down(self, quiet: bool = False) -> None:
        self.downs += 1

    def operator_exited(self) -> bool:
        return self.exited

    def restart_operator(self) -> None:
        self.exited = False
        self.restarted.set()


def test_an_operator_that_exits_on_its_own_is_restarted_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path))
    monkeypatch.setattr(local_provider, "OPERATOR_CHECK_SECONDS", 0.05)
    said: list[str] = []
    monkeypatch.setattr(local_provider, "say", said.append)
    provider = LocalProvider("v1.6.2", name="fake")
    cluster = _Cluster()
    provider.cluster = cluster  # type: ignore[assignment]
    provider.start()
    try:
        assert cluster.restarted.wait(5), "the watchdog never restarted the exited operator"
    finally:
        provider.stop()
    assert provider.operator_restarts == 1
    assert said == [
        "the KubeRay operator exited on its own (its log says why); restarting it as a kubelet would"
    ]
    assert cluster.downs == 1
    assert provider._watchdog is not None
    provider._watchdog.join(5)
    assert not provider._watchdog.is_alive()


def test_a_run_refused_for_a_busy_name_leaves_the_other_runs_cluster_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path))
    running, refused = LocalProvider("v1.6.2", name="fake"), LocalProvider("v1.6.2", name="fake")
    cluster, other = _Cluster(), _Cluster()
    cluster.exited = other.exited = False
    running.cluster, refused.cluster = cluster, other  # type: ignore[assignment]
    running.start()
    try:
        with pytest.raises(EnvironmentProblem, match="the local cluster 'fake' is in use by pid"):
            refused.start()
        refused.stop()  # what LiveSession does after a failed start
        assert other.downs == 0 and cluster.downs == 0
    finally:
        running.stop()
    assert cluster.downs == 1
    assert not running.claim.path.exists()  # the claim file goes with the cluster
