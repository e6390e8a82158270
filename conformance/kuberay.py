"""Readings of KubeRay objects that scenario drivers and tests wait on (pure functions over dicts)."""

from __future__ import annotations

from typing import Any


def condition(obj: dict[str, Any] | None, condition_type: str) -> dict[str, Any] | None:
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == condition_type:
            result: dict[str, Any] = item
            return result
    return None


def condition_true(obj: dict[str, Any] | None, condition_type: str) -> bool:
    found = condition(obj, condition_type)
    return bool(found and found.get("status") == "True")


def active_cluster(rayservice: dict[str, Any] | None) -> str:
    return str(
        (((rayservice or {}).get("status") or {}).get("activeServiceStatus") or {}).get("rayClusterName")
        or ""
    )


def pending_cluster(rayservice: dict[str, Any] | None) -> str:
    return str(
        (((rayservice or {}).get("status") or {}).get("pendingServiceStatus") or {}).get("rayClusterName")
        or ""
    )


def app_statuses(rayservice: dict[str, Any] | None, which: str = "activeServiceStatus") -> dict[str, str]:
    statuses = ((((rayservice or {}).get("status") or {}).get(which) or {}).get("applicationStatuses")) or {}
    return {name: str((app or {}).get("status", "")) for name, app in statuses.items()}


def rayservice_ready(rayservice: dict[str, Any] | None) -> bool:
    """Ready=True and every active Serve application RUNNING."""
    apps = app_statuses(rayservice)
    return condition_true(rayservice, "Ready") and bool(apps) and all(s == "RUNNING" for s in apps.values())


def running_already(root: dict[str, Any] | None) -> bool:
    """Whether a root just created already runs by KubeRay's own account (a RayCluster's state ready, a
    RayService serving, a RayJob's deployment Running, a RayCronJob's first tick taken): on a fast backend a ``created`` snapshot can come
    after that."""
    status = (root or {}).get("status") or {}
    kind = (root or {}).get("kind")
    if kind == "RayCluster":
        return status.get("state") == "ready"
    if kind == "RayService":
        return rayservice_ready(root)
    if kind == "RayJob":
        return status.get("jobDeploymentStatus") == "Running"
    if kind == "RayCronJob":  # its first tick came: a RayJob made
        return bool(status.get("lastScheduleTime"))
    return False


def suspended_already(root: dict[str, Any] | None) -> bool:
    """Whether a root created with ``spec.suspend: true`` is already suspended by KubeRay's own account (a
    RayJob's deployment Suspended, a RayCluster's state suspended): on a slow machine the ``created``
    snapshot can come after that (seen: kind, rayjob-suspend)."""
    status = (root or {}).get("status") or {}
    if not ((root or {}).get("spec") or {}).get("suspend"):
        return False
    kind = (root or {}).get("kind")
    if kind == "RayJob":
        return status.get("jobDeploymentStatus") == "Suspended"
    if kind == "RayCluster":
        return status.get("state") == "suspended"
    return False


ZERO_SERVE_ENDPOINTS = (
    "ZeroServeEndpoints"  # RayService Ready=False: the serve Service's endpoints dropped to 0
)


def serve_endpoints_dropped(rayservice: dict[str, Any] | None) -> bool:
    """Ready=False with reason ZeroServeEndpoints: the operator counted no ready endpoint of the serve
    Service after the RayService had been Ready (``calculateConditions``)."""
    found = condition(rayservice, "Ready")
    return bool(found and found.get("status") == "False" and found.get("reason") == ZERO_SERVE_ENDPOINTS)


def raycluster_gang_size(raycluster: dict[str, Any]) -> int:
    """The Pods of one RayCluster that must run together for it to make progress: its head plus, for
    every worker group not suspended, minReplicas times numOfHosts (KubeRay's own minimum,
    ``CalculateMinReplicas`` + 1, which it gives a gang scheduler when autoscaling is on)."""
    spec = raycluster.get("spec") or {}
    total = 1
    for group in spec.get("workerGroupSpecs") or []:
        if group.get("suspend") is True:
            continue
        total += int(group.get("minReplicas") or 0) * int(group.get("numOfHosts") or 1)
    return total


def zero_minimum_groups(raycluster: dict[str, Any]) -> dict[str, int]:
    """Worker groups (not suspended) with ``minReplicas`` 0 and Pods wanted: group -> its Pods
    (replicas x numOfHosts). Karta's gang minimum takes a component's replicas where its minReplicas is 0
    (``getEffectiveMinReplicas``), so it counts these Pods where the cluster needs none of them."""
    found = {}
    for group in (raycluster.get("spec") or {}).get("workerGroupSpecs") or []:
        pods = int(group.get("replicas") or 0) * int(group.get("numOfHosts") or 1)
        if group.get("suspend") is not True and not int(group.get("minReplicas") or 0) and pods:
            found[str(group.get("groupName"))] = pods
    return found


# --- a RayService's Gateway and HTTPRoute (upgradeStrategy NewClusterWithIncrementalUpgrade) ---------------
# KubeRay v1.7.0: names from common/association.go (`RayServiceGatewayNamespacedName`,
# `RayServiceHTTPRouteNamespacedName`) and utils.GenerateServeServiceName; readiness as utils.IsGatewayReady
# and utils.IsHTTPRouteReady read it.


def gateway_name(rayservice: str) -> str:
    return f"{rayservice}-gateway"


def httproute_name(rayservice: str) -> str:
    return f"{rayservice}-httproute"


def serve_service(cluster: str) -> str:
    """The per-cluster serve Service an incremental upgrade routes to (``<cluster>-serve-svc``)."""
    return f"{cluster}-serve-svc"


def controlled_by(obj: dict[str, Any] | None, owner: dict[str, Any] | None) -> bool:
    """Whether ``obj``'s controller ownerReference is ``owner`` (by uid)."""
    uid = ((owner or {}).get("metadata") or {}).get("uid")
    return bool(uid) and any(
        ref.get("uid") == uid and ref.get("controller") is True
        for ref in ((obj or {}).get("metadata") or {}).get("ownerReferences") or []
    )


def gateway_programmed(gateway: dict[str, Any] | None) -> bool:
    """Accepted=True and Programmed=True (``utils.IsGatewayReady``: type and status only)."""
    return condition_true(gateway, "Accepted") and condition_true(gateway, "Programmed")


def route_attached(route: dict[str, Any] | None, gateway: dict[str, Any] | None) -> bool:
    """Some ``status.parents`` entry names ``gateway`` (its namespace unset or the Gateway's) with
    Accepted=True and ResolvedRefs=True (``utils.IsHTTPRouteReady``)."""
    meta = (gateway or {}).get("metadata") or {}
    for parent in ((route or {}).get("status") or {}).get("parents") or []:
        ref = parent.get("parentRef") or {}
        if ref.get("name") != meta.get("name") or ref.get("namespace") not in (None, meta.get("namespace")):
            continue
        entry = {"status": {"conditions": parent.get("conditions") or []}}
        if condition_true(entry, "Accepted") and condition_true(entry, "ResolvedRefs"):
            return True
    return False


def route_weights(route: dict[str, Any] | None) -> dict[str, int]:
    """The HTTPRoute's first rule's backends: Service name -> weight (KubeRay writes one rule;
    ``utils.GetWeightsFromHTTPRoute`` reads the first)."""
    rules = ((route or {}).get("spec") or {}).get("rules") or []
    backends = (rules[0] or {}).get("backendRefs") or [] if rules else []
    return {str(b.get("name")): int(b.get("weight") if b.get("weight") is not None else 1) for b in backends}
