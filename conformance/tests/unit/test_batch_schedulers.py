"""conformance/backends/batch_schedulers.py and the local backend's ``--batch-scheduler`` run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.backends import batch_schedulers
from conformance.backends.local.cluster import LocalCluster
from conformance.backends.registry import make_provider
from conformance.errors import UserError
from conformance.tests.unit.test_local_cluster import _binaries

pytestmark = pytest.mark.unit


def test_the_volcano_crd_serves_the_podgroup_kuberay_makes() -> None:
    path = batch_schedulers.crd("volcano")
    pod_group = batch_schedulers.known("volcano").pod_group
    assert path is not None and pod_group is not None
    crd = yaml.safe_load(path.read_text())
    api_version, kind = pod_group
    group, version = api_version.split("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
    assert crd["spec"]["scope"] == "Namespaced"
    assert [v["name"] for v in crd["spec"]["versions"] if v["served"]] == [version]
    assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.{group}"


def test_the_scheduler_configuration_keeps_the_default_profile_and_adds_the_batch_schedulers() -> None:
    config = batch_schedulers.scheduler_configuration("volcano")
    assert [p["schedulerName"] for p in config["profiles"]] == ["default-scheduler", "volcano"]
    assert "clientConnection" not in config  # kwokctl appends its own


def test_an_unknown_batch_scheduler_is_a_usage_error_before_any_backend_work() -> None:
    with pytest.raises(
        UserError,
        match="'slurm' is not one this harness can run; known: kai-scheduler, scheduler-plugins, volcano, yunikorn",
    ):
        make_provider("local", batch_scheduler="slurm")
    with pytest.raises(UserError, match=r"KubeRay v1.4.2's operator does not know it \(from v1.5.1\)"):
        make_provider("local", kuberay_version="v1.4.2", batch_scheduler="kai-scheduler")
    assert batch_schedulers.crd("yunikorn") is None and batch_schedulers.crd("kai-scheduler") is None
    with pytest.raises(UserError, match="local backend only"):
        make_provider("kind", batch_scheduler="volcano")


def test_the_local_cluster_gives_kwokctl_the_scheduler_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = LocalCluster("unit")
    cluster.home = tmp_path / "home"
    cluster.home.mkdir()
    calls: list[tuple[str, ...]] = []

    def kwokctl(binaries: Any, *args: str, timeout: float = 180) -> None:
        calls.append(args)

    monkeypatch.setattr(cluster, "_kwokctl", kwokctl)
    monkeypatch.setattr(cluster, "_control_plane_serving", lambda: None)
    binaries = _binaries(tmp_path)
    (binaries.kwok_stages / "node/fast").mkdir(parents=True)
    for name in ("node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
                 "pod/fast/pod-ready.yaml", "pod/fast/pod-delete.yaml"):  # fmt: skip
        (binaries.kwok_stages / name).parent.mkdir(parents=True, exist_ok=True)
        (binaries.kwok_stages / name).write_text("kind: Stage\n")
    cluster._create_control_plane(binaries, "volcano")
    options = next(yaml.safe_load_all((cluster.home / "kwokctl.yaml").read_text()))["options"]
    scheduler = yaml.safe_load(Path(options["kubeSchedulerConfig"]).read_text())
    assert scheduler == batch_schedulers.scheduler_configuration("volcano")
    cluster._create_control_plane(binaries)
    options = next(yaml.safe_load_all((cluster.home / "kwokctl.yaml").read_text()))["options"]
    assert "kubeSchedulerConfig" not in options  # the default run keeps kube-scheduler's defaults
    assert len(calls) == 2
