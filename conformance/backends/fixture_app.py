"""The fixtures' Serve app and its two switches, as every backend sees them: names and kubectl commands (pure).

The app and the switches travel in one ConfigMap per namespace; the RayService fixture mounts it
in every Ray container and points KARTA_FIXTURE_GATE_FILE / KARTA_FIXTURE_HEALTH_FILE at the two
keys (each reads "on" or "off"). The kind backend and ``existing`` write it through the API
(``backends.switches``); the local backend's Ray runtime reads it as a kubelet would mount it.
"""

from __future__ import annotations

import json
from typing import Any

APP_CONFIGMAP = "karta-fixture-app"
APP_MODULE = "karta_fixture_app.py"
GATE_KEY = "karta-gate"
HEALTH_KEY = "karta-health"
SWITCH_ANNOTATION = "karta.conformance/switches"
RAY_PODS = "ray.io/is-ray-node=yes"
# The Ray dashboard gives up when a module takes longer than 30 s to start (Ray 2.52), and then
# stays down (the head never answers, so it never gets Ready and no job is submitted); on an
# oversubscribed machine that happens. Every Ray process the harness starts or deploys gets this
# much: the kind backend's containers and the local backend's heads.
DASHBOARD_MODULE_TIMEOUT = ("RAY_DASHBOARD_SUBPROCESS_MODULE_WAIT_READY_TIMEOUT", "300")


def configmap(namespace: str, app_source: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": APP_CONFIGMAP,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "karta-conformance"},
        },
        "data": {APP_MODULE: app_source, GATE_KEY: "off", HEALTH_KEY: "off"},
    }


def apply_stdin(namespace: str) -> list[str]:
    return ["apply", "-n", namespace, "-f", "-"]


def set_switch(namespace: str, key: str, on: bool) -> list[str]:
    patch = {"data": {key: "on" if on else "off"}}
    return ["-n", namespace, "patch", "configmap", APP_CONFIGMAP, "--type=merge", "-p", json.dumps(patch)]


def nudge_ray_pods(namespace: str, serial: int) -> list[str]:
    """An annotation change makes each kubelet sync the Pod now, refreshing its ConfigMap volume
    (otherwise the new switch value arrives with the kubelet's periodic sync, within about a minute)."""
    return [
        "-n",
        namespace,
        "annotate",
        "pods",
        "-l",
        RAY_PODS,
        f"{SWITCH_ANNOTATION}={serial}",
        "--overwrite",
    ]
