"""The local backend's stand-in Gateway controller (conformance/backends/local/gateway.py): the statuses it
writes on the Gateway and HTTPRoute KubeRay makes for an incremental upgrade, read back the way KubeRay
reads them (utils.IsGatewayReady, utils.IsHTTPRouteReady), and a pass that writes only what changed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conformance.backends import gateway_api
from conformance.backends.gateway_api import STAND_IN_CLASS, STAND_IN_CONTROLLER
from conformance.backends.local import gateway
from conformance.kuberay import gateway_programmed, route_attached, route_weights

pytestmark = pytest.mark.unit

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:09Z"
NS = "svc-ns"


def kuberay_gateway(generation: int = 1, cls: str = STAND_IN_CLASS) -> dict[str, Any]:
    """The Gateway KubeRay v1.7.0 makes (``createGateway``), as the API server returns it new: the CRD's
    default status (Accepted and Programmed Unknown, "Waiting for controller")."""
    waiting = {"status": "Unknown", "reason": "Pending", "message": "Waiting for controller"}
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "rs-gateway", "namespace": NS, "generation": generation},
        "spec": {"gatewayClassName": cls, "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}]},
        "status": {
            "conditions": [
                {"type": t, "lastTransitionTime": "1970-01-01T00:00:00Z", **waiting}
                for t in ("Accepted", "Programmed")
            ]
        },
    }


def kuberay_route(*backends: tuple[str, int], namespace: str = NS) -> dict[str, Any]:
    """The HTTPRoute KubeRay v1.7.0 makes (``createHTTPRoute``), parentRefs defaulted by the API server."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "rs-httproute", "namespace": namespace, "generation": 3},
        "spec": {
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": "rs-gateway",
                    "namespace": NS,
                }
            ],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [
                        {
                            "group": "",
                            "kind": "Service",
                            "name": n,
                            "namespace": NS,
                            "port": 8000,
                            "weight": w,
                        }
                        for n, w in backends
                    ],
                }
            ],
        },
    }


GATEWAYS = {(NS, "rs-gateway"): kuberay_gateway()}
SERVICES = {(NS, "rs-a-serve-svc"), (NS, "rs-b-serve-svc")}


def applied(obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    """``obj`` after the merge patch ``{"status": status}`` (lists replaced whole)."""
    done = copy.deepcopy(obj)
    done.setdefault("status", {}).update(copy.deepcopy(status))
    return done


def conditions(entries: list[dict[str, Any]]) -> dict[str, tuple[str, str, int]]:
    return {c["type"]: (c["status"], c["reason"], c["observedGeneration"]) for c in entries}


def test_the_stand_in_marks_a_gateway_of_its_class_accepted_and_programmed_as_kuberay_reads_it() -> None:
    gw = kuberay_gateway(generation=4)
    route = kuberay_route(("rs-a-serve-svc", 100))
    assert not gateway_programmed(gw)  # the CRD's default status: Unknown, waiting for a controller
    status = gateway.gateway_status(gw, [route], T0)
    assert conditions(status["conditions"]) == {
        "Accepted": ("True", "Accepted", 4),
        "Programmed": ("True", "Programmed", 4),
    }
    (listener,) = status["listeners"]
    assert listener["name"] == "http" and listener["attachedRoutes"] == 1
    assert listener["supportedKinds"] == [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute"}]
    assert {c["type"]: c["status"] for c in listener["conditions"]} == {
        "Accepted": "True",
        "Programmed": "True",
        "ResolvedRefs": "True",
    }
    assert gateway_programmed(applied(gw, status))  # what KubeRay's utils.IsGatewayReady checks
    assert "addresses" not in status  # no data plane: nothing to address


def test_the_stand_in_attaches_kuberays_httproute_to_its_gateway_as_kuberay_reads_it() -> None:
    route = kuberay_route(("rs-a-serve-svc", 75), ("rs-b-serve-svc", 25))
    assert not route_attached(route, GATEWAYS[(NS, "rs-gateway")])
    (entry,) = gateway.route_parents(route, GATEWAYS, SERVICES, T0)
    assert entry["parentRef"] == route["spec"]["parentRefs"][0]  # the reference as written
    assert entry["controllerName"] == STAND_IN_CONTROLLER == "karta-conformance.io/stand-in-gateway"
    assert conditions(entry["conditions"]) == {
        "Accepted": ("True", "Accepted", 3),
        "ResolvedRefs": ("True", "ResolvedRefs", 3),
    }
    done = applied(route, {"parents": [entry]})
    assert route_attached(done, GATEWAYS[(NS, "rs-gateway")])  # utils.IsHTTPRouteReady
    assert route_weights(done) == {"rs-a-serve-svc": 75, "rs-b-serve-svc": 25}  # the spec is not touched


def test_a_backend_service_that_does_not_exist_leaves_the_route_unresolved() -> None:
    route = kuberay_route(("rs-a-serve-svc", 50), ("rs-c-serve-svc", 50))
    (entry,) = gateway.route_parents(route, GATEWAYS, SERVICES, T0)
    found = conditions(entry["conditions"])
    assert found["Accepted"][0] == "True"
    assert found["ResolvedRefs"][:2] == ("False", "BackendNotFound")
    assert (
        "svc-ns/rs-c-serve-svc"
        in next(c for c in entry["conditions"] if c["type"] == "ResolvedRefs")["message"]
    )
    assert not route_attached(applied(route, {"parents": [entry]}), GATEWAYS[(NS, "rs-gateway")])


def test_a_route_of_another_namespace_is_not_admitted_by_a_listener_of_the_default_same_namespace() -> None:
    route = kuberay_route(("rs-a-serve-svc", 100), namespace="elsewhere")
    route["spec"]["rules"][0]["backendRefs"][0]["namespace"] = "elsewhere"
    (entry,) = gateway.route_parents(route, GATEWAYS, {("elsewhere", "rs-a-serve-svc")}, T0)
    assert conditions(entry["conditions"])["Accepted"][:2] == ("False", "NotAllowedByListeners")
    assert (
        gateway.gateway_status(GATEWAYS[(NS, "rs-gateway")], [route], T0)["listeners"][0]["attachedRoutes"]
        == 0
    )
    route["spec"]["parentRefs"][0]["sectionName"] = "https"  # no listener of that name
    (entry,) = gateway.route_parents(route, GATEWAYS, set(), T0)
    assert conditions(entry["conditions"])["Accepted"][:2] == ("False", "NoMatchingParent")


def test_routes_to_gateways_of_other_classes_get_no_entry_and_other_controllers_entries_are_kept() -> None:
    route = kuberay_route(("rs-a-serve-svc", 100))
    theirs = {"parentRef": {"name": "rs-gateway"}, "controllerName": "example.com/other", "conditions": []}
    route["status"] = {"parents": [theirs]}
    # the Gateway is not among the stand-in's (another class): nothing of the stand-in's is written
    assert gateway.route_parents(route, {}, SERVICES, T0) == [theirs]
    kept, mine = gateway.route_parents(route, GATEWAYS, SERVICES, T0)
    assert kept == theirs and mine["controllerName"] == STAND_IN_CONTROLLER


def test_a_second_pass_writes_nothing_and_a_changed_status_keeps_its_other_transition_times() -> None:
    gw, route = kuberay_gateway(), kuberay_route(("rs-a-serve-svc", 100))
    gw = applied(gw, gateway.gateway_status(gw, [route], T0))
    route = applied(route, {"parents": gateway.route_parents(route, {(NS, "rs-gateway"): gw}, SERVICES, T0)})
    assert not gateway.differs(gw["status"], gateway.gateway_status(gw, [route], T1))
    again = gateway.route_parents(route, {(NS, "rs-gateway"): gw}, SERVICES, T1)
    assert gateway.same_parents(again, route["status"]["parents"])
    # a backend gone: ResolvedRefs turns False at T1, Accepted keeps its time of T0
    (entry,) = gateway.route_parents(route, {(NS, "rs-gateway"): gw}, set(), T1)
    times = {c["type"]: (c["status"], c["lastTransitionTime"]) for c in entry["conditions"]}
    assert times == {"Accepted": ("True", T0), "ResolvedRefs": ("False", T1)}


def test_the_stand_ins_gatewayclass_is_accepted() -> None:
    cls = {**gateway_api.stand_in_class(), "metadata": {"name": STAND_IN_CLASS, "generation": 1}}
    assert gateway.controls(cls) and not gateway.controls({"spec": {"controllerName": "example.com/x"}})
    assert conditions(gateway.class_status(cls, T0)["conditions"]) == {"Accepted": ("True", "Accepted", 1)}
    assert len(gateway_api.stand_in_class()["spec"]["description"]) <= 64  # the CRD's limit


class _Api:
    """CustomObjectsApi and CoreV1Api as the stand-in calls them: the objects of the cluster, and every
    status patch, applied as the API server's merge patch would."""

    def __init__(self, objects: dict[str, list[dict[str, Any]]], services: set[tuple[str, str]]) -> None:
        self.objects, self.services = objects, services
        self.patches: list[tuple[str, str]] = []

    def list_cluster_custom_object(self, group: str, version: str, plural: str, **_: Any) -> dict[str, Any]:
        return {"items": copy.deepcopy(self.objects.get(plural, []))}

    def list_service_for_all_namespaces(self, **_: Any) -> Any:
        from types import SimpleNamespace

        meta = [SimpleNamespace(metadata=SimpleNamespace(namespace=ns, name=n)) for ns, n in self.services]
        return SimpleNamespace(items=meta)

    def _patch(self, plural: str, name: str, body: dict[str, Any], kwargs: dict[str, Any]) -> None:
        assert kwargs["_content_type"] == "application/merge-patch+json"
        self.patches.append((plural, name))
        for obj in self.objects[plural]:
            if obj["metadata"]["name"] == name:
                obj.setdefault("status", {}).update(copy.deepcopy(body["status"]))

    def patch_namespaced_custom_object_status(
        self, g: str, v: str, ns: str, plural: str, name: str, body: dict[str, Any], **kw: Any
    ) -> None:
        self._patch(plural, name, body, kw)

    def patch_cluster_custom_object_status(
        self, g: str, v: str, plural: str, name: str, body: dict[str, Any], **kw: Any
    ) -> None:
        self._patch(plural, name, body, kw)


def test_a_pass_through_the_api_writes_each_status_once_then_nothing() -> None:
    cls = {**gateway_api.stand_in_class(), "metadata": {"name": STAND_IN_CLASS, "generation": 1}}
    other = kuberay_gateway(cls="someone-elses")
    other["metadata"]["name"] = "theirs"
    api = _Api(
        {
            "gatewayclasses": [cls],
            "gateways": [kuberay_gateway(), other],
            "httproutes": [kuberay_route(("rs-a-serve-svc", 100))],
        },
        SERVICES,
    )
    stand_in = gateway.StandIn.__new__(gateway.StandIn)
    stand_in.custom = stand_in.core = api
    wrote = stand_in.reconcile(T0)
    assert api.patches == [
        ("gatewayclasses", STAND_IN_CLASS),
        ("httproutes", "rs-httproute"),
        ("gateways", "rs-gateway"),
    ]
    assert wrote[1] == f"HTTPRoute {NS}/rs-httproute: Accepted=True ResolvedRefs=True"
    assert stand_in.reconcile(T1) == [] and len(api.patches) == 3  # nothing changed: nothing written
    theirs = next(g for g in api.objects["gateways"] if g["metadata"]["name"] == "theirs")
    assert not gateway_programmed(theirs)  # another class's Gateway is left alone


def test_the_gateway_api_and_the_stand_in_come_with_the_versions_that_upgrade_incrementally() -> None:
    """Where the operator, as the harness runs it, has the gate on (v1.7.0): elsewhere it registers no
    Gateway API types and nothing would read them."""
    from conformance import versions

    assert {v for v in versions.load().kuberay if gateway_api.wanted(v)} == {"v1.7.0"}


def test_kuberays_readiness_of_a_route_needs_both_conditions_of_an_entry_for_its_gateway() -> None:
    """conformance.kuberay.route_attached as utils.IsHTTPRouteReady: the entry's parentRef names the
    Gateway (its namespace unset or the Gateway's), Accepted and ResolvedRefs both True."""
    gw = GATEWAYS[(NS, "rs-gateway")]

    def route(ref: dict[str, Any], *true: str) -> dict[str, Any]:
        entry = {"parentRef": ref, "conditions": [{"type": t, "status": "True"} for t in true]}
        return {"status": {"parents": [entry]}}

    assert route_attached(route({"name": "rs-gateway"}, "Accepted", "ResolvedRefs"), gw)
    assert route_attached(route({"name": "rs-gateway", "namespace": NS}, "Accepted", "ResolvedRefs"), gw)
    assert not route_attached(route({"name": "rs-gateway", "namespace": "x"}, "Accepted", "ResolvedRefs"), gw)
    assert not route_attached(route({"name": "rs-gateway"}, "Accepted"), gw)
    assert not route_attached(route({"name": "other"}, "Accepted", "ResolvedRefs"), gw)
    assert route_weights({"spec": {"rules": [{"backendRefs": [{"name": "a"}]}]}}) == {"a": 1}  # default 1
    assert route_weights({}) == {}
