"""A cluster the user already runs (any kubeconfig with KubeRay installed).

The gate and fault switches work as on kind (``providers.switches``: a ConfigMap the fixtures'
Ray containers mount, flipped through the API), so the whole live suite runs on any cluster with
real kubelets that can run the pinned Ray image. The operator restart fault finds the operator's
Deployment by the Helm chart's label.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from conformance import versions
from conformance.backends.kind.plan import FITTED, fit_fixture
from conformance.backends.switches import ApiSwitches
from conformance.errors import EnvironmentProblem, UserError
from conformance.toolchain import cache

OPERATOR_SELECTOR = "app.kubernetes.io/name=kuberay-operator"


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
    timeout_scale = 2.0  # unknown nodes and images: be patient

    def __init__(self, kubeconfig: str, kuberay_version: str) -> None:
        if not Path(kubeconfig).expanduser().is_file():
            raise UserError("no such kubeconfig", where=kubeconfig)
        self._kubeconfig = str(Path(kubeconfig).expanduser())
        self._version = kuberay_version
        self.switches = ApiSwitches(self.kubectl)

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
        """Nothing to start: the cluster is the user's."""

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

    def restart_operator(self) -> None:
        """``kubectl rollout restart`` of the KubeRay operator's Deployment (found by its chart label)."""
        listed = json.loads(self.kubectl("get", "deployments", "-A", "-l", OPERATOR_SELECTOR, "-o", "json"))
        items = listed.get("items") or []
        if len(items) != 1:
            raise EnvironmentProblem(
                f"--cluster existing: expected one KubeRay operator Deployment ({OPERATOR_SELECTOR}), found {len(items)}"
            )
        namespace, name = items[0]["metadata"]["namespace"], items[0]["metadata"]["name"]
        self.kubectl("-n", namespace, "rollout", "restart", f"deployment/{name}")
        self.kubectl("-n", namespace, "rollout", "status", f"deployment/{name}", "--timeout=180s")

    def adapt_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """As on kind (``plan.fit_fixture``): the scenarios fit small clusters (a kind or minikube
        cluster on a laptop) and real workers get Ready (Serve replicas run on them)."""
        return fit_fixture(manifest)

    def describe(self) -> str:
        return (
            f"backend existing: {self._kubeconfig} (assumed KubeRay {self._version}; the fixtures' Serve app and "
            f"its gate/fault switches through a ConfigMap, as on kind; {FITTED}; nothing simulated by the harness)"
        )
