"""The independent model of KubeRay's states (conformance/model/kuberay_states.py) on hand-built frames:
every state of every kind, the lateness marks, and the differences between the pinned versions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conformance.model import kuberay_states
from conformance.model.kuberay_states import ANY_STATUS, PINNED, Reading, read, rules_for

pytestmark = pytest.mark.unit

MODEL = Path(kuberay_states.__file__)
README = MODEL.parent / "README.md"
RECORDED = Path(__file__).resolve().parents[1] / "data" / "rayservice-suspend" / "statuses.json"
BEFORE_V15 = ("v1.3.2", "v1.4.2")
SINCE_V15 = ("v1.5.1", "v1.6.2", "v1.7.0")
BEFORE_V16 = ("v1.3.2", "v1.4.2", "v1.5.1")
SINCE_V16 = ("v1.6.2", "v1.7.0")
BEFORE_V17 = ("v1.3.2", "v1.4.2", "v1.5.1", "v1.6.2")
STATE_NAME = r"((?:raycluster|rayjob|rayservice|raycronjob)/[a-z-]+)"


def cond(kind: str, status: str = "True", reason: str = "") -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason or kind, "message": ""}


def frame(
    kind: str,
    status: dict[str, Any] | None = None,
    *,
    spec: dict[str, Any] | None = None,
    generation: int = 1,
    deleting: bool = False,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "x", "namespace": "ns", "generation": generation}
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    root: dict[str, Any] = {"apiVersion": "ray.io/v1", "kind": kind, "metadata": metadata, "spec": spec or {}}
    if status is not None:
        root["status"] = status
    return root


def check(
    root: dict[str, Any], version: str, state: str, allowed: set[str], late: set[str] | None = None
) -> Reading:
    reading = read(root, version)
    assert reading is not None
    assert (reading.state, set(reading.allowed), set(reading.late)) == (state, allowed, late or set()), (
        reading.why
    )
    assert version in reading.why and "\n" not in reading.why
    return reading


# --- RayCluster ---------------------------------------------------------------------------------------

HEAD_READY = cond("HeadPodReady", "True", "HeadPodRunningAndReady")
HEAD_NOT_READY = cond("HeadPodReady", "False", "ContainersNotReady")
PROVISIONED = cond("RayClusterProvisioned", "True", "AllPodRunningAndReadyFirstTime")
NOT_PROVISIONED = cond("RayClusterProvisioned", "False", "RayClusterPodsProvisioning")
NOT_SUSPENDING = cond("RayClusterSuspending", "False")
NOT_SUSPENDED = cond("RayClusterSuspended", "False")
SUSPENDING = cond("RayClusterSuspending")
SUSPENDED = cond("RayClusterSuspended")
REPLICA_FAILURE = cond("ReplicaFailure", "True", "FailedCreateWorkerPod")


def cluster_status(
    state: str = "", *conditions: dict[str, Any], ready: int = 1, desired: int = 1
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "conditions": list(conditions),
        "readyWorkerReplicas": ready,
        "desiredWorkerReplicas": desired,
        "observedGeneration": 1,
    }
    if state:
        status["state"] = state
    return status


READY = cluster_status("ready", HEAD_READY, PROVISIONED, NOT_SUSPENDED, NOT_SUSPENDING)


@pytest.mark.parametrize("version", PINNED)
class TestRayCluster:
    def test_no_status_yet(self, version: str) -> None:
        check(frame("RayCluster"), version, "raycluster/new", {"initializing"})
        check(frame("RayCluster", {}), version, "raycluster/new", {"initializing"})

    def test_provisioning(self, version: str) -> None:
        status = cluster_status("", HEAD_NOT_READY, NOT_PROVISIONED, NOT_SUSPENDED, NOT_SUSPENDING, ready=0)
        check(frame("RayCluster", status), version, "raycluster/provisioning", {"initializing"})

    def test_provisioning_with_replica_failure(self, version: str) -> None:
        status = cluster_status("", NOT_PROVISIONED, REPLICA_FAILURE, ready=0)
        check(
            frame("RayCluster", status),
            version,
            "raycluster/provisioning-replica-failure",
            {"initializing", "failed"},
        )

    def test_provisioned_before_state_ready(self, version: str) -> None:
        status = cluster_status("", HEAD_READY, PROVISIONED, ready=1, desired=2)
        check(frame("RayCluster", status), version, "raycluster/provisioned", {"initializing", "running"})

    def test_ready(self, version: str) -> None:
        check(frame("RayCluster", READY), version, "raycluster/ready", {"running"})

    def test_ready_without_conditions(
        self, version: str
    ) -> None:  # feature gate RayClusterStatusConditions off
        check(frame("RayCluster", cluster_status("ready")), version, "raycluster/ready", {"running"})

    @pytest.mark.parametrize(
        "status",
        [
            cluster_status("ready", HEAD_NOT_READY, PROVISIONED),  # head restarting: state stays ready
            cluster_status("ready", HEAD_READY, PROVISIONED, ready=1, desired=3),  # workers short
        ],
    )
    def test_ready_but_degraded(self, version: str, status: dict[str, Any]) -> None:
        check(frame("RayCluster", status), version, "raycluster/ready-degraded", {"running", "degraded"})

    def test_ready_with_replica_failure(self, version: str) -> None:
        status = cluster_status("ready", HEAD_READY, PROVISIONED, REPLICA_FAILURE)
        check(
            frame("RayCluster", status),
            version,
            "raycluster/ready-replica-failure",
            {"running", "degraded", "failed"},
        )

    def test_suspend_requested_is_one_reconcile_late(self, version: str) -> None:
        root = frame("RayCluster", READY, spec={"suspend": True}, generation=2)
        reading = check(root, version, "raycluster/suspend-requested", {"running", "suspending"}, {"running"})
        assert "raycluster/ready" in reading.why

    def test_created_suspended_before_first_reconcile(self, version: str) -> None:
        root = frame("RayCluster", spec={"suspend": True})
        check(root, version, "raycluster/suspend-requested", {"initializing", "suspending"}, {"initializing"})

    def test_suspending(self, version: str) -> None:
        status = cluster_status("ready", HEAD_READY, PROVISIONED, SUSPENDING, NOT_SUSPENDED)
        check(
            frame("RayCluster", status, spec={"suspend": True}),
            version,
            "raycluster/suspending",
            {"suspending"},
        )

    def test_suspending_with_no_pod_left(self, version: str) -> None:
        # created with suspend: the first reconcile writes state 'suspended' and RayClusterSuspending=True
        status = cluster_status(
            "suspended", HEAD_NOT_READY, NOT_PROVISIONED, SUSPENDING, NOT_SUSPENDED, ready=0
        )
        check(
            frame("RayCluster", status, spec={"suspend": True}),
            version,
            "raycluster/suspending",
            {"suspending", "suspended"},
            {"suspending"},
        )

    def test_suspending_with_resume_requested(self, version: str) -> None:
        status = cluster_status("ready", SUSPENDING, NOT_SUSPENDED)
        check(
            frame("RayCluster", status, spec={"suspend": False}),
            version,
            "raycluster/suspending-resume-requested",
            {"suspending", "resuming"},
        )

    def test_suspended(self, version: str) -> None:
        status = cluster_status(
            "suspended", HEAD_NOT_READY, NOT_PROVISIONED, NOT_SUSPENDING, SUSPENDED, ready=0
        )
        check(
            frame("RayCluster", status, spec={"suspend": True}),
            version,
            "raycluster/suspended",
            {"suspended"},
        )

    def test_suspended_without_conditions(self, version: str) -> None:
        check(
            frame("RayCluster", cluster_status("suspended", ready=0), spec={"suspend": True}),
            version,
            "raycluster/suspended",
            {"suspended"},
        )

    def test_resume_requested_is_one_reconcile_late(self, version: str) -> None:
        status = cluster_status("suspended", NOT_SUSPENDING, SUSPENDED, ready=0)
        check(
            frame("RayCluster", status, spec={"suspend": False}),
            version,
            "raycluster/suspended-resume-requested",
            {"suspended", "resuming", "initializing"},
            {"suspended"},
        )

    def test_resuming_until_ready(self, version: str) -> None:
        status = cluster_status("suspended", HEAD_NOT_READY, NOT_SUSPENDING, NOT_SUSPENDED, ready=0)
        check(frame("RayCluster", status), version, "raycluster/resuming", {"resuming", "initializing"})

    def test_suspend_requested_again_while_resuming(self, version: str) -> None:
        status = cluster_status("suspended", NOT_SUSPENDING, NOT_SUSPENDED, ready=0)
        check(
            frame("RayCluster", status, spec={"suspend": True}),
            version,
            "raycluster/suspend-requested",
            {"resuming", "initializing", "suspending"},
            {"resuming", "initializing"},
        )

    def test_legacy_failed_state(self, version: str) -> None:
        check(frame("RayCluster", {"state": "failed"}), version, "raycluster/legacy-failed", {"failed"})

    def test_unknown_state(self, version: str) -> None:
        root = frame("RayCluster", {"state": "hibernating"}, spec={"suspend": True})
        reading = check(root, version, "raycluster/unknown", set(ANY_STATUS))
        assert "conservatively" in reading.why

    def test_deletion_freezes_the_status(self, version: str) -> None:
        root = frame("RayCluster", READY, spec={"suspend": True}, deleting=True)
        reading = check(root, version, "raycluster/deleting", {"running"})
        assert "raycluster/ready" in reading.why

    def test_managed_by_another_controller(self, version: str) -> None:
        spec = {"managedBy": "kueue.x-k8s.io/multikueue", "suspend": True}
        check(
            frame("RayCluster", spec=spec),
            version,
            "raycluster/managed-elsewhere",
            {"initializing", "suspended"},
        )
        check(frame("RayCluster", READY, spec=spec), version, "raycluster/managed-elsewhere", {"running"})

    def test_managed_by_kuberay_itself(self, version: str) -> None:
        spec = {"managedBy": "ray.io/kuberay-operator"}
        check(frame("RayCluster", READY, spec=spec), version, "raycluster/ready", {"running"})


# --- RayJob -------------------------------------------------------------------------------------------


def job_status(deployment: str, job: str = "", **extra: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "jobDeploymentStatus": deployment,
        "jobStatus": job,
        "failed": 0,
        "succeeded": 0,
    }
    status.update(extra)
    return status


K8S_JOB = {"submissionMode": "K8sJobMode", "entrypoint": "python main.py"}


@pytest.mark.parametrize("version", PINNED)
class TestRayJob:
    def test_no_status_yet(self, version: str) -> None:
        check(frame("RayJob", spec=K8S_JOB), version, "rayjob/new", {"initializing"})

    def test_reset_by_a_resume_or_a_retry(self, version: str) -> None:
        status = {
            "jobDeploymentStatus": "",
            "jobStatus": "",
            "startTime": "2026-01-01T00:00:00Z",
            "failed": 0,
        }
        check(
            frame("RayJob", status, spec=K8S_JOB), version, "rayjob/restarting", {"initializing", "resuming"}
        )

    def test_initializing(self, version: str) -> None:
        check(
            frame("RayJob", job_status("Initializing"), spec=K8S_JOB),
            version,
            "rayjob/initializing",
            {"initializing"},
        )

    def test_waiting_ignores_suspend(self, version: str) -> None:
        spec = {"submissionMode": "InteractiveMode", "suspend": True}
        check(
            frame("RayJob", job_status("Waiting"), spec=spec),
            version,
            "rayjob/waiting",
            {"initializing", "running"},
        )

    @pytest.mark.parametrize("job", ["", "PENDING"])
    def test_running_job_pending(self, version: str, job: str) -> None:
        check(
            frame("RayJob", job_status("Running", job), spec=K8S_JOB),
            version,
            "rayjob/running-job-pending",
            {"initializing", "running"},
        )

    def test_running(self, version: str) -> None:
        check(
            frame("RayJob", job_status("Running", "RUNNING"), spec=K8S_JOB),
            version,
            "rayjob/running",
            {"running"},
        )

    def test_job_succeeded_before_the_deployment_status(self, version: str) -> None:
        check(
            frame("RayJob", job_status("Running", "SUCCEEDED"), spec=K8S_JOB),
            version,
            "rayjob/running-job-succeeded",
            {"running", "completed"},
            {"running"},
        )

    def test_job_stopped_before_the_deployment_status(self, version: str) -> None:
        check(
            frame("RayJob", job_status("Running", "STOPPED"), spec=K8S_JOB),
            version,
            "rayjob/running-job-stopped",
            {"running", "completed", "failed"},
            {"running"},
        )

    @pytest.mark.parametrize(
        "spec, failed",
        [
            ({}, 0),  # no backoffLimit: never retried
            ({"backoffLimit": 0}, 0),
            ({"backoffLimit": 2}, 2),  # both retries used
        ],
    )
    def test_job_failed_without_retry_left(self, version: str, spec: dict[str, Any], failed: int) -> None:
        check(
            frame("RayJob", job_status("Running", "FAILED", failed=failed), spec={**K8S_JOB, **spec}),
            version,
            "rayjob/running-job-failed",
            {"running", "failed"},
            {"running"},
        )

    def test_job_failed_with_a_retry_left(self, version: str) -> None:
        check(
            frame("RayJob", job_status("Running", "FAILED", failed=1), spec={**K8S_JOB, "backoffLimit": 2}),
            version,
            "rayjob/running-job-failed-will-retry",
            {"running", "initializing"},
            {"running"},
        )

    def test_active_deadline_can_fail_a_finished_job(self, version: str) -> None:
        spec = {**K8S_JOB, "backoffLimit": 2, "activeDeadlineSeconds": 60}
        check(
            frame("RayJob", job_status("Running", "FAILED"), spec=spec),
            version,
            "rayjob/running-job-failed-will-retry",
            {"running", "initializing", "failed"},
            {"running"},
        )
        check(
            frame("RayJob", job_status("Running", "SUCCEEDED"), spec=spec),
            version,
            "rayjob/running-job-succeeded",
            {"running", "completed", "failed"},
            {"running"},
        )

    def test_complete(self, version: str) -> None:
        root = frame(
            "RayJob", job_status("Complete", "SUCCEEDED", succeeded=1), spec={**K8S_JOB, "suspend": True}
        )
        check(root, version, "rayjob/complete", {"completed"})

    def test_complete_stopped(self, version: str) -> None:
        root = frame("RayJob", job_status("Complete", "STOPPED"), spec=K8S_JOB)
        check(root, version, "rayjob/complete-stopped", {"completed", "failed"})

    def test_failed_is_final(self, version: str) -> None:
        # even where the counts leave a retry (DeadlineExceeded is never retried; a later backoffLimit raise is ignored)
        status = job_status("Failed", "RUNNING", failed=1, reason="DeadlineExceeded")
        root = frame("RayJob", status, spec={**K8S_JOB, "backoffLimit": 3, "suspend": True})
        check(root, version, "rayjob/failed", {"failed"})

    def test_retrying(self, version: str) -> None:
        root = frame(
            "RayJob", job_status("Retrying", "FAILED", failed=1), spec={**K8S_JOB, "backoffLimit": 2}
        )
        check(root, version, "rayjob/retrying", {"initializing"})

    def test_suspend_requested_is_one_reconcile_late(self, version: str) -> None:
        spec = {**K8S_JOB, "suspend": True}
        check(
            frame("RayJob", job_status("Running", "RUNNING"), spec=spec),
            version,
            "rayjob/suspend-requested",
            {"running", "suspending"},
            {"running"},
        )
        check(
            frame("RayJob", job_status("Initializing"), spec=spec),
            version,
            "rayjob/suspend-requested",
            {"initializing", "suspending"},
            {"initializing"},
        )
        check(
            frame("RayJob", spec=spec),
            version,
            "rayjob/suspend-requested",
            {"initializing", "suspending"},
            {"initializing"},
        )
        check(
            frame("RayJob", job_status("Retrying", "FAILED", failed=1), spec={**spec, "backoffLimit": 2}),
            version,
            "rayjob/suspend-requested",
            {"initializing", "suspending"},
            {"initializing"},
        )

    def test_suspend_requested_on_a_finished_job(self, version: str) -> None:
        spec = {**K8S_JOB, "suspend": True}
        check(
            frame("RayJob", job_status("Running", "SUCCEEDED"), spec=spec),
            version,
            "rayjob/suspend-requested",
            {"running", "completed", "suspending"},
            {"running", "completed"},
        )

    def test_suspending(self, version: str) -> None:
        root = frame("RayJob", job_status("Suspending", "RUNNING"), spec={**K8S_JOB, "suspend": True})
        check(root, version, "rayjob/suspending", {"suspending"})

    def test_suspending_with_resume_requested(self, version: str) -> None:
        root = frame("RayJob", job_status("Suspending", "RUNNING"), spec=K8S_JOB)
        check(root, version, "rayjob/suspending-resume-requested", {"suspending", "resuming"})

    def test_suspended(self, version: str) -> None:
        root = frame("RayJob", job_status("Suspended"), spec={**K8S_JOB, "suspend": True})
        check(root, version, "rayjob/suspended", {"suspended"})

    def test_resume_requested_is_one_reconcile_late(self, version: str) -> None:
        root = frame("RayJob", job_status("Suspended"), spec={**K8S_JOB, "suspend": False})
        check(
            root,
            version,
            "rayjob/suspended-resume-requested",
            {"suspended", "resuming", "initializing"},
            {"suspended"},
        )

    def test_unknown_deployment_status(self, version: str) -> None:
        root = frame("RayJob", job_status("Paused"), spec={**K8S_JOB, "suspend": True})
        check(root, version, "rayjob/unknown", set(ANY_STATUS))

    def test_unknown_job_status(self, version: str) -> None:
        check(
            frame("RayJob", job_status("Running", "ZOMBIE"), spec=K8S_JOB),
            version,
            "rayjob/unknown",
            set(ANY_STATUS),
        )

    def test_deletion_freezes_the_status(self, version: str) -> None:
        root = frame(
            "RayJob", job_status("Running", "SUCCEEDED"), spec={**K8S_JOB, "suspend": True}, deleting=True
        )
        check(root, version, "rayjob/deleting", {"running", "completed"})

    def test_managed_by_another_controller(self, version: str) -> None:
        spec = {**K8S_JOB, "managedBy": "kueue.x-k8s.io/multikueue", "suspend": True}
        check(frame("RayJob", spec=spec), version, "rayjob/managed-elsewhere", {"initializing", "suspended"})
        check(
            frame("RayJob", job_status("Running", "SUCCEEDED"), spec=spec),
            version,
            "rayjob/managed-elsewhere",
            {"running", "completed"},
        )


@pytest.mark.parametrize("version", SINCE_V15)
def test_rayjob_validation_failed(version: str) -> None:
    root = frame("RayJob", job_status("ValidationFailed", reason="ValidationFailed"), spec={"suspend": True})
    check(root, version, "rayjob/validation-failed", {"failed"})


@pytest.mark.parametrize("version", BEFORE_V15)
def test_rayjob_validation_failed_is_unknown_before_v1_5(version: str) -> None:
    check(frame("RayJob", job_status("ValidationFailed")), version, "rayjob/unknown", set(ANY_STATUS))


# --- RayService ---------------------------------------------------------------------------------------

READY_TRUE = cond("Ready", "True", "NonZeroServeEndpoints")
NO_UPGRADE = cond("UpgradeInProgress", "False", "NoPendingCluster")


def service_status(
    *conditions: dict[str, Any],
    active: dict[str, str] | None = None,
    pending: dict[str, str] | None = None,
    endpoints: int = 0,
    observed: int = 1,
) -> dict[str, Any]:
    def side(name: str, apps: dict[str, str] | None) -> dict[str, Any]:
        if apps is None:
            return {}
        return {
            "rayClusterName": name,
            "applicationStatuses": {app: {"status": s} for app, s in apps.items()},
        }

    return {
        "conditions": list(conditions),
        "activeServiceStatus": side("svc-a", active),
        "pendingServiceStatus": side("svc-b", pending),
        "numServeEndpoints": endpoints,
        "observedGeneration": observed,
    }


INITIALIZING = cond("Ready", "False", "Initializing")
INIT_UPGRADE = cond("UpgradeInProgress", "False", "Initializing")
SERVING = service_status(READY_TRUE, NO_UPGRADE, active={"app": "RUNNING"}, endpoints=2)
SUSPEND_COMMITTED = (
    cond("Ready", "False", "SuspendInProgress"),
    cond("UpgradeInProgress", "False", "SuspendInProgress"),
    cond("Suspending", "True", "SuspendRequested"),
    cond("RollbackInProgress", "False", "SuspendInProgress"),
)
SUSPEND_DONE = (
    cond("Ready", "False", "SuspendComplete"),
    cond("UpgradeInProgress", "False", "SuspendComplete"),
    cond("Suspending", "False", "SuspendComplete"),
    cond("Suspended", "True", "SuspendComplete"),
)
RESUMED = cond("Suspended", "False", "RayServiceResumed")


@pytest.mark.parametrize("version", PINNED)
class TestRayService:
    def test_no_status_yet(self, version: str) -> None:
        check(frame("RayService"), version, "rayservice/new", {"initializing"})
        check(frame("RayService", {"serviceStatus": ""}), version, "rayservice/new", {"initializing"})

    def test_initializing(self, version: str) -> None:
        status = service_status(INITIALIZING, INIT_UPGRADE, pending={"app": "DEPLOYING"})
        check(frame("RayService", status), version, "rayservice/initializing", {"initializing"})

    def test_promoted_before_endpoints_count(self, version: str) -> None:
        status = service_status(INITIALIZING, NO_UPGRADE, active={"app": "RUNNING"})
        check(
            frame("RayService", status),
            version,
            "rayservice/initializing-apps-running",
            {"initializing", "running"},
            {"initializing"},
        )

    @pytest.mark.parametrize("app", ["DEPLOY_FAILED", "UNHEALTHY"])
    def test_initializing_with_a_failed_application(self, version: str, app: str) -> None:
        status = service_status(INITIALIZING, INIT_UPGRADE, pending={"app": app})
        check(
            frame("RayService", status),
            version,
            "rayservice/initializing-app-failed",
            {"initializing", "failed"},
        )

    def test_ready(self, version: str) -> None:
        check(frame("RayService", SERVING), version, "rayservice/ready", {"running"})

    @pytest.mark.parametrize("app", ["UNHEALTHY", "DEPLOYING", "DEPLOY_FAILED"])
    def test_ready_with_an_application_not_running(self, version: str, app: str) -> None:
        status = service_status(READY_TRUE, NO_UPGRADE, active={"app": "RUNNING", "other": app}, endpoints=1)
        check(frame("RayService", status), version, "rayservice/ready-degraded", {"running", "degraded"})

    def test_ready_with_the_active_head_down(self, version: str) -> None:
        # `reconcileServe` skips a cluster whose head Pod is not ready: its applications read as none
        status = service_status(READY_TRUE, NO_UPGRADE, active={}, endpoints=1)
        status["activeServiceStatus"]["rayClusterStatus"] = {"state": "ready", "conditions": [HEAD_NOT_READY]}
        check(frame("RayService", status), version, "rayservice/ready-degraded", {"running", "degraded"})
        status["activeServiceStatus"]["rayClusterStatus"]["conditions"] = [HEAD_READY]
        check(frame("RayService", status), version, "rayservice/ready", {"running"})

    def test_upgrading(self, version: str) -> None:
        # during a blue/green upgrade the active cluster's applications are not read (empty)
        status = service_status(
            READY_TRUE,
            cond("UpgradeInProgress", "True", "BothActivePendingClustersExist"),
            active={},
            pending={"app": "DEPLOYING"},
            endpoints=1,
        )
        check(frame("RayService", status), version, "rayservice/upgrading", {"running"})

    def test_zero_endpoints(self, version: str) -> None:
        status = service_status(
            cond("Ready", "False", "ZeroServeEndpoints"), NO_UPGRADE, active={"app": "RUNNING"}
        )
        check(frame("RayService", status), version, "rayservice/zero-endpoints", {"degraded", "failed"})

    def test_unknown_ready_reason(self, version: str) -> None:
        status = service_status(cond("Ready", "False", "SomethingNew"))
        check(frame("RayService", status), version, "rayservice/unknown", set(ANY_STATUS))

    def test_conditions_without_ready(self, version: str) -> None:
        check(frame("RayService", service_status(NO_UPGRADE)), version, "rayservice/unknown", set(ANY_STATUS))


@pytest.mark.parametrize("version", SINCE_V16)
def test_rayservice_rolling_back(version: str) -> None:
    status = service_status(
        READY_TRUE,
        cond("UpgradeInProgress", "True", "BothActivePendingClustersExist"),
        cond("RollbackInProgress", "True", "DesiredClusterSpecChanged"),
        active={"app": "RUNNING"},
        pending={"app": "RUNNING"},
        endpoints=2,
    )
    check(frame("RayService", status), version, "rayservice/rolling-back", {"running"})


@pytest.mark.parametrize("version", BEFORE_V16)
def test_rayservice_rollback_condition_is_not_read_before_v1_6(version: str) -> None:
    status = service_status(
        READY_TRUE,
        cond("UpgradeInProgress", "True", "BothActivePendingClustersExist"),
        cond("RollbackInProgress", "True", "DesiredClusterSpecChanged"),
        endpoints=2,
    )
    check(frame("RayService", status), version, "rayservice/upgrading", {"running"})


@pytest.mark.parametrize("version", SINCE_V15)
def test_rayservice_initializing_timeout(version: str) -> None:
    status = service_status(cond("Ready", "False", "InitializingTimeout"), INIT_UPGRADE)
    check(frame("RayService", status), version, "rayservice/initializing-timeout", {"failed"})


@pytest.mark.parametrize("version", BEFORE_V15)
def test_rayservice_initializing_timeout_is_unknown_before_v1_5(version: str) -> None:
    status = service_status(cond("Ready", "False", "InitializingTimeout"))
    check(frame("RayService", status), version, "rayservice/unknown", set(ANY_STATUS))


@pytest.mark.parametrize("version", SINCE_V16)
def test_rayservice_validation_failed(version: str) -> None:
    rejected = service_status(cond("Ready", "False", "ValidationFailed"), observed=0)
    check(frame("RayService", rejected), version, "rayservice/validation-failed", {"failed"})
    still_serving = service_status(
        cond("Ready", "False", "ValidationFailed"),
        NO_UPGRADE,
        active={"app": "RUNNING"},
        endpoints=2,
        observed=1,
    )
    check(
        frame("RayService", still_serving, generation=2),
        version,
        "rayservice/validation-failed",
        {"failed", "degraded"},
    )
    accepted_since = service_status(cond("Ready", "False", "ValidationFailed"), INIT_UPGRADE, observed=3)
    check(
        frame("RayService", accepted_since, generation=3),
        version,
        "rayservice/validation-failed-stale",
        {"initializing", "failed"},
    )


@pytest.mark.parametrize("version", BEFORE_V16)
def test_rayservice_validation_failed_is_unknown_before_v1_6(version: str) -> None:
    status = service_status(cond("Ready", "False", "ValidationFailed"))
    check(frame("RayService", status), version, "rayservice/unknown", set(ANY_STATUS))


@pytest.mark.parametrize("version", SINCE_V16)
def test_rayservice_deletion_freezes_the_status(version: str) -> None:
    check(frame("RayService", SERVING, deleting=True), version, "rayservice/deleting", {"running"})


@pytest.mark.parametrize("version", BEFORE_V16)
def test_rayservice_deletion_is_reconciled_as_usual_before_v1_6(version: str) -> None:
    check(frame("RayService", SERVING, deleting=True), version, "rayservice/ready", {"running"})


@pytest.mark.parametrize("version", SINCE_V16)
def test_rayservice_managed_by_another_controller(version: str) -> None:
    spec = {"managedBy": "kueue.x-k8s.io/multikueue"}
    check(frame("RayService", SERVING, spec=spec), version, "rayservice/managed-elsewhere", {"running"})


@pytest.mark.parametrize("version", BEFORE_V16)
def test_rayservice_managed_by_is_ignored_before_v1_6(version: str) -> None:
    spec = {"managedBy": "kueue.x-k8s.io/multikueue"}
    check(frame("RayService", SERVING, spec=spec), version, "rayservice/ready", {"running"})


class TestRayServiceSuspendV17:
    version = "v1.7.0"

    def test_suspend_requested_is_one_reconcile_late(self) -> None:
        root = frame("RayService", SERVING, spec={"suspend": True}, generation=2)
        check(root, self.version, "rayservice/suspend-requested", {"running", "suspending"}, {"running"})

    def test_suspending(self) -> None:
        root = frame("RayService", service_status(*SUSPEND_COMMITTED), spec={"suspend": True})
        check(root, self.version, "rayservice/suspending", {"suspending"})

    def test_suspending_with_resume_requested(self) -> None:
        root = frame("RayService", service_status(*SUSPEND_COMMITTED), spec={"suspend": False})
        check(root, self.version, "rayservice/suspending-resume-requested", {"suspending", "resuming"})

    def test_suspended(self) -> None:
        root = frame("RayService", service_status(*SUSPEND_DONE), spec={"suspend": True})
        check(root, self.version, "rayservice/suspended", {"suspended"})

    def test_resume_requested_is_one_reconcile_late(self) -> None:
        root = frame("RayService", service_status(*SUSPEND_DONE), spec={"suspend": False})
        check(
            root,
            self.version,
            "rayservice/suspended-resume-requested",
            {"suspended", "resuming", "initializing"},
            {"suspended"},
        )

    def test_resuming(self) -> None:
        status = service_status(INITIALIZING, INIT_UPGRADE, RESUMED, pending={"app": "DEPLOYING"})
        check(frame("RayService", status), self.version, "rayservice/resuming", {"initializing", "resuming"})
        running = service_status(INITIALIZING, NO_UPGRADE, RESUMED, active={"app": "RUNNING"})
        check(
            frame("RayService", running),
            self.version,
            "rayservice/resuming",
            {"initializing", "running", "resuming"},
            {"initializing"},
        )

    def test_resumed_and_serving(self) -> None:
        status = service_status(READY_TRUE, NO_UPGRADE, RESUMED, active={"app": "RUNNING"}, endpoints=1)
        check(frame("RayService", status), self.version, "rayservice/ready", {"running"})

    def test_suspend_requested_on_a_deleting_service_is_ignored(self) -> None:
        root = frame("RayService", SERVING, spec={"suspend": True}, deleting=True)
        check(root, self.version, "rayservice/deleting", {"running"})


@pytest.mark.parametrize("version", BEFORE_V17)
def test_rayservice_suspend_is_absent_before_v1_7(version: str) -> None:
    # spec.suspend is not in the CRD (pruned) and no controller acts on it
    check(frame("RayService", SERVING, spec={"suspend": True}), version, "rayservice/ready", {"running"})
    # a v1.7.0-only condition cannot come from these controllers
    check(
        frame("RayService", service_status(*SUSPEND_DONE), spec={"suspend": True}),
        version,
        "rayservice/unknown",
        set(ANY_STATUS),
    )
    status = service_status(INITIALIZING, INIT_UPGRADE, RESUMED)
    check(frame("RayService", status), version, "rayservice/initializing", {"initializing"})


def test_recorded_rayservice_suspend_statuses() -> None:
    """The statuses the rayservice-suspend scenario recorded on KubeRay v1.7.0 (one per phase)."""
    recorded = json.loads(RECORDED.read_text())["phases"]
    expected = {
        "created": ("rayservice/new", {"initializing"}),
        "ready": ("rayservice/ready", {"running"}),
        "suspending": ("rayservice/suspending", {"suspending"}),
        "suspended": ("rayservice/suspended", {"suspended"}),
        "resumed-initializing": ("rayservice/resuming", {"initializing", "resuming"}),
        "resumed": ("rayservice/ready", {"running"}),
    }
    assert set(recorded) == set(expected)
    for phase, (state, allowed) in expected.items():
        status = recorded[phase]
        root = frame("RayService", status, spec={"suspend": phase in ("suspending", "suspended")})
        check(root, "v1.7.0", state, allowed)


# --- the API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "root",
    [
        {"apiVersion": "v1", "kind": "Pod"},
        {"apiVersion": "example.com/v1", "kind": "RayJob"},
        {},
    ],
)
def test_kinds_the_model_does_not_know(root: dict[str, Any]) -> None:
    assert read(root, "v1.7.0") is None


@pytest.mark.parametrize(
    "asked, tag",
    [
        ("v1.3.2", "v1.3.2"),
        ("1.6.2", "v1.6.2"),
        ("v1.5.2", "v1.5.1"),
        ("v1.6.0", "v1.6.2"),
        ("v1.7.0-rc.0", "v1.7.0"),
        ("v1.9.1", "v1.7.0"),
    ],
)
def test_versions_map_to_pinned_rules(asked: str, tag: str) -> None:
    rules = rules_for(asked)
    assert rules.tag == tag
    reading = read(frame("RayJob"), asked)
    assert reading is not None and reading.why.startswith(tag)
    assert (f"rules for {asked}" in reading.why) == (asked.removeprefix("v") != tag.removeprefix("v"))


@pytest.mark.parametrize("asked", ["v1.2.0", "v0.6.0", "latest", ""])
def test_versions_outside_the_model(asked: str) -> None:
    with pytest.raises(ValueError):
        rules_for(asked)


def test_reading_guards_its_invariants() -> None:
    with pytest.raises(ValueError):
        Reading("x/y", frozenset({"running"}), frozenset({"completed"}), "why")
    with pytest.raises(ValueError):
        Reading("x/y", frozenset({"paused"}), frozenset(), "why")
    with pytest.raises(ValueError):
        Reading("x/y", frozenset(), frozenset(), "why")
    with pytest.raises(ValueError):
        Reading("x/y", frozenset({"running"}), frozenset(), "two\nlines")


def test_every_state_is_tested_and_documented() -> None:
    """Every state the model names is asserted by a test above and documented in README.md."""
    kinds = ("raycluster", "rayjob", "rayservice")
    named = set(re.findall(f'"{STATE_NAME}"', MODEL.read_text()))
    named |= {f"{kind}/{suffix}" for kind in kinds for suffix in ("unknown", "suspend-requested", "deleting")}
    named.add("raycronjob/unknown")  # a RayCronJob on a version without the kind
    named |= {f"{kind}/managed-elsewhere" for kind in kinds}  # the four above are built from f-strings
    tested = set(re.findall(f'"{STATE_NAME}"', Path(__file__).read_text()))
    assert named == tested, (sorted(named - tested), sorted(tested - named))
    documented = set(re.findall(f"`{STATE_NAME}`", README.read_text()))
    assert named == documented, (sorted(named - documented), sorted(documented - named))


@pytest.mark.parametrize(
    ("spec", "status", "version", "state", "allowed"),
    [
        ({}, {}, "v1.6.2", "raycronjob/new", {"initializing"}),
        ({}, {"lastScheduleTime": "2026-12-07T18:00:00Z"}, "v1.6.2", "raycronjob/scheduling", {"running"}),
        (
            {"suspend": True},
            {"lastScheduleTime": "2026-12-07T18:00:00Z"},
            "v1.7.0",
            "raycronjob/suspended",
            {"suspended"},
        ),
        ({}, {}, "v1.5.1", "raycronjob/unknown", set(ANY_STATUS)),
    ],
)
def test_raycronjob(
    spec: dict[str, Any], status: dict[str, Any], version: str, state: str, allowed: set[str]
) -> None:
    """A RayCronJob: initializing before its first tick, running once a tick made a RayJob, suspended while
    spec.suspend (v1.6.2 and v1.7.0 raycronjob_controller.go `Reconcile`); unknown before v1.6.2."""
    reading = read({"apiVersion": "ray.io/v1", "kind": "RayCronJob", "spec": spec, "status": status}, version)
    assert reading is not None and (reading.state, set(reading.allowed)) == (state, allowed)


# --- RayService incremental upgrade ----------------------------------------------------------------------

INCREMENTAL_SPEC = {
    "upgradeStrategy": {
        "type": "NewClusterWithIncrementalUpgrade",
        "clusterUpgradeOptions": {"maxSurgePercent": 50, "stepSizePercent": 25, "intervalSeconds": 2},
    }
}


def _incremental_frame(active: tuple[int, int], pending: tuple[int, int]) -> dict[str, Any]:
    status = service_status(
        READY_TRUE,
        cond("UpgradeInProgress", "True", "BothActivePendingClustersExist"),
        active={"app": "RUNNING"},
        pending={"app": "RUNNING"},
        endpoints=2,
    )
    for side, (capacity, routed) in (("activeServiceStatus", active), ("pendingServiceStatus", pending)):
        status[side].update(targetCapacity=capacity, trafficRoutedPercent=routed)
    return frame("RayService", status, spec=INCREMENTAL_SPEC)


def test_rayservice_upgrading_incrementally() -> None:
    """v1.7.0 (gate on by default): both clusters serve through the HTTPRoute while the traffic moves;
    Ready counts both clusters' serve endpoints, so it reads running throughout."""
    reading = check(
        _incremental_frame((100, 75), (50, 25)), "v1.7.0", "rayservice/upgrading-incrementally", {"running"}
    )
    assert "calculateTrafficRoutedPercent" in reading.why


@pytest.mark.parametrize("version", BEFORE_V17)
def test_an_incremental_upgrade_before_v1_7_reads_as_any_upgrade(version: str) -> None:
    """Before v1.7.0 the strategy is behind a gate off by default; a frame of it reads through the general
    upgrading row, which allows the same."""
    check(_incremental_frame((100, 75), (50, 25)), version, "rayservice/upgrading", {"running"})


def test_the_traffic_numbers_are_read_from_both_service_statuses() -> None:
    root = _incremental_frame((100, 75), (50, 25))
    assert kuberay_states.traffic(root) == kuberay_states.Traffic(100, 75, 50, 25)
    assert str(kuberay_states.traffic(root)) == "active 100/75 %, pending 50/25 % (capacity/traffic)"
    root["status"]["pendingServiceStatus"] = {}
    root["status"]["activeServiceStatus"]["trafficRoutedPercent"] = True  # not a number
    assert kuberay_states.traffic(root) == kuberay_states.Traffic(100, None, None, None)
    assert kuberay_states.traffic({"kind": "RayService"}) == kuberay_states.Traffic(None, None, None, None)


def test_the_steps_of_an_incremental_upgrade_with_max_surge_50_and_step_25() -> None:
    """KubeRay v1.7.0's algorithm, hand-run: the first cluster up and alone at 100/100; an upgrade's
    pending cluster named at capacity 0 (no traffic number
    yet), listed in the HTTPRoute at 0 %; its capacity to 50, its traffic by 25 up to that capacity; the
    active capacity down to 50, the pending one to 100, its traffic on to 100; the active capacity to 0,
    promoted in the same reconcile (or, its services not reconciled then, the next one)."""
    T = kuberay_states.Traffic
    assert kuberay_states.incremental_traffic(50, 25) == {
        T(None, None, None, None),  # the first cluster: nothing written,
        T(None, None, 100, None),  # named pending at capacity 100,
        T(100, None, None, None),  # promoted before any HTTPRoute lists it
        T(100, 100, None, None),
        T(100, 100, 0, None),
        T(100, 100, 0, 0),
        T(100, 100, 50, 0),
        T(100, 75, 50, 25),
        T(100, 50, 50, 50),
        T(50, 50, 50, 50),
        T(50, 50, 100, 50),
        T(50, 25, 100, 75),
        T(50, 0, 100, 100),
        T(0, 0, 100, 100),
    }
    assert kuberay_states.traffic_steps(50, 25) == (0, 25, 50, 75, 100)
    # a step the capacity cuts short: 30 then 50 (capped by capacity 50), 80, 100
    assert kuberay_states.traffic_steps(50, 30) == (0, 30, 50, 80, 100)
    assert kuberay_states.traffic_steps(100, 100) == (0, 100)


@pytest.mark.parametrize(("max_surge", "step"), [(50, 25), (100, 10), (30, 30), (20, 7), (100, 100)])
def test_every_split_of_an_incremental_upgrade_keeps_kuberays_invariants(max_surge: int, step: int) -> None:
    """The weights always sum to 100, traffic never exceeds the pending cluster's capacity, and the capacities
    together never exceed 100 + maxSurgePercent; every upgrade ends promoted."""
    states = kuberay_states.incremental_traffic(max_surge, step)
    for t in set(states) - set(kuberay_states.FIRST_CLUSTER):
        assert t.active_routed is not None and t.active_capacity is not None
        if t.pending_routed is not None:
            assert t.pending_capacity is not None
            assert t.active_routed + t.pending_routed == 100, t
            assert t.pending_routed <= t.pending_capacity, t
            assert t.active_capacity + t.pending_capacity <= 100 + max_surge, t
    assert kuberay_states.Traffic(0, 0, 100, 100) in states and kuberay_states.SERVING in states


def test_incremental_options_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        kuberay_states.incremental_traffic(150, 25)


def test_the_steps_of_an_incremental_rollback_with_max_surge_50_and_step_25() -> None:
    """KubeRay v1.7.0's rollback, hand-run (`reconcileServeTargetCapacity`, `calculateTrafficRoutedPercent`,
    `shouldCompleteIncrementalRollback`): reverted at 100/75 and 50/25, the active traffic back to 100 (its
    capacity never fell), then the pending capacity to 0 and, in the same reconcile, the pending status
    cleared; reverted at 50/50 and 100/50, the pending capacity to 50 and the active one back to 100, the
    traffic back 25 at a time. With these options every split on the way back is one the upgrade also shows."""
    T = kuberay_states.Traffic
    back = kuberay_states.incremental_rollback_traffic(50, 25)
    assert {T(100, 100, 50, 0), T(100, 100, 0, 0), T(100, 50, 50, 50), kuberay_states.SERVING} <= back
    assert back <= kuberay_states.incremental_traffic(50, 25)
    assert T(None, None, 100, None) not in back  # no rollback before there is an active cluster
    assert kuberay_states.ROLLBACK_REASON == "DesiredClusterSpecChanged"


@pytest.mark.parametrize(("max_surge", "step"), [(50, 25), (100, 10), (30, 20), (20, 7), (100, 100)])
def test_every_split_of_an_incremental_rollback_keeps_kuberays_invariants(max_surge: int, step: int) -> None:
    """On the way back the weights still sum to 100 and the capacities to 100 + maxSurgePercent at most;
    from every split the rollback can reach active 100/100, pending 0/0, which it completes (`SERVING`)."""
    T = kuberay_states.Traffic
    back = kuberay_states.incremental_rollback_traffic(max_surge, step)
    for t in back - {kuberay_states.SERVING}:
        assert (
            t.active_routed is not None and t.active_capacity is not None and t.pending_capacity is not None
        )
        if t.pending_routed is not None:
            assert t.active_routed + t.pending_routed == 100, t
            assert t.active_capacity + t.pending_capacity <= 100 + max_surge, t
    assert T(100, 100, 0, 0) in back and kuberay_states.SERVING in back


def test_an_uneven_rollback_shows_splits_the_upgrade_does_not() -> None:
    """maxSurgePercent 30, stepSizePercent 20: going back by 30 from other numbers than the way there, the
    capacities land where the upgrade never is (the pending capacity 10 with the active cluster back at
    100/100, one step before 0): the rollback's splits are a set of their own."""
    T = kuberay_states.Traffic
    back = kuberay_states.incremental_rollback_traffic(30, 20)
    assert T(100, 100, 10, 0) in back - kuberay_states.incremental_traffic(30, 20)
