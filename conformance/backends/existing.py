"""A cluster the user already runs (any kubeconfig with KubeRay installed).

The gate and fault switches work as on kind (``backends.switches``: a ConfigMap the fixtures'
Ray containers mount, flipped through the API), so the whole live suite runs on any cluster with
real kubelets that can run the pinned Ray image (the local backend's Ray runtime honours the same
ConfigMap). The operator restart fault finds the operator's Deployment by the Helm chart's label;
where there is none (an operator run outside the cluster), that capability is not offered and the
phase that needs it is reported UNVERIFIED with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import versions
from conformance.backends import raynodes
from conformance.backends.base import Capability, Unsupported
from conformance.backends.kind.plan import FITTED, fit_fixture, inert_neighbour
from conformance.backends.switches import NO_SERVE_SWITCH, ApiSwitches
from conformance.errors import EnvironmentProblem, UserError
from conformance.toolchain import cache

OPERATOR_SELECTOR = "app.kubernetes.io/name=kuberay-operator"
KWOK_NODE = "kwok.x-k8s.io/node"  # on every node kwok simulates
# What needs a container to run: a command in a Ray head (the GCS's node list, a job submitted there), and
# every container of a Pod (SidecarMode's submitter).
CONTAINER_CAPABILITIES = frozenset(
    {Capability.RAY_NODES, Capability.SUBMIT_RAY_JOB, Capability.RUN_CONTAINERS}
)


def kubectl_binary() -> str:
    """kubectl on PATH, else the one the local backend built."""
    found = shutil.which("kubectl")
    if found:
        return found
    pins = versions.load()
    built = cache.component_dir("kubernetes", pins.kubernetes) / "bin" / "kubectl"
    if built.is_file():
        return str(built)
    raise EnvironmentProblem(
        "--cluster existing needs `kubectl` on PATH (or `make cluster-up` once to build it)"
    )


class ExistingProvider:
    name = "existing"
    batch_scheduler = ""  # the cluster's own operator, as its owner configured it
    timeout_scale = 2.0  # unknown nodes and images: be patient
    parallel = 1  # a cluster of unknown size: one scenario at a time unless --parallel says more

    def __init__(self, kubeconfig: str, kuberay_version: str) -> None:
        if not Path(kubeconfig).expanduser().is_file():
            raise UserError("no such kubeconfig", where=kubeconfig)
        self._kubeconfig = str(Path(kubeconfig).expanduser())
        self._version = kuberay_version
        self.switches = ApiSwitches(self.kubectl)
        self._operator: tuple[str, str] | None = None  # namespace, Deployment (found by start())
        self._no_operator = "not looked for yet (start() finds the operator's Deployment)"
        # Why no container runs, when start() finds the nodes simulated (kwok: no kubelet, no exec).
        self._simulated: str = ""

    @property
    def capabilities(self) -> frozenset[Capability]:
        found = {Capability.GATE, Capability.APP_UNHEALTHY}
        if not self._simulated:
            found |= CONTAINER_CAPABILITIES
        return frozenset(found | ({Capability.RESTART_OPERATOR} if self._operator else set()))

    def lacks(self, capability: Capability) -> str:
        if capability in self.capabilities:
            return ""
        if capability in CONTAINER_CAPABILITIES:
            return self._simulated
        return NO_SERVE_SWITCH if capability is Capability.SERVE_UNREADY else self._no_operator

    @property
    def kubeconfig(self) -> str:
        return self._kubeconfig

    @property
    def kuberay_version(self) -> str:
        return self._version

    @property
    def kubernetes_version(self) -> str:
        return "as served by the cluster"

    def kubectl(self, *args: str, input: str | None = None) -> str:
        command = [kubectl_binary(), "--kubeconfig", self._kubeconfig, *args]
        completed = subprocess.run(
            command, input=input, capture_output=True, text=True, timeout=120, check=False
        )
        if completed.returncode != 0:
            raise EnvironmentProblem(
                f"kubectl {' '.join(args[:4])} failed: {completed.stderr.strip()[-300:]}"
            )
        return completed.stdout

    def prepare_namespace(self, namespace: str) -> None:
        """The fixtures' Serve app (and its switches, off) as a ConfigMap the Ray Pods mount."""
        self.switches.prepare_namespace(namespace)

    def start(self) -> None:
        """Nothing to start (the cluster is the user's): find the KubeRay operator's Deployment, and whether
        its nodes are simulated (kwok's: then no probe that runs a command in a container can work there,
        and the phases that need one are UNVERIFIED with that reason instead of ERROR)."""
        nodes = json.loads(self.kubectl("get", "nodes", "-o", "json")).get("items") or []
        if nodes and all(KWOK_NODE in ((n.get("metadata") or {}).get("annotations") or {}) for n in nodes):
            self._simulated = (
                f"every node of this cluster is simulated by kwok (annotation {KWOK_NODE}): no kubelet runs a "
                "container, so no command can run in a Ray head (kubectl exec) and no container runs at all"
            )
        listed = json.loads(self.kubectl("get", "deployments", "-A", "-l", OPERATOR_SELECTOR, "-o", "json"))
        items = listed.get("items") or []
        if len(items) == 1:
            self._operator = (items[0]["metadata"]["namespace"], items[0]["metadata"]["name"])
        else:
            self._no_operator = (
                f"the harness restarts the KubeRay operator through its Deployment ({OPERATOR_SELECTOR}); "
                f"the cluster has {len(items)} (an operator run outside the cluster cannot be restarted from here)"
            )

    def stop(self) -> None:
        """Nothing to stop: the cluster is the user's."""

    def logs(self) -> list[Path]:
        return []

    def hold_new_heads(self, namespace: str) -> None:
        self.switches.hold_new_heads(namespace)

    def release_heads(self, namespace: str) -> None:
        self.switches.release_heads(namespace)

    def set_app_unhealthy(self, namespace: str, pod: str, value: bool = True) -> None:
        self.switches.set_app_unhealthy(namespace, value)

    def ray_nodes(self, namespace: str, pod: str, container: str) -> list[str]:
        return raynodes.alive_ray_nodes(self.kubectl, namespace, pod, container)

    def ray_submit(
        self, namespace: str, pod: str, container: str, entrypoint: Sequence[str], submission_id: str = ""
    ) -> str:
        return raynodes.submit_job(self.kubectl, namespace, pod, container, entrypoint, submission_id)

    def set_serve_unready(self, namespace: str, value: bool = True) -> None:
        raise Unsupported(self.name, Capability.SERVE_UNREADY, NO_SERVE_SWITCH)

    def restart_operator(self) -> None:
        """``kubectl rollout restart`` of the KubeRay operator's Deployment (found by its chart label)."""
        if self._operator is None:
            raise Unsupported(self.name, Capability.RESTART_OPERATOR, self._no_operator)
        namespace, name = self._operator
        self.kubectl("-n", namespace, "rollout", "restart", f"deployment/{name}")
        self.kubectl("-n", namespace, "rollout", "status", f"deployment/{name}", "--timeout=180s")

    def adapt_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """As on kind (``plan.fit_fixture``): the scenarios fit small clusters (a kind or minikube
        cluster on a laptop) and real workers get Ready (Serve replicas run on them)."""
        return fit_fixture(manifest)

    def adapt_neighbour(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """As on kind (``plan.inert_neighbour``): a neighbour's head runs no Ray, and it has no workers."""
        return inert_neighbour(manifest)

    def describe(self) -> str:
        return (
            f"backend existing: {self._kubeconfig} (assumed KubeRay {self._version}; the fixtures' Serve app and "
            f"its gate/fault switches through a ConfigMap, as on kind; {FITTED}; nothing simulated by the harness)"
        )
