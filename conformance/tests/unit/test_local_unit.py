"""The local backend's pure parts: versions, commands it would run, configuration it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import versions
from conformance.backends.local import operator
from conformance.backends.local.cluster import STAGES, kwok_node, kwokctl_configuration
from conformance.cli import main
from conformance.toolchain.build import Binaries, _remote_replaces

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


def test_every_pinned_version_resolves() -> None:
    """Each pin is usable as the rest of the harness asks for it, whatever versions.yaml pins."""
    pins = versions.load()
    assert pins.default_kuberay in pins.kuberay
    assert pins.kuberay_version(None) is pins.kuberay[pins.default_kuberay]
    for name, pinned in pins.kuberay.items():
        assert pinned.version == name
        assert pins.kuberay_version(name) is pins.kuberay_version(name.removeprefix("v")) is pinned
        assert pinned.chart == name.removeprefix("v")  # the Helm chart of the same release
    for image in pins.kind_node_images:
        tag = pins.node_kubernetes(image)
        assert pins.node_image(tag) == pins.node_image(tag.rsplit(".", 1)[0]) == image
    major, minor, patch = pins.kubernetes.removeprefix("v").split(".")
    assert pins.staging == f"v0.{minor}.{patch}" and major == "1"
    for version in (pins.kubernetes, pins.etcd, pins.kwok, *(t.version for t in pins.tools.values())):
        assert version.startswith("v") and all(part.isdigit() for part in version[1:].split(".")), version


def test_unknown_kuberay_version_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "up", "--provider", "local", "--kuberay-version", "v0.0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"supported: {', '.join(versions.load().kuberay)}" in err


def test_missing_go_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    assert main(["cluster", "up", "--provider", "local", "--name", "no-go"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the Go toolchain is missing: install Go" in err[0]


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


@pytest.mark.parametrize("version", list(versions.load().kuberay))
def test_operator_arguments_follow_the_chart(version: str) -> None:
    args = operator.arguments(version, 1111, 2222)
    assert "--enable-leader-election=true" in args
    assert "--health-probe-bind-address=127.0.0.1:1111" in args and "--metrics-addr=127.0.0.1:2222" in args
    gates = next(a for a in args if a.startswith("--feature-gates="))
    assert "RayClusterStatusConditions=true" in gates
    assert ("RayMultiHostIndexing" in gates) == (version not in ("v1.3.2", "v1.4.2"))


def test_wrapper_copies_remote_replace_directives() -> None:
    go_mod = """module x
replace github.com/imdario/mergo => github.com/imdario/mergo v0.3.16
replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tgo.opentelemetry.io/otelhttp v0.35.1 => go.opentelemetry.io/otelhttp v0.44.0
)
"""
    assert _remote_replaces(go_mod) == [
        "github.com/imdario/mergo => github.com/imdario/mergo v0.3.16",
        "go.opentelemetry.io/otelhttp v0.35.1 => go.opentelemetry.io/otelhttp v0.44.0",
    ]


def test_deploy_failed_hook_points_every_app_at_a_missing_module() -> None:
    import yaml

    from conformance.fixtures import deploy_failed_patch, load_fixtures

    rayservice = next(f.object for f in load_fixtures() if f.kind == "RayService")
    config = yaml.safe_load(deploy_failed_patch(rayservice)["spec"]["serveConfigV2"])
    assert [a["import_path"] for a in config["applications"]] == ["karta_fixture_missing:app"]
    assert config["applications"][0]["name"] == "echo"
