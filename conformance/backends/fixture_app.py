"""The fixtures' Serve app and its two switches, as every backend sees them (names only, no I/O).

The app and the switches travel in one ConfigMap per namespace; the RayService fixture mounts it
in every Ray container and points KARTA_FIXTURE_GATE_FILE / KARTA_FIXTURE_HEALTH_FILE at the two
keys (each reads "on" or "off"). The kind backend and ``existing`` write it through the API
(``backends.switches``); the local backend's Ray runtime reads it as a kubelet would mount it.
"""

from __future__ import annotations

APP_CONFIGMAP = "karta-fixture-app"
APP_MODULE = "karta_fixture_app.py"
GATE_KEY = "karta-gate"
HEALTH_KEY = "karta-health"
SWITCH_ANNOTATION = "karta.conformance/switches"
RAY_PODS = "ray.io/is-ray-node=yes"
