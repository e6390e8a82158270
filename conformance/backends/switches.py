"""The fixtures' Serve app and its gate/fault switches, through the Kubernetes API only.

Any cluster with real kubelets (kind, or an existing one) runs them the same way: the app and two
switch keys live in one ConfigMap per namespace (``conformance.backends.fixture_app``), every Ray container
mounts it, and a switch flip is followed by an annotation change on the Ray Pods so each kubelet
refreshes the mounted ConfigMap now rather than at its next periodic sync.
"""

from __future__ import annotations

import itertools
import json
from typing import Protocol

from conformance.backends import fixture_app
from conformance.backends.fixture_app import GATE_KEY, HEALTH_KEY
from conformance.errors import EnvironmentProblem
from conformance.fixtures import default_dir

NUDGE_ATTEMPTS = 3

# Why ``existing`` does not offer Capability.SERVE_UNREADY (the phase is UNVERIFIED with it).
NO_SERVE_SWITCH = (
    "real kubelets run KubeRay's own readiness probes in the Ray containers, and no switch of the "
    "fixtures' Serve app takes Ray Serve's proxies down (a head's proxy answers its health check while "
    "it has routes; failing the app's replicas makes the app UNHEALTHY, the app-unhealthy phase); kind "
    "closes the serving port inside each Ray Pod's network namespace from its node, and the harness has "
    "no way into an existing cluster's nodes"
)


class Kubectl(Protocol):
    def __call__(self, *args: str, input: str | None = None) -> str: ...


class ApiSwitches:
    def __init__(self, kubectl: Kubectl) -> None:
        self.kubectl = kubectl
        # scenarios flip their own namespace's switches side by side: each nudge gets a value
        # never used before (a thread-safe counter, not a read-modify-write of an int)
        self._serials = itertools.count(1)

    def prepare_namespace(self, namespace: str) -> None:
        """The fixtures' Serve app (and its switches, off) as a ConfigMap the Ray Pods mount."""
        app = (default_dir() / "app" / "karta_fixture_app.py").read_text()
        manifest = fixture_app.configmap(namespace, app)
        self.kubectl(*fixture_app.apply_stdin(namespace), input=json.dumps(manifest))

    def hold_new_heads(self, namespace: str) -> None:
        """The gate: Ray Pods created from now on mount the gate switch on, so the Serve replica of the
        pending cluster does not finish starting (the app stays DEPLOYING)."""
        self.kubectl(*fixture_app.set_switch(namespace, GATE_KEY, True))

    def release_heads(self, namespace: str) -> None:
        self._switch(namespace, GATE_KEY, False)

    def set_app_unhealthy(self, namespace: str, value: bool = True) -> None:
        """Every replica's health check in ``namespace`` fails while the switch is on."""
        self._switch(namespace, HEALTH_KEY, value)

    def _switch(self, namespace: str, key: str, on: bool) -> None:
        self.kubectl(*fixture_app.set_switch(namespace, key, on))
        self._nudge(namespace)

    def _nudge(self, namespace: str) -> None:
        """``kubectl annotate -l`` lists the Ray Pods, then patches each: a Pod deleted in between (the
        operator replacing a worker, a scenario's fault) fails the call with NotFound. The Pods that
        are left still need the nudge, so it is sent again, a bounded number of times."""
        for attempt in range(NUDGE_ATTEMPTS):
            try:
                self.kubectl(*fixture_app.nudge_ray_pods(namespace, next(self._serials)))
                return
            except EnvironmentProblem as error:
                if "NotFound" not in str(error) and "not found" not in str(error):
                    raise
                if attempt == NUDGE_ATTEMPTS - 1:
                    raise EnvironmentProblem(
                        f"the Ray Pods of {namespace} kept disappearing while being nudged "
                        f"({NUDGE_ATTEMPTS} attempts): {error}"
                    ) from None
