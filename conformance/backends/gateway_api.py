"""The Gateway API as the harness provides it where KubeRay's incremental RayService upgrade runs.

KubeRay's ``NewClusterWithIncrementalUpgrade`` moves a RayService's traffic through a Gateway and an
HTTPRoute it makes (``gateway.networking.k8s.io/v1``) and waits, before every Serve target-capacity
step, for a Gateway controller to have marked the Gateway Accepted and Programmed and the HTTPRoute
Accepted with its references resolved (KubeRay v1.7.0 ``utils.IsGatewayReady``, ``utils.IsHTTPRouteReady``).
The local backend installs the pinned Gateway API's standard-channel CRDs (``versions.yaml``
``gateway_api``) and runs a stand-in controller for the GatewayClass named here (``local/gateway.py``):
it writes those statuses and routes no traffic. Shared by the local backend and the scenarios (which ask
the cluster whether the class is accepted, whatever the backend).
"""

from __future__ import annotations

from typing import Any

from conformance import inventory

GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
# The GatewayClass the stand-in controls, and its controllerName (a domain-prefixed path, as the
# Gateway API asks of a controllerName).
STAND_IN_CLASS = "karta-conformance-stand-in"
STAND_IN_CONTROLLER = "karta-conformance.io/stand-in-gateway"
FEATURE = "upgrade-incremental"  # the inventory entry that needs it


def wanted(kuberay_version: str) -> bool:
    """Whether a KubeRay operator of ``kuberay_version``, as the harness runs it, does incremental
    upgrades (the gate RayServiceIncrementalUpgrade on in its default flags): the Gateway API is then
    installed, and the stand-in runs. Elsewhere the operator does not register the Gateway API's types
    (v1.7.0 main.go) and nothing would read them."""
    feature = inventory.by_name().get(FEATURE)
    return feature is not None and feature.active_in(kuberay_version)


def stand_in_class() -> dict[str, Any]:
    """The stand-in's GatewayClass, as a Gateway implementation's install creates its own."""
    return {
        "apiVersion": API_VERSION,
        "kind": "GatewayClass",
        "metadata": {
            "name": STAND_IN_CLASS,
            "labels": {"app.kubernetes.io/part-of": "karta-conformance"},
            "annotations": {
                "karta-conformance.io/simulated": "a stand-in controller: it writes Gateway and HTTPRoute "
                "statuses and routes no traffic"
            },
        },
        "spec": {
            "controllerName": STAND_IN_CONTROLLER,
            "description": "karta-conformance stand-in (simulated, no data plane)",
        },
    }
