"""The kind backend, without Docker: every command and manifest it would run, asserted exactly.

kind, Helm, kubectl and docker are replaced by a recorder at the subprocess boundary (ours
and pytest-kind's), so the real KindProvider and pytest-kind's KindCluster run unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import fixtures, versions
from conformance.backends import registry
from conformance.backends.kind import chartrepo as kind_chartrepo
from conformance.backends.kind import imagebuild as kind_imagebuild
from conformance.backends.kind import images as kind_images
from conformance.backends.kind import mirror as kind_mirror
from conformance.backends.kind import plan as kind_plan
from conformance.backends.kind import provider as kind_provider
from conformance.backends.kind.kueue import KindKueue
from conformance.backends.kind.provider import KindProvider
from conformance.backends.local.provider import LocalProvider
from conformance.backends.registry import make_provider
from conformance.cli import main
from conformance.errors import EnvironmentProblem, UserError
from conformance.toolchain import tools

pytestmark = pytest.mark.unit

V134 = "kindest/node:v1.34.0@sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"
V133 = "kindest/node:v1.33.4@sha256:25a6018e48dfcaee478f4a59af81157a437f15e6e140bf103f85a2e7cd0cbbf2"
NODES = "node/karta-control-plane\nnode/karta-worker\nnode/karta-worker2\n"


class Recorder:
    """Stands in for every external command; answers a few with canned output."""

    def __init__(self, local_images: Sequence[str] = (), releases: Sequence[dict[str, str]] = ()) -> None:
        self.commands: list[list[str]] = []
        self.inputs: dict[int, str] = {}
        self.envs: dict[int, dict[str, str]] = {}
        self.local_images = set(local_images)
        self.releases = list(releases)

    def answer(self, command: list[str]) -> tuple[int, str]:
        tool, args = Path(command[0]).name, command[1:]
        if tool == "kind" and args == ["get", "clusters"]:
            return 0, ""
        if tool == "docker" and args[:2] == ["image", "inspect"]:
            return (0, "sha256:1") if args[-1] in self.local_images else (1, "")
        if tool == "kind" and args[:2] == ["get", "nodes"]:
            return 0, NODES.replace("node/", "").replace("karta-", f"{args[-1]}-")
        if tool == "helm" and args[0] == "list":
            return 0, json.dumps(self.releases)
        if tool == "kubectl" and args == ["get", "nodes", "-o", "name"]:
            return 0, NODES
        return 0, ""

    def record(
        self, command: Sequence[Any], input: str | None, env: dict[str, str] | None
    ) -> tuple[int, str]:
        command = [str(part) for part in command]
        command[0] = f"/t/{Path(command[0]).name}"  # the tools live in a temporary folder
        self.commands.append(command)
        if input is not None:
            self.inputs[len(self.commands) - 1] = input
        if env is not None:
            self.envs[len(self.commands) - 1] = env
        return self.answer(command)

    # our Runner
    def __call__(self, command: Sequence[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
        code, out = self.record(command, input, None)
        return subprocess.CompletedProcess(list(command), code, out, "")

    # pytest-kind's subprocess module
    def run(
        self, command: Sequence[Any], check: bool = False, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        code, out = self.record(command, kwargs.get("input"), kwargs.get("env"))
        if check and code:
            raise subprocess.CalledProcessError(code, command)
        return subprocess.CompletedProcess(list(command), code, out, "")

    def check_output(self, command: Sequence[Any], **kwargs: Any) -> str:
        code, out = self.record(command, kwargs.get("input"), kwargs.get("env"))
        if code:
            raise subprocess.CalledProcessError(code, command, out, "")
        return out


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Recorder:
    import pytest_kind.cluster as kind_cluster

    recorder = Recorder(local_images=["rayproject/ray:2.52.0"])
    fake_subprocess = types.SimpleNamespace(
        run=recorder.run, check_output=recorder.check_output, Popen=None, PIPE=subprocess.PIPE
    )
    monkeypatch.setattr(kind_cluster, "subprocess", fake_subprocess)
    fake_pykube = types.SimpleNamespace(
        KubeConfig=types.SimpleNamespace(from_file=lambda path: path), HTTPClient=lambda config: None
    )
    monkeypatch.setattr(kind_cluster, "pykube", fake_pykube)
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # pytest-kind keeps a .pytest-kind/ folder in the working directory
    monkeypatch.setattr(kind_provider, "docker_answers", lambda: True)
    monkeypatch.delenv(kind_plan.CHART_ENV, raising=False)
    binaries = {}
    for tool in ("docker", "kubectl", "kind", "helm"):
        binaries[tool] = str(tmp_path / "t" / tool)
        Path(binaries[tool]).parent.mkdir(exist_ok=True)
        Path(binaries[tool]).touch()
    monkeypatch.setattr(KindProvider, "binaries", lambda self: binaries)
    return recorder


def test_pytest_kind_never_downloads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """pytest-kind fetches kind and kubectl from the internet when they are missing; ours refuses."""
    monkeypatch.chdir(tmp_path)
    provider = KindProvider("v1.6.2")
    cluster = provider._kind_cluster(
        {"kind": str(tmp_path / "no-kind"), "kubectl": str(tmp_path / "no-kubectl")}
    )
    with pytest.raises(EnvironmentProblem, match="needs `kind` at"):
        cluster.ensure_kind()
    with pytest.raises(EnvironmentProblem, match="needs `kubectl` at"):
        cluster.ensure_kubectl()


def state(tmp_path: Path, name: str = "karta") -> Path:
    return tmp_path / "cache" / "clusters" / f"kind-{name}"


def test_start_runs_exactly_these_commands(recorder: Recorder, tmp_path: Path) -> None:
    provider = KindProvider("v1.6.2", runner=recorder)
    provider.start()
    kubeconfig = str(state(tmp_path) / "kubeconfig")
    config = str(state(tmp_path) / "kind-config.yaml")
    gpu_patch = '{"status": {"capacity": {"nvidia.com/gpu": "4", "rdma/hca": "4"}}}'
    helm = str(state(tmp_path) / "helm")
    repositories = ["--repository-config", f"{helm}/repositories.yaml", "--repository-cache", f"{helm}/cache"]
    # what a hosted runner does: nothing built here, every image pulled from its registry by its official name
    assert recorder.commands == [
        ["/t/docker", "image", "inspect", "--format", "{{.Id}}", "karta-conformance/kind-node:v1.34.4"],
        ["/t/docker", "image", "inspect", "--format", "{{.Id}}", "quay.io/kuberay/operator:v1.6.2"],
        ["/t/docker", "image", "inspect", "--format", "{{.Id}}", "rayproject/ray:2.52.0"],
        ["/t/docker", "image", "inspect", "--format", "{{.Id}}", "docker.io/library/redis:7.0.15"],
        ["/t/docker", "image", "inspect", "--format", "{{.Id}}", "karta-conformance/registry:v0.22.1"],
        ["/t/kind", "get", "clusters"],
        ["/t/kind", "create", "cluster", "--name=karta", f"--kubeconfig={kubeconfig}", f"--image={V134}", "--config", config],
        ["/t/kind", "get", "nodes", "--name", "karta"],
        ["/t/docker", "exec", "karta-worker", "crictl", "pull", "docker.io/rayproject/ray:2.52.0"],
        ["/t/docker", "exec", "karta-worker2", "crictl", "pull", "docker.io/rayproject/ray:2.52.0"],
        ["/t/docker", "exec", "karta-worker", "crictl", "pull", "docker.io/library/redis:7.0.15"],
        ["/t/docker", "exec", "karta-worker2", "crictl", "pull", "docker.io/library/redis:7.0.15"],
        ["/t/kubectl", "get", "nodes", "-o", "name"],
        ["/t/kubectl", "patch", "node/karta-control-plane", "--subresource=status", "--type=merge", "-p", gpu_patch],
        ["/t/kubectl", "patch", "node/karta-worker", "--subresource=status", "--type=merge", "-p", gpu_patch],
        ["/t/kubectl", "patch", "node/karta-worker2", "--subresource=status", "--type=merge", "-p", gpu_patch],
        ["/t/helm", "list", "-o", "json", "--namespace", "kuberay-system", "--kubeconfig", kubeconfig],
        ["/t/helm", "repo", "add", "kuberay", "https://ray-project.github.io/kuberay-helm/", "--force-update", *repositories],
        ["/t/helm", "repo", "update", "kuberay", *repositories],
        [
            "/t/helm", "install", "kuberay-operator", "kuberay/kuberay-operator", "--version", "1.6.2",
            "--namespace", "kuberay-system", "--create-namespace",
            "--set", "image.repository=quay.io/kuberay/operator", "--set", "image.tag=v1.6.2",
            # the chart's featureGates with RayCronJob turned on (backends/gates.py)
            "--set-json", 'featureGates=[{"name":"RayClusterStatusConditions","enabled":true},'
            '{"name":"RayJobDeletionPolicy","enabled":true},{"name":"RayMultiHostIndexing","enabled":true},'
            '{"name":"RayServiceIncrementalUpgrade","enabled":false},{"name":"RayCronJob","enabled":true}]',
            "--wait", "--timeout", "5m", "--kubeconfig", kubeconfig, *repositories,
        ],
        ["/t/kubectl", "wait", "node", "--all", "--for=jsonpath={.status.allocatable.nvidia\\.com/gpu}=4", "--timeout=120s"],
    ]  # fmt: skip
    # every kubectl call goes to the kind cluster's kubeconfig
    kubectl_calls = [i for i, c in enumerate(recorder.commands) if c[0] == "/t/kubectl"]
    assert kubectl_calls and all(recorder.envs[i]["KUBECONFIG"] == kubeconfig for i in kubectl_calls)
    assert yaml.safe_load(Path(config).read_text()) == {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "nodes": [{"role": "control-plane"}, {"role": "worker"}, {"role": "worker"}],
    }

    provider.stop()
    assert recorder.commands[-1] == [
        "/t/kind",
        "delete",
        "cluster",
        "--name=karta",
        f"--kubeconfig={kubeconfig}",
    ]
    assert not state(tmp_path).exists()  # nothing of a deleted cluster is left in the cache folder
    assert not state(tmp_path).with_name("kind-karta.claim").exists()


def test_keep_cluster_skips_the_delete(recorder: Recorder, tmp_path: Path) -> None:
    provider = KindProvider("v1.6.2", keep=True, runner=recorder)
    provider.start()
    count = len(recorder.commands)
    provider.stop()
    assert len(recorder.commands) == count
    assert (state(tmp_path) / "kubeconfig").parent.is_dir()  # the kept cluster's folder stays


def test_a_kind_run_refused_for_a_busy_name_never_deletes_the_other_runs_cluster(
    recorder: Recorder,
) -> None:
    running = KindProvider("v1.6.2", runner=recorder)
    running.start()
    before = len(recorder.commands)
    refused = KindProvider("v1.6.2", runner=recorder)
    with pytest.raises(
        EnvironmentProblem, match=r"the kind cluster 'karta' is in use by pid .*--cluster-name NAME"
    ):
        refused.start()
    refused.stop()  # what LiveSession does after a failed start
    assert recorder.commands[before:] == [c for c in recorder.commands[before:] if "delete" not in c]
    assert len(recorder.commands) == before + 5  # only the image lookups of the second __init__
    running.stop()
    assert recorder.commands[-1][:3] == ["/t/kind", "delete", "cluster"]
    KindProvider("v1.6.2", runner=recorder).start()  # the name is free once the first run stopped


def test_an_older_kuberay_pins_its_chart_operator_and_ray_image(recorder: Recorder, tmp_path: Path) -> None:
    recorder.local_images = {"quay.io/kuberay/operator:v1.3.2"}
    provider = KindProvider("v1.3.2", name="old", node_image="v1.33", runner=recorder)
    provider.start()
    commands = recorder.commands
    create = next(c for c in commands if c[1:3] == ["create", "cluster"])
    assert create[5] == f"--image={V133}"
    assert not [
        c for c in commands if c[1:3] == ["load", "docker-image"]
    ]  # never: a runner has no local images
    assert not provider.plan.mirror  # the operator alone is built here: every node pulls from the registries
    # each schedulable node pulls the Ray and Redis images before any scenario
    assert [c[-1] for c in commands if c[3:5] == ["crictl", "pull"]] == [
        "docker.io/rayproject/ray:2.41.0",
        "docker.io/rayproject/ray:2.41.0",
        "docker.io/library/redis:7.0.15",
        "docker.io/library/redis:7.0.15",
    ]
    assert {c[2] for c in commands if "pull" in c} == {"old-worker", "old-worker2"}
    install = next(c for c in commands if c[1:2] == ["install"])
    assert install[install.index("--version") + 1] == "1.3.2"
    assert "image.tag=v1.3.2" in install
    assert "--set-json" not in install  # v1.3.2 serves no RayCronJob: the chart's own gates
    assert provider.plan.kuberay.ray_image == "rayproject/ray:2.41.0"
    rendered = fixtures.render(
        fixtures.load_fixtures()[0].object, provider.plan.kuberay.ray_image, provider.plan.kuberay.ray_version
    )
    assert "rayproject/ray:2.41.0" in json.dumps(rendered)


def test_a_kept_cluster_with_the_same_chart_is_reused(recorder: Recorder) -> None:
    recorder.releases = [{"name": "kuberay-operator", "chart": "kuberay-operator-1.6.2"}]
    KindProvider("v1.6.2", runner=recorder).start()
    helm = [c[1:3] for c in recorder.commands if c[0] == "/t/helm"]
    # no install; the chart's repository added only for the upgrade that turns the harness's gates on
    assert helm == [
        ["list", "-o"],
        ["get", "values"],
        ["repo", "add"],
        ["repo", "update"],
        ["upgrade", "kuberay-operator"],
    ]


def test_a_kept_cluster_with_another_chart_is_refused(recorder: Recorder) -> None:
    recorder.releases = [{"name": "kuberay-operator", "chart": "kuberay-operator-1.5.1"}]
    with pytest.raises(
        UserError, match=r"already runs kuberay-operator-1.5.1.*kind delete cluster --name karta"
    ):
        KindProvider("v1.6.2", runner=recorder).start()


def test_namespace_steps_gate_health_and_operator_restart(recorder: Recorder) -> None:
    provider = KindProvider("v1.6.2", runner=recorder)
    provider.start()
    start = len(recorder.commands)
    provider.prepare_namespace("ns1")
    provider.hold_new_heads("ns1")
    provider.release_heads("ns1")
    provider.set_app_unhealthy("ns1", "any-head", True)
    provider.set_app_unhealthy("ns1", "any-head", False)
    provider.restart_operator()
    patch = ["patch", "configmap", "karta-fixture-app", "--type=merge", "-p"]
    assert recorder.commands[start:] == [
        ["/t/kubectl", "apply", "-n", "ns1", "-f", "-"],
        ["/t/kubectl", "-n", "ns1", *patch, '{"data": {"karta-gate": "on"}}'],
        ["/t/kubectl", "-n", "ns1", *patch, '{"data": {"karta-gate": "off"}}'],
        ["/t/kubectl", "-n", "ns1", "annotate", "pods", "-l", "ray.io/is-ray-node=yes", "karta.conformance/switches=1", "--overwrite"],
        ["/t/kubectl", "-n", "ns1", *patch, '{"data": {"karta-health": "on"}}'],
        ["/t/kubectl", "-n", "ns1", "annotate", "pods", "-l", "ray.io/is-ray-node=yes", "karta.conformance/switches=2", "--overwrite"],
        ["/t/kubectl", "-n", "ns1", *patch, '{"data": {"karta-health": "off"}}'],
        ["/t/kubectl", "-n", "ns1", "annotate", "pods", "-l", "ray.io/is-ray-node=yes", "karta.conformance/switches=3", "--overwrite"],
        ["/t/kubectl", "-n", "kuberay-system", "rollout", "restart", "deployment/kuberay-operator"],
        ["/t/kubectl", "-n", "kuberay-system", "rollout", "status", "deployment/kuberay-operator", "--timeout=180s"],
    ]  # fmt: skip
    configmap = json.loads(recorder.inputs[start])
    app = (fixtures.default_dir() / "app" / "karta_fixture_app.py").read_text()
    assert configmap == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "karta-fixture-app",
            "namespace": "ns1",
            "labels": {"app.kubernetes.io/part-of": "karta-conformance"},
        },
        "data": {"karta_fixture_app.py": app, "karta-gate": "off", "karta-health": "off"},
    }


def test_the_rayservice_fixture_mounts_the_app_and_its_switches_in_every_ray_container() -> None:
    """What the kind plan writes into the ConfigMap is what every Ray container of the fixture reads."""
    (service,) = [f for f in fixtures.load_fixtures() if f.kind == "RayService"]
    cluster = service.object["spec"]["rayClusterConfig"]
    templates = [cluster["headGroupSpec"]["template"]] + [g["template"] for g in cluster["workerGroupSpecs"]]
    assert len(templates) == 3
    for template in templates:
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        for container in template["spec"]["containers"]:
            mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
            env = {e["name"]: e["value"] for e in container["env"]}
            (volume,) = [
                n for n, v in volumes.items() if v.get("configMap", {}).get("name") == kind_plan.APP_CONFIGMAP
            ]
            mount = mounts[volume]
            assert env["PYTHONPATH"] == mount
            assert env["KARTA_FIXTURE_GATE_FILE"] == f"{mount}/{kind_plan.GATE_KEY}"
            assert env["KARTA_FIXTURE_HEALTH_FILE"] == f"{mount}/{kind_plan.HEALTH_KEY}"
            assert Path(mount, kind_plan.APP_MODULE).stem == "karta_fixture_app"


def test_fixture_app_switches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On while the file exists and does not read "off": the local backend's empty files, kind's on/off keys."""

    class Deployment:
        def __init__(self, cls: type) -> None:
            self.cls = cls

        def bind(self) -> Deployment:
            return self

    fake_ray = types.ModuleType("ray")
    fake_ray.serve = types.SimpleNamespace(deployment=Deployment)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ray", fake_ray)
    monkeypatch.syspath_prepend(str(fixtures.default_dir() / "app"))
    monkeypatch.delitem(sys.modules, "karta_fixture_app", raising=False)
    import karta_fixture_app as app  # type: ignore[import-not-found]

    switch = tmp_path / "karta-gate"
    monkeypatch.setenv("KARTA_FIXTURE_GATE_FILE", str(switch))
    assert not app.switched_on("KARTA_FIXTURE_GATE_FILE")
    for content, on in (("", True), ("on", True), ("off\n", False), ("off", False)):
        switch.write_text(content)
        assert app.switched_on("KARTA_FIXTURE_GATE_FILE") is on, content
    monkeypatch.delenv("KARTA_FIXTURE_GATE_FILE")
    switch.write_text("on")
    assert not app.switched_on("KARTA_FIXTURE_GATE_FILE")
    monkeypatch.setenv("KARTA_FIXTURE_HEALTH_FILE", str(switch))
    with pytest.raises(RuntimeError, match="unhealthy on purpose"):
        app.Echo.cls().check_health()


def test_describe_names_backend_versions_and_what_is_simulated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kind_plan.CHART_ENV, raising=False)
    line = KindProvider("v1.6.2", runner=Recorder()).describe()
    assert line.startswith(
        "backend kind: Kubernetes v1.34.0 (node image kindest/node:v1.34.0, pinned upstream image; "
        "real kubelets and containers)"
    )
    assert (
        "KubeRay operator v1.6.2 (chart kuberay-operator 1.6.2 from Helm repository "
        "https://ray-project.github.io/kuberay-helm/; quay.io/kuberay/operator:v1.6.2, pulled from its registry)"
    ) in line
    assert "Ray 2.52.0 (rayproject/ray:2.52.0, pulled from its registry)" in line
    assert "Redis for GCS fault tolerance (docker.io/library/redis:7.0.15, pulled from its registry)" in line
    assert (
        "fixtures fitted to real kubelets on one machine: CPU requests / 4, Serve replicas ask 0.1 CPU "
        "(so they run on workers)" in line
    )
    assert "simulated: 4 nvidia.com/gpu and 4 rdma/hca per node" in line


def test_no_chart_folder_is_read_unless_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No --chart and no $KARTA_CONFORMANCE_CHART: the Helm repository, even with a chart folder beside the
    checkout (the harness reads no folder a user did not name); the variable, then the flag, win."""
    monkeypatch.delenv(kind_plan.CHART_ENV, raising=False)
    beside = kind_provider.REPOSITORY.parent / "shared" / "kuberay" / "v1.6.2" / "kuberay-operator"
    assert KindProvider("v1.6.2", runner=Recorder()).plan.chart_source is None, f"read {beside} unasked"
    other = tmp_path / "other-chart"
    other.mkdir()
    monkeypatch.setenv(kind_plan.CHART_ENV, str(other))
    assert KindProvider("v1.6.2", runner=Recorder()).plan.chart_source == str(other)
    flag = tmp_path / "flag-chart"
    flag.mkdir()
    assert KindProvider("v1.6.2", runner=Recorder(), chart_source=str(flag)).plan.chart_source == str(flag)


BUILT_HERE = [
    "karta-conformance/kind-node:v1.34.4",
    "quay.io/kuberay/operator:v1.6.2",
    "rayproject/ray:2.52.0",
    "docker.io/library/redis:7.0.15",
    "karta-conformance/registry:v0.22.1",
]


def test_images_built_here_are_pulled_by_their_official_names_through_the_mirror(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the images built here: the offline node image (nothing of the workloads in it), the registry
    mirror started and the images published under their official paths, every node's containerd asking
    it first, the chart installed by name and version from a Helm repository on loopback."""
    chart = tmp_path / "charts" / "v1.6.2" / "kuberay-operator"
    chart.mkdir(parents=True)
    recorder.local_images = set(BUILT_HERE)
    monkeypatch.setattr(KindProvider, "wait_registry", staticmethod(lambda port: None))
    served: list[str] = []
    real_served = kind_chartrepo.served

    @contextlib.contextmanager
    def spy(folder: Path) -> Any:
        with real_served(folder) as url:
            served.append(url)
            yield url

    monkeypatch.setattr(kind_chartrepo, "served", spy)
    provider = KindProvider(
        "v1.6.2", runner=recorder, chart_source=str(tmp_path / "charts" / "{version}" / "kuberay-operator")
    )
    plan = provider.plan
    assert plan.mirror and plan.node_image == "karta-conformance/kind-node:v1.34.4"
    provider.start()
    commands = recorder.commands
    storage = str(tmp_path / "cache" / "registry")
    user = f"{os.getuid()}:{os.getgid()}"
    start = next(i for i, c in enumerate(commands) if c[1:3] == ["container", "inspect"])
    assert commands[start][-1] == "karta-conformance-registry"
    assert commands[start + 1 : start + 3] == [
        ["/t/docker", "rm", "--force", "karta-conformance-registry"],
        ["/t/docker", "run", "--detach", "--name", "karta-conformance-registry", "--restart", "no", "--user", user,
         "--volume", f"{storage}:/var/lib/registry", "--publish", "127.0.0.1:5110:5000",
         "karta-conformance/registry:v0.22.1", "registry", "serve", "--address", ":5000", "--disk", "/var/lib/registry"],
    ]  # fmt: skip
    pushes = [c for c in commands if c[1:2] in (["tag"], ["push"], ["rmi"])]
    assert pushes == [
        ["/t/docker", "tag", "quay.io/kuberay/operator:v1.6.2", "127.0.0.1:5110/kuberay/operator:v1.6.2"],
        ["/t/docker", "push", "--quiet", "127.0.0.1:5110/kuberay/operator:v1.6.2"],
        ["/t/docker", "rmi", "127.0.0.1:5110/kuberay/operator:v1.6.2"],
        ["/t/docker", "tag", "rayproject/ray:2.52.0", "127.0.0.1:5110/rayproject/ray:2.52.0"],
        ["/t/docker", "push", "--quiet", "127.0.0.1:5110/rayproject/ray:2.52.0"],
        ["/t/docker", "rmi", "127.0.0.1:5110/rayproject/ray:2.52.0"],
        ["/t/docker", "tag", "docker.io/library/redis:7.0.15", "127.0.0.1:5110/library/redis:7.0.15"],
        ["/t/docker", "push", "--quiet", "127.0.0.1:5110/library/redis:7.0.15"],
        ["/t/docker", "rmi", "127.0.0.1:5110/library/redis:7.0.15"],
    ]
    create = next(i for i, c in enumerate(commands) if c[1:3] == ["create", "cluster"])
    assert commands.index(pushes[-1]) < create  # published before any node could ask
    assert commands[create + 2] == ["/t/docker", "network", "connect", "kind", "karta-conformance-registry"]
    hosts = [(i, c) for i, c in enumerate(commands) if c[-1].endswith("/hosts.toml")]
    assert [c[3] for _, c in hosts] == ["karta-control-plane"] * 3 + ["karta-worker"] * 3 + [
        "karta-worker2"
    ] * 3
    assert [c[-1].rsplit("/", 2)[-2] for _, c in hosts[:3]] == ["quay.io", "docker.io", "registry.k8s.io"]
    assert recorder.inputs[hosts[1][0]] == (
        'server = "https://registry-1.docker.io"\n\n'
        '[host."http://karta-conformance-registry:5000"]\n  capabilities = ["pull", "resolve"]\n'
    )
    config = yaml.safe_load((state(tmp_path) / "kind-config.yaml").read_text())
    assert config["containerdConfigPatches"] == [
        '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n'
    ]
    assert config["kubeadmConfigPatches"] == [
        "kind: ClusterConfiguration\netcd:\n  local:\n    imageTag: 3.6.4-0\n"
    ]
    assert not [c for c in commands if c[1:3] == ["load", "docker-image"]]
    # the chart: packaged into a repository served on loopback, installed by name and version
    repository = str(state(tmp_path) / "helm-repository")
    assert ["/t/helm", "package", str(chart), "--destination", repository] in commands
    assert ["/t/helm", "repo", "index", repository] in commands
    assert len(served) == 1 and served[0].startswith("http://127.0.0.1:")
    add = next(c for c in commands if c[1:3] == ["repo", "add"])
    assert add[3:5] == ["kuberay", served[0]]
    install = next(c for c in commands if c[1:2] == ["install"])
    assert install[2:6] == ["kuberay-operator", "kuberay/kuberay-operator", "--version", "1.6.2"]
    assert (
        provider.plan.chart_repository == "https://ray-project.github.io/kuberay-helm/"
    )  # after the install
    line = provider.describe()
    assert (
        "node image karta-conformance/kind-node:v1.34.4, built here by `karta-conformance images build`, no workload image in it"
        in line
    )
    mirrored = "built here, pulled by its official name through the registry mirror http://karta-conformance-registry:5000"
    assert f"quay.io/kuberay/operator:v1.6.2, {mirrored})" in line
    assert f"Ray 2.52.0 (rayproject/ray:2.52.0, {mirrored})" in line
    assert (
        f"from Helm repository https://ray-project.github.io/kuberay-helm/, serving the local chart {chart};"
        in line
    )


def test_a_running_mirror_is_reused_and_a_busy_port_is_named(
    recorder: Recorder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder.local_images = set(BUILT_HERE)
    monkeypatch.setattr(KindProvider, "wait_registry", staticmethod(lambda port: None))
    answer = recorder.answer

    inspected = f"true {tmp_path / 'cache' / 'registry'} 5110\n"

    def running(command: list[str]) -> tuple[int, str]:
        return (0, inspected) if command[1:3] == ["container", "inspect"] else answer(command)

    monkeypatch.setattr(recorder, "answer", running)
    KindProvider("v1.6.2", runner=recorder).start()
    assert not [
        c for c in recorder.commands if c[1:2] in (["run"], ["rm"])
    ]  # this cache's, on this port: reused
    inspected = "true /another/cache/registry 5110\n"  # another cache folder's registry: replaced
    KindProvider("v1.6.2", name="second", runner=recorder).start()
    assert [c[1:3] for c in recorder.commands if c[1:2] in (["run"], ["rm"])] == [
        ["rm", "--force"],
        ["run", "--detach"],
    ]
    monkeypatch.setenv("KARTA_CONFORMANCE_REGISTRY_PORT", "port")
    with pytest.raises(UserError, match="KARTA_CONFORMANCE_REGISTRY_PORT must be a TCP port number"):
        KindProvider("v1.6.2", name="other", runner=recorder).start()


def test_kueue_is_built_here_and_published_under_its_official_path_only_with_the_mirror(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the mirror: Kueue's image built on demand (not by `make images`), published as kueue/kueue for
    registry.k8s.io, and the header says so once installed; without it the nodes pull the official image."""
    recorder.local_images = set(BUILT_HERE)
    monkeypatch.setattr(KindProvider, "wait_registry", staticmethod(lambda port: None))
    image = "registry.k8s.io/kueue/kueue:v0.17.0"
    built: list[str] = []

    def build() -> kind_imagebuild.Built:
        built.append(image)
        return kind_imagebuild.Built(image, "inputs", False, 1.0, 2**20)

    monkeypatch.setattr(kind_imagebuild, "kueue", build)
    installed: list[str] = []
    monkeypatch.setattr(KindKueue, "_install", lambda self, pinned, wanted: installed.append(wanted))
    provider = KindProvider("v1.6.2", runner=recorder)
    provider.start()
    assert "Kueue" not in provider.describe()
    before = len(recorder.commands)
    assert provider.start_kueue() == "v0.17.0"
    assert built == installed == [image]
    assert recorder.commands[before:] == [
        ["/t/docker", "tag", image, "127.0.0.1:5110/kueue/kueue:v0.17.0"],
        ["/t/docker", "push", "--quiet", "127.0.0.1:5110/kueue/kueue:v0.17.0"],
        ["/t/docker", "rmi", "127.0.0.1:5110/kueue/kueue:v0.17.0"],
    ]
    assert (
        f"; Kueue v0.17.0 (real: {image}, built here, pulled by its official name through the registry mirror "
        "http://karta-conformance-registry:5000; installed from sigs.k8s.io/kueue config/default"
    ) in provider.describe()
    assert provider.start_kueue() == "v0.17.0" and built == [image]  # once per cluster
    provider.stop()

    upstream = KindProvider("v1.6.2", name="upstream", runner=Recorder())
    assert not upstream.plan.mirror
    assert upstream.start_kueue() == "v0.17.0" and built == [image]
    assert f"; Kueue v0.17.0 (real: {image}, pulled from its registry;" in upstream.describe()


def test_a_registry_that_never_answers_is_named_with_the_last_answer() -> None:
    port = kind_provider_free_port()
    with pytest.raises(
        EnvironmentProblem, match=rf"did not answer at http://127.0.0.1:{port}/v2/ within 1 s: .*refused"
    ):
        KindProvider.wait_registry(port, seconds=1)


def kind_provider_free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_registry_mirror_needs_its_image() -> None:
    local = [i for i in BUILT_HERE if "registry" not in i]
    provider = KindProvider("v1.6.2", runner=Recorder(local_images=local))
    assert provider.plan.mirror
    with pytest.raises(
        EnvironmentProblem,
        match=re.escape("needs the image karta-conformance/registry:v0.22.1: build it with `make images`"),
    ):
        provider.start_mirror("docker")


def test_official_names_split_as_a_registry_sees_them() -> None:
    parse = kind_mirror.Reference.parse
    assert parse("rayproject/ray:2.52.0").official == "docker.io/rayproject/ray:2.52.0"
    assert parse("redis:7.0.15").official == "docker.io/library/redis:7.0.15"
    assert (
        parse("quay.io/kuberay/operator:v1.6.2").at("127.0.0.1:5110")
        == "127.0.0.1:5110/kuberay/operator:v1.6.2"
    )
    assert parse("localhost:5000/x") == kind_mirror.Reference("localhost:5000", "x", "latest")
    assert parse("registry.k8s.io/pause:3.10@sha256:ab").official == "registry.k8s.io/pause:3.10"
    # one mirror holds every host's images by path: the pinned ones never share a path
    pins = versions.load()
    every = [pins.redis_image, kind_images.kueue_image(pins.kueue.version)] + [
        image
        for k in pins.kuberay.values()
        for image in (k.ray_image, f"{pins.kind_operator_image}:{k.version}")
    ]
    assert kind_mirror.collisions(every) == []
    listing = json.dumps(
        {
            "images": [
                {
                    "repoTags": ["docker.io/rayproject/ray:2.52.0"],
                    "repoDigests": ["docker.io/rayproject/ray@sha256:1"],
                },
                {"repoTags": None},
            ]
        }
    )
    assert kind_mirror.image_names(listing) == [
        "docker.io/rayproject/ray:2.52.0",
        "docker.io/rayproject/ray@sha256:1",
    ]
    assert kind_mirror.collisions(["quay.io/a/b:1", "docker.io/a/b:1"]) == [
        ("quay.io/a/b:1", "docker.io/a/b:1")
    ]


def test_a_missing_local_chart_is_one_line_exit_2(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such chart folder or archive") as raised:
        KindProvider("v1.6.2", runner=Recorder(), chart_source=str(tmp_path / "nope"))
    assert raised.value.exit_code == 2


def test_missing_tools_and_docker_are_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "locate", lambda name: None)
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "go" else f"/usr/bin/{name}")
    with pytest.raises(EnvironmentProblem, match=r"--cluster kind needs `kind`: run `make tools`"):
        KindProvider("v1.6.2").binaries()


def test_kind_and_helm_are_built_on_first_use_when_go_is_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make conformance` on a machine with Docker and Go but no kind gets the pinned kind and Helm itself."""
    built: list[str] = []

    def ensure(name: str) -> Path:
        built.append(name)
        return Path(f"/built/{name}")

    monkeypatch.setattr(tools, "locate", lambda name: None)
    monkeypatch.setattr(tools, "ensure", ensure)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    found = KindProvider("v1.6.2").binaries()
    assert built == ["kind", "helm"]
    assert (found["kind"], found["helm"]) == ("/built/kind", "/built/helm")


def test_cluster_kind_without_a_docker_daemon_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without a Docker engine: one line, exit 2, before anything is created (the cluster name not
    even claimed)."""
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path))
    monkeypatch.setattr(kind_provider, "docker_answers", lambda: False)
    assert main(["check", "--live", "definitions/", "--cluster", "kind"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("karta-conformance: --cluster kind needs")
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "clusters" / "kind-karta.claim").exists()


def test_auto_falls_back_to_local_with_one_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(registry, "docker_answers", lambda: False)
    provider = make_provider("auto", announce=said.append)
    assert isinstance(provider, LocalProvider)
    assert len(said) == 1 and "uses the local backend" in said[0] and "kwok simulates" in said[0]
    monkeypatch.setattr(registry, "docker_answers", lambda: True)
    said.clear()
    assert isinstance(make_provider("auto", announce=said.append), KindProvider)
    assert said == []


def test_cpu_requests_fit_nodes_sharing_one_machine() -> None:
    """On kind (and existing) every container's CPU request is divided; limits, memory and GPUs stay."""
    (service,) = [f.object for f in fixtures.load_fixtures() if f.kind == "RayService"]
    fitted = kind_plan.fit_cpu_requests(service)
    head = fitted["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0][
        "resources"
    ]
    gpu, cpu = (
        g["template"]["spec"]["containers"][0]["resources"]
        for g in fitted["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    )
    assert head == {"requests": {"cpu": "250m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    assert gpu["requests"] == {"cpu": "250m", "memory": "1Gi", "nvidia.com/gpu": "1"}
    assert gpu["limits"] == {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}
    assert cpu["requests"] == {"cpu": "125m", "memory": "1Gi"}
    assert (
        service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0][
            "resources"
        ]["requests"]["cpu"]
        == "1"
    ), "the fixture itself is untouched"
    assert [kind_plan.cpu_millis(q) for q in ("1", "500m", 0.5, "1.5", "x")] == [1000, 500, 500, 1500, None]
    assert kind_plan.fit_cpu_requests({"containers": [{"resources": {"requests": {"cpu": "20m"}}}]}) == {
        "containers": [{"resources": {"requests": {"cpu": "10m"}}}]
    }


def test_fixtures_fitted_to_real_kubelets_place_serve_replicas_on_workers() -> None:
    """Ray Serve proxies run only on the head and nodes with replicas, and KubeRay's readiness probe of
    a RayService worker asks that proxy: on real kubelets the replicas must ask for CPU (the head has
    none) so they land on the workers; every Ray container gets a patient dashboard."""
    fixture = {f.kind: f.object for f in fixtures.load_fixtures()}
    service = kind_plan.fit_fixture(fixture["RayService"])
    config = yaml.safe_load(service["spec"]["serveConfigV2"])
    (deployment,) = config["applications"][0]["deployments"]
    assert deployment["ray_actor_options"] == {"num_cpus": 0.1}
    assert config["applications"][0]["import_path"] == "karta_fixture_app:app"
    original = yaml.safe_load(fixture["RayService"]["spec"]["serveConfigV2"])
    assert original["applications"][0]["deployments"][0]["ray_actor_options"] == {"num_cpus": 0}
    head = service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert {"name": "RAY_DASHBOARD_SUBPROCESS_MODULE_WAIT_READY_TIMEOUT", "value": "300"} in head["env"]
    assert head["resources"]["requests"]["cpu"] == "250m"
    job = kind_plan.fit_fixture(fixture["RayJob"])
    assert job["spec"]["entrypoint"] == fixture["RayJob"]["spec"]["entrypoint"]
    assert "serveConfigV2" not in job["spec"]


def test_every_ray_pod_template_fitted_to_real_kubelets_gets_a_short_grace_period() -> None:
    """Ray as PID 1 ignores SIGTERM: each Pod deletion would wait the default 30 s."""
    fixture = {f.kind: f.object for f in fixtures.load_fixtures()}
    for kind, fitted in ((k, kind_plan.fit_fixture(o)) for k, o in fixture.items()):
        templates = kind_plan.pod_templates(fitted)
        expected = {"RayCluster": 2, "RayJob": 2, "RayService": 3, "RayCronJob": 3}[
            kind
        ]  # head + groups (+ submitter)
        assert len(templates) >= expected, kind
        assert {t["spec"]["terminationGracePeriodSeconds"] for t in templates} == {kind_plan.GRACE_SECONDS}
        assert all(
            "terminationGracePeriodSeconds" not in t.get("spec", {})
            for t in kind_plan.pod_templates(fixture[kind])
        )
    given = {"spec": {"headGroupSpec": {"template": {"spec": {"terminationGracePeriodSeconds": 60}}}}}
    assert (
        kind_plan.pod_templates(kind_plan.short_grace(given))[0]["spec"]["terminationGracePeriodSeconds"]
        == 60
    )


def test_a_neighbour_on_real_kubelets_has_a_head_without_ray_and_no_workers() -> None:
    fixture = {f.kind: f.object for f in fixtures.load_fixtures()}
    neighbour = kind_plan.inert_neighbour(kind_plan.fit_fixture(fixture["RayCluster"]))
    assert neighbour["metadata"]["annotations"]["ray.io/overwrite-container-cmd"] == "true"
    (ray, *_) = neighbour["spec"]["headGroupSpec"]["template"]["spec"]["containers"]
    assert ray["command"] == ["/bin/sh", "-c", "exec sleep infinity"] and "args" not in ray
    assert ray["readinessProbe"]["exec"]["command"] == ray["livenessProbe"]["exec"]["command"] == ["true"]
    assert [(g["replicas"], g["minReplicas"]) for g in neighbour["spec"]["workerGroupSpecs"]] == [(0, 0)]
    assert (
        ray["image"]
        == fixture["RayCluster"]["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    )
    assert "annotations" not in fixture["RayCluster"]["metadata"] or (
        "ray.io/overwrite-container-cmd" not in fixture["RayCluster"]["metadata"]["annotations"]
    ), "the fixture itself is untouched"


class _FakeKube:
    """Answers Context.get and list_objects from a RayCluster and its Pods (no cluster)."""

    def __init__(self, cluster: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        self.cluster, self.pods = cluster, pods

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.cluster

    def list_objects(self, api_version: str, kind: str, namespace: str, label_selector: str = "") -> Any:
        return self.pods


def _ray_pod(node_type: str, phase: str, ready: bool, deleting: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"labels": {"ray.io/node-type": node_type}}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    return {"metadata": metadata, "status": {"phase": phase, "conditions": conditions}}


def test_a_held_pending_cluster_is_up_when_its_pods_run_and_its_head_is_ready() -> None:
    """On real kubelets the held pending cluster's workers stay NotReady (Serve's proxy answers 503 until a
    replica runs), so its RayCluster has no `state: ready`; the scenario counts it up from its Pods."""
    from conformance.live.scenarios import Context

    def up(state: str | None, pods: list[dict[str, Any]], desired: int = 1) -> bool:
        cluster = {"status": {"desiredWorkerReplicas": desired, **({"state": state} if state else {})}}
        context = Context(_FakeKube(cluster, pods), None, "ns", None)  # type: ignore[arg-type]
        return context.cluster_up("pending")

    head, worker = _ray_pod("head", "Running", True), _ray_pod("worker", "Running", False)
    assert up("ready", [])
    assert up(None, [head, worker])
    assert not up(None, [_ray_pod("head", "Running", False), worker])
    assert not up(None, [head, _ray_pod("worker", "Pending", False)])
    assert not up(None, [head])
    assert not up(None, [head, worker, _ray_pod("worker", "Running", True, deleting=True)], desired=2)
    assert up(None, [head, worker, _ray_pod("worker", "Running", False)], desired=2)
