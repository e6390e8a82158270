"""Kueue on the local backend (backends/local/kueue.py: the manager's Configuration, its webhook
configurations, its command line, its certificates; toolchain/build.build_kueue), the model of Kueue's
handling of Ray workloads (model/kueue_states.py), and how a scenario asks for Kueue (live/scenarios/kueue.py)."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from conformance import fixtures, versions
from conformance.backends.local import kueue as local_kueue
from conformance.backends.local.kueue import (
    MUTATING_HOOKS,
    VALIDATING_HOOKS,
    configuration,
    manager_argv,
    webhook_configurations,
)
from conformance.backends.local.provider import LocalProvider
from conformance.live.scenarios import kueue as scenarios
from conformance.model import kueue_states as kq
from conformance.model.kuberay_states import PINNED
from conformance.model.kueue_states import PodSet
from conformance.toolchain import build, gomod

pytestmark = pytest.mark.unit


def fixture(kind: str) -> dict[str, Any]:
    pinned = versions.load().kuberay_version("v1.6.2")
    (found,) = [f for f in fixtures.load_fixtures() if f.kind == kind]
    return copy.deepcopy(fixtures.render(found.object, pinned.ray_image, pinned.ray_version))


# --- the manager's Configuration, webhooks and command line --------------------------------------------


def test_the_configuration_runs_the_ray_integrations_only_on_loopback_without_what_a_host_process_cannot_serve(
    tmp_path: Path,
) -> None:
    config = configuration(18081, 19443, tmp_path)
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2" and config["kind"] == "Configuration"
    assert config["integrations"] == {
        "frameworks": ["ray.io/rayjob", "ray.io/raycluster", "ray.io/rayservice"]
    }
    assert config["internalCertManagement"] == {"enable": False}
    assert config["featureGates"] == {"VisibilityOnDemand": False}
    assert config["leaderElection"] == {"leaderElect": False}
    assert config["metrics"] == {"bindAddress": "0"}
    assert config["health"] == {"healthProbeBindAddress": "127.0.0.1:18081"}
    assert config["webhook"] == {"host": "127.0.0.1", "port": 19443, "certDir": str(tmp_path)}


def test_the_webhooks_call_the_manager_by_url_for_the_ray_kinds_and_kueues_own_only() -> None:
    bundle = base64.b64encode(b"PEM").decode()
    mutating, validating = webhook_configurations(19443, bundle)
    assert (mutating["kind"], mutating["metadata"]["name"]) == (
        "MutatingWebhookConfiguration",
        "kueue-mutating-webhook-configuration",
    )
    assert (validating["kind"], validating["metadata"]["name"]) == (
        "ValidatingWebhookConfiguration",
        "kueue-validating-webhook-configuration",
    )
    hooks = [*mutating["webhooks"], *validating["webhooks"]]
    assert {g for h in hooks for g in h["rules"][0]["apiGroups"]} == {"ray.io", "kueue.x-k8s.io"}
    for hook in hooks:
        url = hook["clientConfig"]["url"]
        assert url.startswith("https://127.0.0.1:19443/") and hook["clientConfig"]["caBundle"] == bundle
        assert "service" not in hook["clientConfig"]
        assert (hook["failurePolicy"], hook["sideEffects"], hook["admissionReviewVersions"]) == (
            "Fail",
            "None",
            ["v1"],
        )
    ray = {h["name"]: h["rules"][0] for h in hooks if h["rules"][0]["apiGroups"] == ["ray.io"]}
    assert ray["mrayjob.kb.io"] == {
        "apiGroups": ["ray.io"],
        "apiVersions": ["v1"],
        "operations": ["CREATE"],
        "resources": ["rayjobs"],
    }
    assert ray["vrayservice.kb.io"]["operations"] == ["CREATE", "UPDATE"]
    assert len(ray) == 6  # mutating and validating, for each of RayJob, RayCluster, RayService


def test_the_webhook_table_is_kueues_own() -> None:
    """Each hook's path, group, resources and operations as Kueue's generated manifests say (the pinned
    module through the Go module proxy; the table is written here, not copied)."""
    pinned = versions.load().kueue
    folder = gomod.download(pinned.module, pinned.version)  # the module proxy, as every Kueue run needs it
    upstream = {
        w["name"]: (w["clientConfig"]["service"]["path"], w["rules"][0])
        for d in yaml.safe_load_all((folder / "config/components/webhook/manifests.yaml").read_text())
        for w in d["webhooks"]
    }
    for hook in (*MUTATING_HOOKS, *VALIDATING_HOOKS):
        path, rule = upstream[hook.name]
        assert (hook.path, [hook.group], list(hook.resources), list(hook.operations)) == (
            path,
            rule["apiGroups"],
            rule["resources"],
            rule["operations"],
        )


def test_the_manager_runs_in_its_own_mount_namespace_with_an_overlay_on_etc(tmp_path: Path) -> None:
    argv = manager_argv(tmp_path / "kueue", tmp_path / "config.yaml", tmp_path / "upper", tmp_path / "work")
    assert argv[:5] == ["unshare", "--mount", "--propagation", "private", "/bin/sh"]
    script = argv[6]
    assert script == (
        f"mount -t overlay karta-kueue-etc -o lowerdir=/etc,upperdir={tmp_path / 'upper'},"
        f'workdir={tmp_path / "work"} /etc && exec "$0" "$@"'
    )
    assert argv[7:] == [
        str(tmp_path / "kueue"),
        "--config",
        str(tmp_path / "config.yaml"),
        "--zap-log-level=2",
    ]
    assert Path("kueue/metrics/certs") == local_kueue.METRICS_CERTS  # /etc/kueue/metrics/certs in the overlay


def test_the_certificates_serve_127_0_0_1_and_chain_to_the_ca(tmp_path: Path) -> None:
    local_kueue.make_certificates(tmp_path)
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), str(tmp_path / "tls.crt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    text = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "tls.crt"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "IP Address:127.0.0.1" in text and "TLS Web Server Authentication" in text


# --- the build ----------------------------------------------------------------------------------------


def test_the_kueue_build_is_keyed_by_every_input_and_stamps_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "module"
    (module / "config/components/crd/bases").mkdir(parents=True)
    (module / "go.mod").write_text("module sigs.k8s.io/kueue\n\ngo 1.25.0\n")
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(gomod, "download", lambda name, version: module)
    go_version = ["go1.26.8"]
    monkeypatch.setattr(build, "_go_version", lambda: go_version[0])
    calls: list[list[str]] = []

    def go(args: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
        calls.append(args)
        if args[0] == "build":
            Path(args[args.index("-o") + 1]).write_text("binary")

    monkeypatch.setattr(build, "_go", go)
    bin_dir, crds = build.build_kueue("sigs.k8s.io/kueue", "v0.17.0")
    assert crds == module / "config/components/crd/bases"
    assert calls[0] == ["mod", "tidy"]
    assert calls[1] == [
        "build",
        "-trimpath",
        "-ldflags=-s -w -X sigs.k8s.io/kueue/pkg/version.GitVersion=v0.17.0",
        "-o",
        str(bin_dir / "kueue"),
        "sigs.k8s.io/kueue/cmd/kueue",
    ]
    assert bin_dir.parent.name.startswith("v0.17.0-") and (bin_dir / ".complete").exists()
    assert build.build_kueue("sigs.k8s.io/kueue", "v0.17.0")[0] == bin_dir and len(calls) == 2  # cached
    go_version[0] = "go1.27.0"  # another toolchain: another build
    assert build.build_kueue("sigs.k8s.io/kueue", "v0.17.0")[0] != bin_dir and len(calls) == 4


# --- the model ----------------------------------------------------------------------------------------


def test_pod_sets_are_the_head_each_group_at_its_replicas_and_a_k8sjobmode_submitter() -> None:
    job = fixture("RayJob")
    assert kq.pod_sets(job) == (PodSet("head", 1), PodSet("workers", 1), PodSet("submitter", 1))
    job["spec"]["submissionMode"] = "HTTPMode"
    assert kq.pod_sets(job) == (PodSet("head", 1), PodSet("workers", 1))
    cluster = fixture("RayCluster")  # replicas 2, minReplicas 1: Kueue counts replicas
    assert kq.pod_sets(cluster) == (PodSet("head", 1), PodSet("workers", 2))
    group = cluster["spec"]["workerGroupSpecs"][0]
    group.update(groupName="Multi-Host", replicas=2, numOfHosts=3)
    assert kq.pod_sets(cluster)[1] == PodSet("multi-host", 6)  # lowercased, replicas x numOfHosts
    del group["replicas"]
    assert kq.pod_sets(cluster)[1] == PodSet("multi-host", 3)  # no replicas: 1 x numOfHosts
    service = fixture("RayService")
    assert [p.name for p in kq.pod_sets(service)] == ["head", "gpu-workers", "cpu-workers"]


def test_the_workload_name_is_kueues() -> None:
    # seen on a live run: RayService conformance-rayservice (uid f93b29d4-...) got this Workload from Kueue v0.17.0
    root = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": "conformance-rayservice", "uid": "f93b29d4-7b33-4737-bf52-1eee706f402a"},
    }
    assert kq.workload_name(root) == "rayservice-conformance-rayservice-1f65a"


def _workload(*conditions: tuple[str, str]) -> dict[str, Any]:
    return {"status": {"conditions": [{"type": t, "status": s} for t, s in conditions]}}


def test_the_workload_state_and_what_kueue_keeps_the_suspend_field_at() -> None:
    assert kq.admission(None) == kq.PENDING
    assert kq.admission(_workload(("QuotaReserved", "False"))) == kq.PENDING
    assert kq.admission(_workload(("QuotaReserved", "True"))) == kq.QUOTA_RESERVED
    assert kq.admission(_workload(("QuotaReserved", "True"), ("Admitted", "True"))) == kq.ADMITTED
    assert kq.admission(_workload(("Admitted", "True"), ("Finished", "True"))) == kq.FINISHED
    assert kq.admission(_workload(("Admitted", "True"), ("Evicted", "True"))) == kq.EVICTED
    assert [kq.suspended_by_kueue(s) for s in (kq.PENDING, kq.ADMITTED, kq.EVICTED, kq.FINISHED)] == [
        True,
        False,
        True,
        None,
    ]


def test_kueue_suspends_a_rayservice_through_its_cluster_config() -> None:
    assert kq.suspend_change("RayJob", True) == {
        "action": "suspend",
        "path": ["spec", "suspend"],
        "value": True,
    }
    assert kq.suspend_change("RayService", False)["path"] == ["spec", "rayClusterConfig", "suspend"]
    service = fixture("RayService")
    service["spec"]["rayClusterConfig"]["suspend"] = True
    assert kq.suspend_value(service)
    service["spec"]["suspend"], service["spec"]["rayClusterConfig"]["suspend"] = True, False
    assert not kq.suspend_value(service)  # RayService's own spec.suspend is not Kueue's


def test_a_held_root_reads_what_kuberays_status_says() -> None:
    job = fixture("RayJob")
    job["spec"]["suspend"] = True
    job["status"] = {"jobDeploymentStatus": "Suspended"}
    assert kq.HELD["RayJob"].reached(job, "v1.7.0")
    job["spec"]["suspend"] = False  # admitted, KubeRay a reconcile behind: not held any more
    assert not kq.HELD["RayJob"].reached(job, "v1.7.0")
    service = fixture("RayService")
    service["status"] = {"conditions": [{"type": "Ready", "status": "False", "reason": "Initializing"}]}
    assert kq.HELD["RayService"].status == "initializing" and kq.HELD["RayService"].reached(service, "v1.6.2")


def test_a_quota_fits_the_roots_given_and_not_one_more_of_the_largest() -> None:
    job = fixture("RayJob")  # head 1 CPU 2Gi, worker 500m 1Gi, submitter 500m 200Mi
    assert kq.requests(job) == {"cpu": 2.0, "memory": (2048 + 1024 + 200) * 2**20}
    quota = kq.quota_for([job])
    assert quota["cpu"] == 3.0 and quota["cpu"] < 2 * kq.requests(job)["cpu"]
    assert "nvidia.com/gpu" in kq.quota_for([fixture("RayService")])  # every resource asked is covered


def test_kuberay_starts_a_rayservice_kueue_admitted_only_where_it_applies_the_suspend_toggle_in_place() -> (
    None
):
    assert [v for v in PINNED if kq.rayservice_starts_when_admitted(v)] == ["v1.6.2"]


def test_pod_labels_and_pod_sets_of_pods() -> None:
    assert kq.pod_labels("head", "lq", "cq") == {
        "kueue.x-k8s.io/podset": "head",
        "kueue.x-k8s.io/local-queue-name": "lq",
        "kueue.x-k8s.io/cluster-queue-name": "cq",
    }
    worker = {"metadata": {"labels": {"ray.io/node-type": "worker", "ray.io/group": "GPU-Workers"}}}
    submitter = {"metadata": {"labels": {"batch.kubernetes.io/job-name": "x"}}}
    pods: list[dict[str, Any]] = [worker, submitter, {"metadata": {}}]
    assert [kq.pod_set_of(p) for p in pods] == [
        "gpu-workers",
        "submitter",
        None,
    ]


# --- how a scenario asks for Kueue ---------------------------------------------------------------------


class _Kube:
    def __init__(self, hooks: list[dict[str, Any]]) -> None:
        self.hooks = hooks

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.hooks if kind == "MutatingWebhookConfiguration" else []


def test_kueue_is_started_by_a_backend_that_can_and_else_asked_of_the_cluster() -> None:
    refreshed: list[bool] = []
    started: list[bool] = []
    local = SimpleNamespace(
        provider=SimpleNamespace(name="local", start_kueue=lambda: started.append(True)),
        snapshotter=SimpleNamespace(refresh=lambda: refreshed.append(True), kinds=lambda: []),
        kube=_Kube([]),
    )
    assert scenarios.kueue_missing("RayJob")(local) is None  # type: ignore[arg-type]
    assert started == refreshed == [True]
    kind = SimpleNamespace(provider=SimpleNamespace(name="kind"), kube=_Kube([]))
    reason = scenarios.kueue_missing("RayCluster")(kind)  # type: ignore[arg-type]
    assert reason is not None and "the kind backend does not install Kueue" in reason
    assert "mraycluster.kb.io" in reason and "--cluster local" in reason
    served = SimpleNamespace(
        provider=SimpleNamespace(name="existing"),
        kube=_Kube([{"webhooks": [{"name": "mraycluster.kb.io"}]}]),
    )
    assert scenarios.kueue_missing("RayCluster")(served) is None  # type: ignore[arg-type]


def test_the_local_header_names_kueue_once_its_manager_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path))
    provider = LocalProvider("v1.6.2", name="kueue-header-test")
    assert "Kueue" not in provider.describe()
    home = provider.cluster.home
    (home / "kueue").mkdir(parents=True)
    (home / "kueue" / "state.json").write_text(
        json.dumps({"version": "v0.17.0", "webhook_port": 1, "health_port": 2, "started": 0.0})
    )
    (home / "pids").mkdir()
    (home / "pids" / "kueue-manager.pid").write_text(f"{os.getpid()}\n")  # a process that runs
    assert "; Kueue v0.17.0 (real: its manager built from sigs.k8s.io/kueue" in provider.describe()
