"""What the kind backend runs, as data: commands and manifests, built from the versions file.

Pure: nothing here touches Docker, kind, Helm or a cluster. ``providers/kind.py`` executes
the plan; the unit tests assert it exactly. Keeping the untested surface (running it) thin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import versions
from conformance.backends import fixture_app
from conformance.backends.kind import images as offline

OPERATOR_NAMESPACE = "kuberay-system"
RELEASE = "kuberay-operator"
REPO_NAME = "kuberay"
CHART = f"{REPO_NAME}/kuberay-operator"
GPU = "nvidia.com/gpu"

# The fixtures' Serve app and its two switches travel in one ConfigMap per namespace (named in
# backends/fixture_app.py, shared with the local runtime); the RayService fixture mounts it in every
# Ray container and points KARTA_FIXTURE_GATE_FILE / KARTA_FIXTURE_HEALTH_FILE at the two keys.
APP_CONFIGMAP = fixture_app.APP_CONFIGMAP
APP_MODULE = fixture_app.APP_MODULE
GATE_KEY = fixture_app.GATE_KEY
HEALTH_KEY = fixture_app.HEALTH_KEY
SWITCH_ANNOTATION = fixture_app.SWITCH_ANNOTATION
RAY_PODS = fixture_app.RAY_PODS


@dataclass(frozen=True)
class KindPlan:
    cluster: str  # kind cluster name
    kuberay: versions.KubeRayVersion
    node_image: str
    chart_repository: str
    operator_repository: str
    gpus_per_node: int
    workers: int = 2
    # A local chart folder or archive to install instead of the Helm repository's pinned chart.
    chart_source: str | None = None
    # Set when the node image is the offline one built here (``karta-conformance images build``).
    built_node: offline.NodeImages | None = None

    @classmethod
    def pinned(
        cls,
        cluster: str,
        kuberay_version: str | None,
        node_image: str | None,
        chart_source: str | None = None,
        built_node: bool = False,
    ) -> KindPlan:
        """The pinned plan; ``built_node`` (and no ``node_image`` asked for) runs the offline node image."""
        pins = versions.load()
        kuberay = pins.kuberay_version(kuberay_version)
        offline_node = offline.node_images_for(pins) if built_node and not node_image else None
        return cls(
            cluster=cluster,
            kuberay=kuberay,
            node_image=offline.node_tag(pins.kubernetes) if offline_node else pins.node_image(node_image),
            chart_repository=pins.chart_repository,
            operator_repository=pins.kind_operator_image,
            gpus_per_node=pins.kind_gpus_per_node,
            chart_source=resolve_chart_source(chart_source, kuberay.version),
            built_node=offline_node,
        )

    # -- the cluster ---------------------------------------------------------

    @property
    def kubernetes(self) -> str:
        return versions.Versions.node_kubernetes(self.node_image)

    def kubernetes_pinned(self) -> str:
        """The local backend's Kubernetes (what the offline node image is built for)."""
        return versions.load().kubernetes

    @property
    def operator_image(self) -> str:
        return f"{self.operator_repository}:{self.kuberay.version}"

    def cluster_config(self) -> dict[str, Any]:
        """kind's Cluster config: one control plane and ``workers`` workers (the node image is --image)."""
        config: dict[str, Any] = {
            "kind": "Cluster",
            "apiVersion": "kind.x-k8s.io/v1alpha4",
            "nodes": [{"role": "control-plane"}] + [{"role": "worker"} for _ in range(self.workers)],
        }
        if self.built_node is not None:
            config["kubeadmConfigPatches"] = offline.kubeadm_patches(self.built_node)
        return config

    def images(self) -> list[str]:
        """Images worth preloading with ``kind load docker-image`` when the local Docker has them."""
        return [self.kuberay.ray_image, self.operator_image]

    def load_image(self, kind: str, image: str, nodes: list[str]) -> list[str]:
        """``kind load docker-image`` into ``nodes`` (the Ray image goes to the schedulable ones only)."""
        return [kind, "load", "docker-image", image, "--name", self.cluster, "--nodes", ",".join(nodes)]

    @staticmethod
    def docker_has_image(docker: str, image: str) -> list[str]:
        return [docker, "image", "inspect", "--format", "{{.Id}}", image]

    def list_kind_nodes(self, kind: str) -> list[str]:
        return [kind, "get", "nodes", "--name", self.cluster]

    @staticmethod
    def pull_on_node(docker: str, node: str, image: str) -> list[str]:
        """Pull into one node's containerd before the scenarios start (Ray images are large; a pull
        inside a scenario would eat its deadline)."""
        return [docker, "exec", node, "crictl", "pull", image]

    @staticmethod
    def schedulable(node: str) -> bool:
        """kind taints its control-plane node when there are workers: Pods land on workers only."""
        return not node.endswith("-control-plane")

    # -- the operator ----------------------------------------------------------

    def helm_repo(self, helm: str) -> list[list[str]]:
        if self.chart_source:
            return []
        return [
            [helm, "repo", "add", REPO_NAME, self.chart_repository, "--force-update"],
            [helm, "repo", "update", REPO_NAME],
        ]

    def helm_list(self, helm: str, kubeconfig: Path) -> list[str]:
        return [
            helm,
            "list",
            "--namespace",
            OPERATOR_NAMESPACE,
            "--kubeconfig",
            str(kubeconfig),
            "-o",
            "json",
        ]

    def helm_install(self, helm: str, kubeconfig: Path) -> list[str]:
        return [
            helm,
            "install",
            RELEASE,
            *([self.chart_source] if self.chart_source else [CHART, "--version", self.kuberay.chart]),
            "--namespace",
            OPERATOR_NAMESPACE,
            "--create-namespace",
            "--set",
            f"image.repository={self.operator_repository}",
            "--set",
            f"image.tag={self.kuberay.version}",
            "--wait",
            "--timeout",
            "5m",
            "--kubeconfig",
            str(kubeconfig),
        ]

    def chart_origin(self) -> str:
        return (
            f"local chart {self.chart_source}"
            if self.chart_source
            else f"Helm repository {self.chart_repository}"
        )

    def chart_label(self) -> str:
        """How ``helm list`` names the pinned chart."""
        return f"kuberay-operator-{self.kuberay.chart}"

    def restart_operator(self) -> list[list[str]]:
        deployment = f"deployment/{RELEASE}"
        return [
            ["-n", OPERATOR_NAMESPACE, "rollout", "restart", deployment],
            ["-n", OPERATOR_NAMESPACE, "rollout", "status", deployment, "--timeout=180s"],
        ]

    def operator_logs(self) -> list[str]:
        return ["-n", OPERATOR_NAMESPACE, "logs", f"deployment/{RELEASE}", "--all-containers", "--tail=-1"]

    # -- fake GPUs -----------------------------------------------------------------

    def list_nodes(self) -> list[str]:
        return ["get", "nodes", "-o", "name"]

    def gpu_patch(self) -> dict[str, Any]:
        """Merge patch for a Node's status: extended-resource capacity the kubelet then keeps and
        copies to allocatable (Kubernetes' "advertise extended resources for a node")."""
        return {"status": {"capacity": {GPU: str(self.gpus_per_node)}}}

    def patch_gpus(self, node: str) -> list[str]:
        return ["patch", node, "--subresource=status", "--type=merge", "-p", json.dumps(self.gpu_patch())]

    def wait_gpus(self) -> list[str]:
        jsonpath = "{.status.allocatable.nvidia\\.com/gpu}"
        return ["wait", "node", "--all", f"--for=jsonpath={jsonpath}={self.gpus_per_node}", "--timeout=120s"]


CHART_ENV = "KARTA_CONFORMANCE_CHART"


def resolve_chart_source(source: str | None, kuberay_version: str) -> str | None:
    """A chart folder or archive; ``{version}`` in it becomes the KubeRay version (v1.6.2).

    Only the string is resolved here; the provider checks that the path exists."""
    if not source:
        return None
    return source.replace("{version}", kuberay_version)
