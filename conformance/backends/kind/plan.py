"""What the kind backend runs, as data: commands and manifests, built from the versions file.

Pure: nothing here touches Docker, kind, Helm or a cluster. ``providers/kind.py`` executes
the plan; the unit tests assert it exactly. Keeping the untested surface (running it) thin.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from conformance import versions
from conformance.backends import fixture_app, gates
from conformance.backends.kind import images as offline
from conformance.backends.kind import mirror as mirrors
from conformance.fixtures import mappings

OPERATOR_NAMESPACE = "kuberay-system"
RELEASE = "kuberay-operator"
REPO_NAME = "kuberay"
CHART = f"{REPO_NAME}/kuberay-operator"
GPU = "nvidia.com/gpu"
# An extended resource beyond GPUs (an RDMA HCA, as an RDMA device plugin advertises it), simulated like
# the GPUs, for the feature scenario extended-resources.
RDMA = "rdma/hca"

# The fixtures' Serve app and its two switches travel in one ConfigMap per namespace (named in
# backends/fixture_app.py, shared with the local runtime); the RayService fixture mounts it in every
# Ray container and points KARTA_FIXTURE_GATE_FILE / KARTA_FIXTURE_HEALTH_FILE at the two keys.
APP_CONFIGMAP = fixture_app.APP_CONFIGMAP
DASHBOARD_MODULE_TIMEOUT = fixture_app.DASHBOARD_MODULE_TIMEOUT
APP_MODULE = fixture_app.APP_MODULE
GATE_KEY = fixture_app.GATE_KEY
HEALTH_KEY = fixture_app.HEALTH_KEY
SWITCH_ANNOTATION = fixture_app.SWITCH_ANNOTATION
RAY_PODS = fixture_app.RAY_PODS

# kind nodes are containers on one machine, and each reports all of the machine's cores as its own
# CPU capacity (2 on the 2-core development machine, 4 on a GitHub runner). The fixtures ask for
# CPU as a real cluster would (1 per head, 500m per worker): a RayService upgrade with its
# neighbour (three RayClusters at once, 7 CPUs requested) cannot schedule on two such workers.
# On kind every CPU request is divided by this; limits stay, so a Ray container still gets the
# CPUs Ray counts (KubeRay derives ``num-cpus`` from the limit). Memory stays: every node reports
# the machine's memory, the requests fit, and what the containers really use is what it is.
CPU_REQUEST_DIVISOR = 4

# Ray Serve's HTTP port (KubeRay's default serving port; the fixtures do not change it), closed by the
# serve-unready fault: REJECT with a TCP reset, so each probe fails at once rather than timing out.
SERVE_PORT = 8000
SERVE_PORT_RULE = (
    "INPUT",
    "-p",
    "tcp",
    "--dport",
    str(SERVE_PORT),
    "-j",
    "REJECT",
    "--reject-with",
    "tcp-reset",
)

# A Ray container's PID 1 is ``ray start --block`` (KubeRay's ``bash -lc "ulimit ...; ray start ..."``
# execs it), which catches only SIGINT: as PID 1 it ignores the kubelet's SIGTERM, so every Ray Pod
# deleted (scale-down, suspend, an upgrade's old cluster, a namespace at the end) takes the whole
# default grace period (30 s) before the SIGKILL. Seen on kind: /proc/1/status SigCgt 0x2.
GRACE_SECONDS = 2


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
    # Whether the nodes pull through the registry mirror this backend runs (``mirror.py``): the images
    # built here, published under their official names. Off: they pull from the registries themselves.
    mirror: bool = False

    @classmethod
    def pinned(
        cls,
        cluster: str,
        kuberay_version: str | None,
        node_image: str | None,
        chart_source: str | None = None,
        built_node: bool = False,
        mirror: bool = False,
    ) -> KindPlan:
        """The pinned plan; ``built_node`` (and no ``node_image`` asked for) runs the offline node image,
        ``mirror`` pulls the workloads' images through the local registry mirror."""
        pins = versions.load()
        kuberay = pins.kuberay_version(kuberay_version)
        offline_node = offline.node_images_for(pins) if built_node and not node_image else None
        image = offline.node_tag(pins.kubernetes) if offline_node else pins.node_image(node_image)
        return cls(
            cluster=cluster,
            kuberay=kuberay,
            node_image=image,
            chart_repository=pins.chart_repository,
            operator_repository=pins.kind_operator_image,
            gpus_per_node=pins.kind_gpus_per_node,
            chart_source=resolve_chart_source(chart_source, kuberay.version),
            built_node=offline_node,
            mirror=mirror,
        )

    # -- the cluster ---------------------------------------------------------

    @property
    def kubernetes(self) -> str:
        if self.built_node is not None:  # the offline node (its tag may carry a -kuberay-<version> suffix)
            return self.built_node.kubernetes
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
        if self.mirror:
            config["containerdConfigPatches"] = [mirrors.CONTAINERD_PATCH]
        return config

    @property
    def redis_image(self) -> str:
        """The Redis beside the GCS fault-tolerance scenarios (the official name pinned in versions.yaml)."""
        return versions.load().redis_image

    def workload_images(self) -> list[str]:
        """The images the workloads pull by their official names: the operator, Ray, Redis."""
        return [self.operator_image, self.kuberay.ray_image, self.redis_image]

    def prepulled(self) -> list[str]:
        """What each schedulable node pulls before any scenario starts (Ray images are large: a pull
        inside a scenario would eat its deadline; Redis, for the GCS fault-tolerance scenarios)."""
        return [self.kuberay.ray_image, self.redis_image]

    @staticmethod
    def docker_has_image(docker: str, image: str) -> list[str]:
        return [docker, "image", "inspect", "--format", "{{.Id}}", image]

    def list_kind_nodes(self, kind: str) -> list[str]:
        return [kind, "get", "nodes", "--name", self.cluster]

    @staticmethod
    def pull_on_node(docker: str, node: str, image: str) -> list[str]:
        """Pull through the node's CRI by the official name, as the kubelet's pulls go (through the
        registry mirror, where the node has one)."""
        return [docker, "exec", node, "crictl", "pull", mirrors.Reference.parse(image).official]

    @staticmethod
    def container_tasks(docker: str, node: str) -> list[str]:
        """The node's running containers and their PIDs (containerd's ``ctr``: crictl gives no PIDs)."""
        return [docker, "exec", node, "ctr", "--namespace", "k8s.io", "task", "ls"]

    @staticmethod
    def serve_port_rule(docker: str, node: str, pid: int, on: bool) -> list[str]:
        """Fault (Capability.SERVE_UNREADY): inside the network namespace of the container with ``pid``,
        connections to Ray Serve's port are refused (``on``) or the rule removed. The operator's proxy
        health check of a head and the readiness probe of a worker (which asks that proxy, from inside the
        Pod) both fail; Ray, the dashboard and every other port are untouched."""
        return [docker, "exec", node, "nsenter", f"--target={pid}", "--net", "iptables",
                "-I" if on else "-D", *SERVE_PORT_RULE]  # fmt: skip

    @staticmethod
    def schedulable(node: str) -> bool:
        """kind taints its control-plane node when there are workers: Pods land on workers only."""
        return not node.endswith("-control-plane")

    # -- the operator ----------------------------------------------------------

    @staticmethod
    def helm_home(kubeconfig: Path) -> Path:
        """Helm's repository list and cache for this cluster, beside its kubeconfig (never the user's)."""
        return kubeconfig.parent / "helm"

    def _repositories(self, kubeconfig: Path) -> list[str]:
        home = self.helm_home(kubeconfig)
        return [
            "--repository-config",
            str(home / "repositories.yaml"),
            "--repository-cache",
            str(home / "cache"),
        ]

    def helm_repo(self, helm: str, kubeconfig: Path) -> list[list[str]]:
        """The chart's repository added as on a hosted runner (a local one's URL, where one serves)."""
        return [
            [
                helm,
                "repo",
                "add",
                REPO_NAME,
                self.chart_repository,
                "--force-update",
                *self._repositories(kubeconfig),
            ],
            [helm, "repo", "update", REPO_NAME, *self._repositories(kubeconfig)],
        ]

    @staticmethod
    def _helm(helm: str, kubeconfig: Path, *args: str) -> list[str]:
        """A helm command on the operator's namespace of the kind cluster."""
        return [helm, *args, "--namespace", OPERATOR_NAMESPACE, "--kubeconfig", str(kubeconfig)]

    def _chart(self) -> list[str]:
        return [CHART, "--version", self.kuberay.chart]

    def helm_list(self, helm: str, kubeconfig: Path) -> list[str]:
        return self._helm(helm, kubeconfig, "list", "-o", "json")

    def helm_get_values(self, helm: str, kubeconfig: Path) -> list[str]:
        return self._helm(helm, kubeconfig, "get", "values", RELEASE, "-o", "json")

    def helm_upgrade_gates(self, helm: str, kubeconfig: Path) -> list[str]:
        """The kept release with the harness's feature gates (its other values kept)."""
        return self._helm(
            helm,
            kubeconfig,
            "upgrade",
            RELEASE,
            *self._chart(),
            "--reuse-values",
            *self.feature_gate_values(),
            "--wait",
            "--timeout",
            "5m",
            *self._repositories(kubeconfig),
        )

    def helm_install(self, helm: str, kubeconfig: Path) -> list[str]:
        return [
            helm,
            "install",
            RELEASE,
            *self._chart(),
            "--namespace",
            OPERATOR_NAMESPACE,
            "--create-namespace",
            "--set",
            f"image.repository={self.operator_repository}",
            "--set",
            f"image.tag={self.kuberay.version}",
            *self.feature_gate_values(),
            "--wait",
            "--timeout",
            "5m",
            "--kubeconfig",
            str(kubeconfig),
            *self._repositories(kubeconfig),
        ]

    def feature_gate_values(self) -> list[str]:
        """The chart's ``featureGates`` list with the harness's gates turned on (``backends/gates.py``);
        nothing when the harness runs the chart's own."""
        listed = gates.helm_values(self.kuberay.version)
        return ["--set-json", f"featureGates={json.dumps(listed, separators=(',', ':'))}"] if listed else []

    def chart_origin(self) -> str:
        served = f", serving the local chart {self.chart_source}" if self.chart_source else ""
        return f"Helm repository {self.chart_repository}{served}"

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
        """Merge patch for a Node's status: extended-resource capacity (GPUs, and as many RDMA HCAs)
        the kubelet then keeps and copies to allocatable (Kubernetes' "advertise extended resources
        for a node")."""
        return {"status": {"capacity": {GPU: str(self.gpus_per_node), RDMA: str(self.gpus_per_node)}}}

    def patch_gpus(self, node: str) -> list[str]:
        return ["patch", node, "--subresource=status", "--type=merge", "-p", json.dumps(self.gpu_patch())]

    def wait_gpus(self) -> list[str]:
        jsonpath = "{.status.allocatable.nvidia\\.com/gpu}"
        return ["wait", "node", "--all", f"--for=jsonpath={jsonpath}={self.gpus_per_node}", "--timeout=120s"]


def cpu_millis(quantity: str | int | float) -> int | None:
    """A Kubernetes CPU quantity in millicores (``"1"``, ``"500m"``, ``0.5``), None when not one."""
    text = str(quantity).strip()
    try:
        value = Fraction(text[:-1]) / 1000 if text.endswith("m") else Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return int(value * 1000)


def fit_cpu_requests(manifest: dict[str, Any], divisor: int = CPU_REQUEST_DIVISOR) -> dict[str, Any]:
    """A copy of ``manifest`` whose containers request ``1/divisor`` of the CPU they asked for
    (at least 10m; limits, memory and everything else unchanged). Applied to every fixture the
    scenarios create on kind, before creation, so the live objects and their Pods agree."""
    fitted = copy.deepcopy(manifest)
    for node in mappings(fitted):
        for key in ("containers", "initContainers"):
            listed = node.get(key)
            for container in listed if isinstance(listed, list) else []:
                requests = ((container or {}).get("resources") or {}).get("requests")
                if not isinstance(requests, dict) or "cpu" not in requests:
                    continue
                millis = cpu_millis(requests["cpu"])
                if millis is not None:
                    requests["cpu"] = f"{max(10, millis // divisor)}m"
    return fitted


# Ray Serve runs an HTTP proxy on the head and on every node that hosts a replica, and KubeRay's
# readiness probe of a RayService's worker Pods asks that proxy (``:8000/-/healthz``): a worker
# without a replica is never Ready, so its RayCluster never reaches ``state: ready``. The fixture's
# replicas ask for no CPU (``num_cpus: 0``, so the local backend's lone real head can host them);
# with real workers they ask for this much, which the head (``num-cpus: 0``) cannot give, so Ray
# places them on the workers.
REPLICA_CPUS = 0.1


def serve_replicas_on_workers(manifest: dict[str, Any], cpus: float = REPLICA_CPUS) -> dict[str, Any]:
    """A copy of a RayService whose Serve deployments ask ``cpus`` where they asked for none."""
    fitted = copy.deepcopy(manifest)
    spec = fitted.get("spec") if fitted.get("kind") == "RayService" else None
    text = (spec or {}).get("serveConfigV2")
    if not isinstance(text, str):
        return fitted
    config = yaml.safe_load(text) or {}
    for application in config.get("applications") or []:
        for deployment in application.get("deployments") or []:
            options = deployment.setdefault("ray_actor_options", {})
            if not options.get("num_cpus"):
                options["num_cpus"] = cpus
    spec["serveConfigV2"] = yaml.safe_dump(config, sort_keys=False)  # type: ignore[index]
    return fitted


def with_ray_env(manifest: dict[str, Any], env: tuple[str, str] = DASHBOARD_MODULE_TIMEOUT) -> dict[str, Any]:
    """A copy whose containers running a Ray image have ``env`` set (unless they set it)."""
    fitted = copy.deepcopy(manifest)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "containers" and isinstance(value, list):
                    for container in value:
                        if isinstance(container, dict) and "ray" in str(container.get("image", "")):
                            variables = container.setdefault("env", [])
                            if not any(v.get("name") == env[0] for v in variables):
                                variables.append({"name": env[0], "value": env[1]})
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(fitted)
    return fitted


FITTED = (
    f"fixtures fitted to real kubelets on one machine: CPU requests / {CPU_REQUEST_DIVISOR}, "
    f"Serve replicas ask {REPLICA_CPUS} CPU (so they run on workers); Ray Pods' grace period "
    f"{GRACE_SECONDS} s (Ray ignores SIGTERM as PID 1); neighbours' heads run no Ray and have no workers"
)


def pod_templates(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The Pod templates of a RayCluster, RayJob, RayService or RayCronJob (head, worker groups, submitter)."""
    spec = manifest.get("spec") or {}
    if isinstance(spec.get("jobTemplate"), dict):  # a RayCronJob: its RayJobs' spec
        spec = spec["jobTemplate"]
    clusters = [spec, spec.get("rayClusterSpec") or {}, spec.get("rayClusterConfig") or {}]
    found = []
    for cluster in clusters:
        head = (cluster.get("headGroupSpec") or {}).get("template")
        found += [head] if isinstance(head, dict) else []
        for group in cluster.get("workerGroupSpecs") or []:
            template = (group or {}).get("template")
            found += [template] if isinstance(template, dict) else []
    submitter = spec.get("submitterPodTemplate")
    found += [submitter] if isinstance(submitter, dict) else []
    return found


def short_grace(manifest: dict[str, Any], seconds: int = GRACE_SECONDS) -> dict[str, Any]:
    """A copy whose Pod templates set ``terminationGracePeriodSeconds`` (unless they set it)."""
    fitted = copy.deepcopy(manifest)
    for template in pod_templates(fitted):
        template.setdefault("spec", {}).setdefault("terminationGracePeriodSeconds", seconds)
    return fitted


def fit_fixture(manifest: dict[str, Any]) -> dict[str, Any]:
    """A fixture as the scenarios create it on real kubelets that share one machine (kind, or an
    existing cluster): CPU requests divided, Serve replicas on the workers, a patient dashboard, a
    short grace period."""
    return short_grace(with_ray_env(serve_replicas_on_workers(fit_cpu_requests(manifest))))


# A scenario's neighbour (another workload's Pods in the namespace, for the selectors to ignore) needs
# KubeRay's Pods and labels, not Ray: on real kubelets its head runs no Ray (KubeRay keeps the given
# command under ray.io/overwrite-container-cmd; the probes are trivially true) and it has no workers,
# whose injected init container would poll the head's GCS (a Python start every 5 s) forever.
OVERWRITE_COMMAND = "ray.io/overwrite-container-cmd"
INERT_COMMAND = ["/bin/sh", "-c", "exec sleep infinity"]


def inert_neighbour(manifest: dict[str, Any]) -> dict[str, Any]:
    """A copy of a (fitted) neighbour RayCluster whose head Pod runs ``sleep``, with no worker Pods."""
    inert = copy.deepcopy(manifest)
    inert.setdefault("metadata", {}).setdefault("annotations", {})[OVERWRITE_COMMAND] = "true"
    spec = inert.get("spec") or {}
    head = ((spec.get("headGroupSpec") or {}).get("template") or {}).get("spec") or {}
    for container in (head.get("containers") or [])[:1]:  # the Ray container (KubeRay's index 0)
        container["command"] = list(INERT_COMMAND)
        container.pop("args", None)
        for probe in ("readinessProbe", "livenessProbe"):
            container[probe] = {"exec": {"command": ["true"]}, "periodSeconds": 30}
    for group in spec.get("workerGroupSpecs") or []:
        group.update({"replicas": 0, "minReplicas": 0})
    return inert


CHART_ENV = "KARTA_CONFORMANCE_CHART"  # a local chart folder or archive, where no Helm repository answers


def resolve_chart_source(source: str | None, kuberay_version: str) -> str | None:
    """A chart folder or archive; ``{version}`` in it becomes the KubeRay version (v1.6.2).

    Only the string is resolved here; the provider checks that the path exists."""
    if not source:
        return None
    return source.replace("{version}", kuberay_version)


def task_pids(listing: str) -> dict[str, int]:
    """``ctr task ls`` output -> {container id: pid} (the header and malformed rows skipped)."""
    pids = {}
    for row in listing.splitlines()[1:]:
        fields = row.split()
        if len(fields) >= 2 and fields[1].isdigit():
            pids[fields[0]] = int(fields[1])
    return pids


def ray_containers(pods: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(Pod name, node, container id) of each running Ray container (KubeRay's index 0) of ``pods``."""
    found = []
    for pod in pods:
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        containers = spec.get("containers") or []
        if not containers or pod["metadata"].get("deletionTimestamp"):
            continue
        name = containers[0].get("name")
        for state in status.get("containerStatuses") or []:
            cid = str(state.get("containerID") or "")
            if state.get("name") == name and "://" in cid and "running" in (state.get("state") or {}):
                found.append((pod["metadata"]["name"], str(spec.get("nodeName")), cid.split("://", 1)[1]))
    return found
