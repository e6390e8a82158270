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


def test_a_controller_manager_that_exited_after_kwokctl_is_one_line_with_its_log(tmp_path: Path) -> None:
    """kwokctl waits for the API server only: a controller manager that could not bind its port (another
    cluster created at the same moment took it) is said, with its log's last line, not left to time out
    every scenario later."""
    import subprocess

    cluster = LocalCluster("unit")
    cluster.home = tmp_path / "home"
    cluster.kwok_workdir = cluster.home / "kwok"  # set from the cache folder's home at construction
    cluster.control_plane_pids.mkdir(parents=True)
    cluster.control_plane_logs.mkdir(parents=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (cluster.control_plane_pids / "kube-controller-manager.pid").write_text(str(dead.pid))
    (cluster.control_plane_logs / "kube-controller-manager.log").write_text(
        'E1207 run.go:72] "command failed" err="listen tcp 127.0.0.1:32762: bind: address already in use"\n'
    )
    with pytest.raises(EnvironmentProblem) as raised:
        cluster._control_plane_serving()
    message = str(raised.value)
    assert "kube-controller-manager is not running after kwokctl created the cluster" in message
    assert message.endswith('err="listen tcp 127.0.0.1:32762: bind: address already in use"')


def test_cluster_creations_take_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two local clusters created at once: the second kwokctl starts only when the first cluster's
    components serve (kwokctl probes for free ports when it creates)."""
    import threading

    events: list[str] = []
    first_inside = threading.Event()
    release = threading.Event()

    def cluster(name: str) -> LocalCluster:
        made = LocalCluster(name)
        made.home = tmp_path / "clusters" / name
        made.home.mkdir(parents=True)

        def kwokctl(binaries: Binaries, *args: str, timeout: float = 180) -> None:
            events.append(f"{name} in")
            if name == "a":
                first_inside.set()
                release.wait(10)
            events.append(f"{name} out")

        monkeypatch.setattr(made, "_kwokctl", kwokctl)
        monkeypatch.setattr(made, "_control_plane_serving", lambda: events.append(f"{name} serving"))
        return made

    binaries = _binaries(tmp_path)
    monkeypatch.setattr("conformance.backends.local.cluster.kwok_stages", lambda binaries: [])
    a, b = cluster("a"), cluster("b")
    first = threading.Thread(target=a._create_control_plane, args=(binaries,))
    first.start()
    assert first_inside.wait(10)
    second = threading.Thread(target=b._create_control_plane, args=(binaries,))
    second.start()
    second.join(0.5)
    assert events == ["a in"]  # b waits for the lock
    release.set()
    first.join(10)
    second.join(10)
    assert events == ["a in", "a out", "a serving", "b in", "b out", "b serving"]


def test_a_state_file_from_before_the_gateway_api_reads_as_a_cluster_without_it(tmp_path: Path) -> None:
    """An older cluster's state (no `gateway_api`) reads as one without the Gateway API, so a v1.7.0 run
    does not reuse it: the CRDs and the stand-in Gateway controller come with a fresh start."""
    import json

    from conformance.backends import gateway_api

    cluster = LocalCluster("unit")
    cluster.state_file = tmp_path / "state.json"
    old = {
        "name": "unit",
        "kuberay_version": "v1.7.0",
        "kubernetes_version": "v1.34.4",
        "kubeconfig": "k",
        "operator_probe_port": 1,
        "operator_metrics_port": 2,
        "ray_proxy_port": 3,
        "created": 0.0,
    }
    cluster.state_file.write_text(json.dumps(old))
    state = cluster.state()
    assert state is not None and state.gateway_api == ""
    assert gateway_api.wanted("v1.7.0") and not gateway_api.wanted("v1.6.2")
