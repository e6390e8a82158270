"""The local backend's stand-in Gateway controller: SIMULATED, it writes statuses and routes no traffic.

    python -m conformance.backends.local.gateway --kubeconfig K   (what it writes: on stdout, the cluster's log)

KubeRay's incremental RayService upgrade (``NewClusterWithIncrementalUpgrade``) makes a Gateway and an
HTTPRoute and moves Serve target capacity only while a Gateway controller has marked the Gateway
Accepted and Programmed and the HTTPRoute's entry for that Gateway Accepted with ResolvedRefs (KubeRay
v1.7.0 ``utils.IsGatewayReady``, ``utils.IsHTTPRouteReady``, called from ``checkIfNeedTargetCapacityUpdate``).
The local backend has no data plane, so this process stands in for the controller of the GatewayClass
``karta-conformance-stand-in`` (``backends/gateway_api.py``), as a real one reports on its objects:

- its GatewayClass: ``Accepted=True``;
- each Gateway of that class: ``Accepted=True`` and ``Programmed=True`` (with ``observedGeneration``), and a
  status per listener (the kinds it supports, the routes attached); no ``addresses`` (there is no data
  plane to have one);
- each HTTPRoute whose ``parentRefs`` name such a Gateway: one ``status.parents`` entry per such
  reference (the reference as written, ``controllerName: karta-conformance.io/stand-in-gateway``) with
  ``Accepted`` (the listeners admit the route: same namespace, or ``allowedRoutes.namespaces.from: All``;
  a ``sectionName`` naming a listener) and ``ResolvedRefs`` (every backend a Service that exists, in the
  route's namespace); entries of other controllers are kept.

Nothing is written where it would not change (a condition keeps its ``lastTransitionTime`` while its
status stays), so the objects' resourceVersions move only when KubeRay changes them. One pass a second
until SIGTERM; a pass that fails is logged and the next one tries again. The pure part (what each status
should be) is the functions below; :class:`StandIn` applies them through the API.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import signal
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from kubernetes import client, config

from conformance.backends.gateway_api import GROUP, STAND_IN_CONTROLLER

VERSION = "v1"
PERIOD = 1.0  # seconds between passes
API_TIMEOUT = (5, 15)  # connect, read: a call must never hang the loop
HTTP_PROTOCOLS = ("HTTP", "HTTPS")  # the listener protocols an HTTPRoute attaches to

# --- the pure part: desired statuses -----------------------------------------------------------------


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    found = obj.get("metadata")
    return found if isinstance(found, dict) else {}


def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    found = obj.get("spec")
    return found if isinstance(found, dict) else {}


def _status(obj: Mapping[str, Any]) -> dict[str, Any]:
    found = obj.get("status")
    return found if isinstance(found, dict) else {}


def condition(
    kind: str,
    ok: bool,
    reason: str,
    message: str,
    generation: int,
    previous: Iterable[Mapping[str, Any]],
    now: str,
) -> dict[str, Any]:
    """A metav1.Condition; its ``lastTransitionTime`` kept from ``previous`` while its status stays (as
    ``meta.SetStatusCondition`` does)."""
    status = "True" if ok else "False"
    before = next((c for c in previous if c.get("type") == kind), None)
    kept = before is not None and before.get("status") == status and before.get("lastTransitionTime")
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": before["lastTransitionTime"] if kept and before is not None else now,
    }


def controls(gateway_class: Mapping[str, Any]) -> bool:
    """Whether the GatewayClass names the stand-in as its controller."""
    return _spec(gateway_class).get("controllerName") == STAND_IN_CONTROLLER


def class_status(gateway_class: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The status of a GatewayClass the stand-in controls: Accepted."""
    generation = int(_meta(gateway_class).get("generation") or 0)
    previous = _status(gateway_class).get("conditions") or []
    accepted = condition(
        "Accepted", True, "Accepted", "accepted by the stand-in (simulated)", generation, previous, now
    )
    return {"conditions": [accepted]}


def _listeners(gateway: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [item for item in _spec(gateway).get("listeners") or [] if isinstance(item, dict)]


def _names_gateway(ref: Mapping[str, Any], route_namespace: str, gateway: Mapping[str, Any]) -> bool:
    """Whether an HTTPRoute parentRef names ``gateway`` (group and kind default to the Gateway's)."""
    return (
        (ref.get("group") if ref.get("group") is not None else GROUP) == GROUP
        and (ref.get("kind") or "Gateway") == "Gateway"
        and ref.get("name") == _meta(gateway).get("name")
        and (ref.get("namespace") or route_namespace) == _meta(gateway).get("namespace")
    )


def attachment(
    route: Mapping[str, Any], ref: Mapping[str, Any], gateway: Mapping[str, Any]
) -> tuple[list[str], str]:
    """The listeners of ``gateway`` the route attaches to through ``ref``, and why none does ("" when
    some do): the listener named by ``sectionName`` (else every one), of an HTTP protocol, admitting
    routes of the route's namespace (``allowedRoutes.namespaces.from``: Same, the default, or All)."""
    section = ref.get("sectionName")
    listeners = [item for item in _listeners(gateway) if section in (None, item.get("name"))]
    if not listeners:
        return [], "NoMatchingParent"
    same = _meta(route).get("namespace") == _meta(gateway).get("namespace")
    attached = []
    for listener in listeners:
        allowed = ((listener.get("allowedRoutes") or {}).get("namespaces") or {}).get("from") or "Same"
        if listener.get("protocol") in HTTP_PROTOCOLS and (allowed == "All" or (allowed == "Same" and same)):
            attached.append(str(listener.get("name")))
    return attached, "" if attached else "NotAllowedByListeners"


def unresolved(route: Mapping[str, Any], services: set[tuple[str, str]]) -> tuple[str, str] | None:
    """The first backendRef that does not resolve, as (reason, message); None when every one does: a
    Service (group "" and kind Service, the defaults) that exists in the route's namespace (another
    namespace would need a ReferenceGrant, which the stand-in does not read)."""
    namespace = str(_meta(route).get("namespace") or "")
    for rule in _spec(route).get("rules") or []:
        for backend in (rule or {}).get("backendRefs") or []:
            name = str(backend.get("name") or "")
            if (backend.get("group") or "") != "" or (backend.get("kind") or "Service") != "Service":
                return "InvalidKind", f"backend {name}: only Services are supported"
            if (backend.get("namespace") or namespace) != namespace:
                return "RefNotPermitted", f"backend {name} is in another namespace (no ReferenceGrant read)"
            if (namespace, name) not in services:
                return "BackendNotFound", f"Service {namespace}/{name} not found"
    return None


def route_parents(
    route: Mapping[str, Any],
    gateways: Mapping[tuple[str, str], Mapping[str, Any]],
    services: set[tuple[str, str]],
    now: str,
) -> list[dict[str, Any]]:
    """The HTTPRoute's whole ``status.parents``: other controllers' entries as they are, then one entry
    of the stand-in's per parentRef naming one of ``gateways`` (the Gateways of its classes, by
    (namespace, name)), the reference copied as written."""
    namespace = str(_meta(route).get("namespace") or "")
    generation = int(_meta(route).get("generation") or 0)
    current = [p for p in _status(route).get("parents") or [] if isinstance(p, dict)]
    kept = [p for p in current if p.get("controllerName") != STAND_IN_CONTROLLER]
    mine = {
        _ref_key(p.get("parentRef") or {}): p
        for p in current
        if p.get("controllerName") == STAND_IN_CONTROLLER
    }
    bad_ref = unresolved(route, services)
    entries = []
    for ref in _spec(route).get("parentRefs") or []:
        gateway = gateways.get((str(ref.get("namespace") or namespace), str(ref.get("name") or "")))
        if gateway is None or not _names_gateway(ref, namespace, gateway):
            continue
        previous = (mine.get(_ref_key(ref)) or {}).get("conditions") or []
        listeners, refused = attachment(route, ref, gateway)
        accepted = condition(
            "Accepted",
            not refused,
            refused or "Accepted",
            f"attached to listener(s) {', '.join(listeners)} (simulated)" if listeners else refused,
            generation,
            previous,
            now,
        )
        resolved = condition(
            "ResolvedRefs",
            bad_ref is None,
            bad_ref[0] if bad_ref else "ResolvedRefs",
            bad_ref[1] if bad_ref else "every backend is a Service that exists",
            generation,
            previous,
            now,
        )
        entries.append(
            {
                "parentRef": dict(ref),
                "controllerName": STAND_IN_CONTROLLER,
                "conditions": [accepted, resolved],
            }
        )
    return kept + entries


def _ref_key(ref: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(ref.get(k) or "") for k in ("group", "kind", "namespace", "name", "sectionName", "port"))


def gateway_status(
    gateway: Mapping[str, Any], routes: Iterable[Mapping[str, Any]], now: str
) -> dict[str, Any]:
    """The status of a Gateway of the stand-in's class: Accepted and Programmed, and per listener the
    route kinds it supports and the HTTPRoutes of ``routes`` attached to it."""
    generation = int(_meta(gateway).get("generation") or 0)
    status = _status(gateway)
    previous = status.get("conditions") or []
    attached: dict[str, int] = {}
    for route in routes:
        namespace = str(_meta(route).get("namespace") or "")
        for ref in _spec(route).get("parentRefs") or []:
            if _names_gateway(ref, namespace, gateway):
                for name in attachment(route, ref, gateway)[0]:
                    attached[name] = attached.get(name, 0) + 1
    before = {str(item.get("name")): item.get("conditions") or [] for item in status.get("listeners") or []}
    listeners = []
    for listener in _listeners(gateway):
        name = str(listener.get("name"))
        http = listener.get("protocol") in HTTP_PROTOCOLS
        reason = "Accepted" if http else "UnsupportedProtocol"
        listeners.append(
            {
                "name": name,
                "supportedKinds": [{"group": GROUP, "kind": "HTTPRoute"}] if http else [],
                "attachedRoutes": attached.get(name, 0),
                "conditions": [
                    condition("Accepted", http, reason, reason, generation, before.get(name, []), now),
                    condition(
                        "Programmed",
                        http,
                        "Programmed" if http else "Invalid",
                        "simulated: no data plane",
                        generation,
                        before.get(name, []),
                        now,
                    ),
                    condition(
                        "ResolvedRefs",
                        True,
                        "ResolvedRefs",
                        "ResolvedRefs",
                        generation,
                        before.get(name, []),
                        now,
                    ),
                ],
            }
        )
    return {
        "conditions": [
            condition(
                "Accepted",
                True,
                "Accepted",
                "accepted by the stand-in (simulated)",
                generation,
                previous,
                now,
            ),
            condition(
                "Programmed",
                True,
                "Programmed",
                "simulated: no data plane routes traffic",
                generation,
                previous,
                now,
            ),
        ],
        "listeners": listeners,
    }


def differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether the status ``current`` lacks something of ``desired`` (only the fields the stand-in sets)."""
    return any(current.get(key) != value for key, value in desired.items())


def same_parents(one: Iterable[Mapping[str, Any]], other: Iterable[Mapping[str, Any]]) -> bool:
    """Whether two ``status.parents`` lists hold the same entries (in any order)."""

    def canonical(entries: Iterable[Mapping[str, Any]]) -> list[str]:
        return sorted(json.dumps(entry, sort_keys=True) for entry in entries)

    return canonical(one) == canonical(other)


def now_string() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the edge: one pass through the API --------------------------------------------------------------


class StandIn:
    """Applies the desired statuses through the API server, one pass per :meth:`reconcile`."""

    def __init__(self, api_client: Any) -> None:
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)

    def _list(self, plural: str) -> list[dict[str, Any]]:
        found = self.custom.list_cluster_custom_object(GROUP, VERSION, plural, _request_timeout=API_TIMEOUT)
        return [item for item in found.get("items") or [] if isinstance(item, dict)]

    def _services(self) -> set[tuple[str, str]]:
        items = self.core.list_service_for_all_namespaces(_request_timeout=API_TIMEOUT).items
        return {(s.metadata.namespace, s.metadata.name) for s in items}

    def _patch(self, plural: str, obj: Mapping[str, Any], status: dict[str, Any]) -> None:
        metadata = _meta(obj)
        body = {"status": status}
        kwargs: dict[str, Any] = {
            "_content_type": "application/merge-patch+json",
            "_request_timeout": API_TIMEOUT,
        }
        if metadata.get("namespace"):
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, metadata["namespace"], plural, metadata["name"], body, **kwargs
            )
        else:
            self.custom.patch_cluster_custom_object_status(
                GROUP, VERSION, plural, metadata["name"], body, **kwargs
            )

    def reconcile(self, now: str) -> list[str]:
        """One pass; what it wrote, one line each."""
        wrote = []
        classes = [c for c in self._list("gatewayclasses") if controls(c)]
        for gateway_class in classes:
            desired = class_status(gateway_class, now)
            if differs(_status(gateway_class), desired):
                self._patch("gatewayclasses", gateway_class, desired)
                wrote.append(f"GatewayClass {_meta(gateway_class)['name']}: Accepted=True")
        names = {_meta(c).get("name") for c in classes}
        gateways = {
            (str(_meta(g).get("namespace")), str(_meta(g).get("name"))): g
            for g in self._list("gateways")
            if _spec(g).get("gatewayClassName") in names
        }
        if not gateways:
            return wrote
        routes = self._list("httproutes")
        services = self._services() if routes else set()
        for route in routes:
            parents = route_parents(route, gateways, services, now)
            if not same_parents(parents, _status(route).get("parents") or []):
                self._patch("httproutes", route, {"parents": parents})
                said = "; ".join(
                    " ".join(f"{c['type']}={c['status']}" for c in p["conditions"])
                    for p in parents
                    if p.get("controllerName") == STAND_IN_CONTROLLER
                )
                wrote.append(f"HTTPRoute {_meta(route)['namespace']}/{_meta(route)['name']}: {said}")
        for (namespace, name), gateway in gateways.items():
            desired = gateway_status(gateway, routes, now)
            if differs(_status(gateway), desired):
                self._patch("gateways", gateway, desired)
                wrote.append(f"Gateway {namespace}/{name}: Accepted=True Programmed=True")
        return wrote


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kubeconfig", required=True)
    args = parser.parse_args(argv)
    stand_in = StandIn(config.new_client_from_config(config_file=args.kubeconfig))
    stopping = threading.Event()

    def stop(*_: object) -> None:
        stopping.set()

    def say(line: str) -> None:  # to the log the cluster gave this process (its stdout)
        print(f"{now_string()} {line}", flush=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    say(f"stand-in Gateway controller {STAND_IN_CONTROLLER} (simulated: statuses only, no data plane)")
    with contextlib.suppress(KeyboardInterrupt):
        while not stopping.is_set():
            try:
                for line in stand_in.reconcile(now_string()):
                    say(line)
            except Exception as error:  # keep the loop alive; the log says what went wrong
                say(f"pass failed: {error!r}")
            stopping.wait(PERIOD)
    say("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
