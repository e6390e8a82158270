"""Live: the kind backend's cluster-side steps, run for real against the live API server.

No Docker here, so kind itself cannot run; but everything the kind provider does *inside* a
cluster goes through pytest-kind's ``kubectl()``. Pointing that at the live cluster runs the
provider's own methods (the fixture app's ConfigMap, the gate and health switches, the Pod
nudge, the GPU status patch) with a real kubectl against a real API server.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from conformance import fixtures, versions
from conformance.backends.base import Provider
from conformance.backends.kind.plan import APP_CONFIGMAP, GATE_KEY, HEALTH_KEY, SWITCH_ANNOTATION
from conformance.backends.kind.provider import KindProvider
from conformance.k8s.client import Kube
from conformance.toolchain import cache

pytestmark = pytest.mark.live


def _kubectl() -> str:
    """The local backend's kubectl (built with Kubernetes), else the one on PATH."""
    built = cache.component_dir("kubernetes", versions.load().kubernetes) / "bin" / "kubectl"
    found = str(built) if built.is_file() else shutil.which("kubectl")
    if found is None:
        pytest.fail("no kubectl: neither the local backend's build nor one on PATH")
    return found


@pytest.fixture
def kind_steps(provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KindProvider:
    """A KindProvider whose pytest-kind cluster object talks to the live cluster."""
    monkeypatch.chdir(tmp_path)  # pytest-kind keeps a .pytest-kind/ folder in the working directory
    steps = KindProvider(provider.kuberay_version, name=f"steps-{uuid.uuid4().hex[:5]}")
    kubectl = _kubectl()
    cluster = steps._kind_cluster({"kind": kubectl, "kubectl": kubectl})  # kind is never called here
    cluster.kubeconfig_path = Path(provider.kubeconfig)
    steps._cluster = cluster
    return steps


def test_fixture_app_and_switches_on_a_real_api_server(
    kind_steps: KindProvider, kube: Kube, namespace: str
) -> None:
    ray_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "ray-pod", "labels": {"ray.io/is-ray-node": "yes"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }
    kube.create(ray_pod, namespace)

    def configmap() -> dict[str, str]:
        found = kube.get("v1", "ConfigMap", APP_CONFIGMAP, namespace)
        assert found is not None
        return dict(found["data"])

    def nudged() -> str | None:
        pod = kube.get("v1", "Pod", "ray-pod", namespace) or {}
        return ((pod.get("metadata") or {}).get("annotations") or {}).get(SWITCH_ANNOTATION)

    kind_steps.prepare_namespace(namespace)
    app = (fixtures.default_dir() / "app" / "karta_fixture_app.py").read_text()
    assert configmap() == {"karta_fixture_app.py": app, GATE_KEY: "off", HEALTH_KEY: "off"}
    kind_steps.prepare_namespace(namespace)  # idempotent (kubectl apply)

    kind_steps.hold_new_heads(namespace)
    assert configmap()[GATE_KEY] == "on"
    kind_steps.release_heads(namespace)
    assert configmap()[GATE_KEY] == "off"
    assert nudged() == "1"
    kind_steps.set_app_unhealthy(namespace, "ray-pod", True)
    assert configmap()[HEALTH_KEY] == "on"
    assert nudged() == "2"
    kind_steps.set_app_unhealthy(namespace, "ray-pod", False)
    assert configmap()[HEALTH_KEY] == "off"


def test_gpu_status_patch_on_a_real_api_server(kind_steps: KindProvider, kube: Kube) -> None:
    """The provider's `kubectl patch node --subresource=status` on a probe Node (cordoned, deleted after)."""
    name = f"karta-probe-{uuid.uuid4().hex[:5]}"
    kube.create(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {"unschedulable": True}}
    )
    try:
        kind_steps.kubectl(*kind_steps.plan.patch_gpus(f"node/{name}"))
        node = kube.get("v1", "Node", name)
        assert node is not None
        assert node["status"]["capacity"]["nvidia.com/gpu"] == str(kind_steps.plan.gpus_per_node)
        # the same jsonpath form the provider waits with, on the field a kubelet-less node keeps
        jsonpath = "{.status.capacity.nvidia\\.com/gpu}"
        kind_steps.kubectl("wait", f"node/{name}", f"--for=jsonpath={jsonpath}=4", "--timeout=30s")
    finally:
        kube.delete("v1", "Node", name)
