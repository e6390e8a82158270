"""conformance/backends/local/cluster.py: the kwokctl configuration, kwok stages and nodes it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.backends.local.cluster import STAGES, LocalCluster, kwok_node, kwokctl_configuration
from conformance.errors import EnvironmentProblem
from conformance.toolchain.build import Binaries

pytestmark = pytest.mark.unit


def _binaries(tmp_path: Path) -> Binaries:
    names = [
        "kube_apiserver",
        "kube_controller_manager",
        "kube_scheduler",
        "kubectl",
        "etcd",
        "kwok",
        "kwokctl",
    ]
    paths = {name: tmp_path / name for name in names}
    return Binaries(
        **paths,
        ray_operator=tmp_path / "ray-operator",
        crds=tmp_path / "crds",
        ray=tmp_path / "ray",
        kwok_stages=tmp_path / "stages",
    )


def test_kwokctl_configuration_uses_local_binaries_on_loopback(tmp_path: Path) -> None:
    options = kwokctl_configuration(_binaries(tmp_path))["options"]
    assert options["bindAddress"] == "127.0.0.1"
    assert options["runtime"] == "binary"
    for key in (
        "kubeApiserverBinary",
        "kubeControllerManagerBinary",
        "kubeSchedulerBinary",
        "etcdBinary",
        "kubectlBinary",
    ):
        assert options[key].startswith(str(tmp_path)), key  # never a download URL


def test_kwok_stages_leave_out_pod_complete() -> None:
    assert not any("pod-complete" in stage for stage in STAGES)
    assert "pod/fast/pod-ready.yaml" in STAGES


def test_kwok_nodes_have_gpu_capacity() -> None:
    node = kwok_node("n")
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert node["status"]["capacity"]["nvidia.com/gpu"] == "8"
    assert node["status"]["allocatable"]["rdma/hca"] == "8"


def test_a_kwokctl_that_does_not_finish_is_one_line_naming_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy machine can make `kwokctl create cluster` outlast its timeout: that is an
    EnvironmentProblem (one line, exit 2), not a TimeoutExpired traceback."""
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    binaries = _binaries(tmp_path)
    binaries.kwokctl.write_text("#!/bin/sh\necho creating the control plane\nexec sleep 30\n")
    binaries.kwokctl.chmod(0o755)
    cluster = LocalCluster("slow")
    with pytest.raises(
        EnvironmentProblem, match=r"kwokctl create cluster did not finish within 1 s"
    ) as raised:
        cluster._kwokctl(binaries, "create", "cluster", timeout=1)
    assert "creating the control plane" in str(raised.value) and str(cluster.logs) in str(raised.value)
