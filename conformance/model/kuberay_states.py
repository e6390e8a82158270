"""An independent model of KubeRay's states: for one observed root object (a *frame*: a RayCluster, RayJob
or RayService as the API server returned it at some resourceVersion), which Karta statuses a correct
consumer may read.

The model is read from KubeRay's controllers at the pinned tags v1.3.2, v1.4.2, v1.5.1, v1.6.2 and
v1.7.0 (``ray-operator/controllers/ray/*_controller.go``, ``controllers/ray/utils``,
``apis/ray/v1/*_types.go``), never from the definitions it judges. ``README.md`` next to this file
documents it state by state.

``read(root, kuberay_version)`` returns a :class:`Reading`:

- ``allowed``: every Karta status that is an acceptable single reading of the frame (a consumer may match
  several mappings; any one of these is right). Kept as tight as KubeRay's semantics justify.
- ``late``: the part of ``allowed`` admitted only because KubeRay writes the decisive field one reconcile
  (or a few) after the truth is known, e.g. ``jobStatus: SUCCEEDED`` while ``jobDeploymentStatus`` is
  still ``Running``, or ``spec.suspend: true`` before the status says Suspending.
- ``why``: one line naming the KubeRay facts (version, file, function).

Policies for frames the controllers never decided on:

- no status yet (a frame right after creation): ``initializing``; KubeRay has not reconciled it.
- deletion (``metadata.deletionTimestamp`` set): KubeRay stops writing the status (it only runs
  finalizers), so the frozen status is read as it stands, without the lateness of a pending suspend.
- ``spec.managedBy`` naming another controller: KubeRay leaves the object alone; whatever status it carries
  (a MultiKueue manager mirrors the worker cluster's) is read as KubeRay would have written it.
- a value a version never writes (an unknown ``jobDeploymentStatus``, a future condition reason, a
  v1.7.0-only RayService suspend condition on v1.6.2): every Karta status is allowed, and ``why`` says so.

Versions: a pinned tag, or any release of a pinned minor (``v1.5.2`` reads with v1.5.1's rules); a release
newer than v1.7 reads with v1.7.0's rules (named in ``why``); older than v1.3 is a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from conformance.kuberay import app_statuses, condition

INITIALIZING = "initializing"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
DEGRADED = "degraded"
SUSPENDED = "suspended"
SUSPENDING = "suspending"
RESUMING = "resuming"
STATUSES = (INITIALIZING, RUNNING, COMPLETED, FAILED, DEGRADED, SUSPENDED, SUSPENDING, RESUMING)
ANY_STATUS = frozenset(STATUSES)

PINNED = ("v1.3.2", "v1.4.2", "v1.5.1", "v1.6.2", "v1.7.0")
KUBERAY_OPERATOR = "ray.io/kuberay-operator"  # utils.KubeRayController: the managedBy value KubeRay serves

# The first pinned tag whose controllers do each thing the model depends on.
RAYJOB_VALIDATION_FAILED_SINCE = "v1.5.1"  # jobDeploymentStatus ValidationFailed
RAYSERVICE_INITIALIZING_TIMEOUT_SINCE = "v1.5.1"  # Ready=False reason InitializingTimeout
RAYSERVICE_VALIDATION_FAILED_SINCE = "v1.6.2"  # Ready=False reason ValidationFailed
RAYSERVICE_ROLLBACK_SINCE = "v1.6.2"  # RollbackInProgress condition (incremental upgrade)
RAYSERVICE_MANAGED_BY_SINCE = "v1.6.2"  # spec.managedBy on RayService
RAYSERVICE_SUSPEND_SINCE = "v1.7.0"  # spec.suspend, Suspending / Suspended conditions
# upgradeStrategy NewClusterWithIncrementalUpgrade with its feature gate on by default (the fields and the
# algorithm exist from v1.5.1 behind the gate RayServiceIncrementalUpgrade, off by default before v1.7.0;
# there its frames read through the general `rayservice/upgrading` row, which allows the same)
RAYSERVICE_INCREMENTAL_SINCE = "v1.7.0"
INCREMENTAL = "NewClusterWithIncrementalUpgrade"

RC = "controllers/ray/raycluster_controller.go"
RJ = "controllers/ray/rayjob_controller.go"
RS = "controllers/ray/rayservice_controller.go"


@dataclass(frozen=True)
class Reading:
    state: str  # a stable name of the model state, e.g. "rayjob/running"
    allowed: frozenset[str]  # Karta statuses a correct consumer may read on this frame
    late: frozenset[str]  # subset of `allowed` admitted only because KubeRay writes a field late
    why: str  # one line: the KubeRay facts, with version, file and function

    def __post_init__(self) -> None:
        if not self.allowed or not self.allowed <= ANY_STATUS:
            raise ValueError(f"{self.state}: allowed {sorted(self.allowed)} must be Karta statuses")
        if not self.late <= self.allowed:
            raise ValueError(f"{self.state}: late {sorted(self.late)} must be part of allowed")
        if "\n" in self.why:
            raise ValueError(f"{self.state}: why must be one line")


@dataclass(frozen=True)
class Rules:
    """The pinned tag whose controllers model a KubeRay version."""

    tag: str
    asked: str

    def since(self, tag: str) -> bool:
        return PINNED.index(self.tag) >= PINNED.index(tag)

    @property
    def label(self) -> str:
        same = self.asked.removeprefix("v") == self.tag.removeprefix("v")
        return self.tag if same else f"{self.tag} (rules for {self.asked})"


def rules_for(kuberay_version: str) -> Rules:
    """The rules of a pinned tag for ``kuberay_version`` (see the module docstring)."""
    asked = kuberay_version.strip()
    try:
        wanted = Version(asked.removeprefix("v"))
    except InvalidVersion as error:
        raise ValueError(f"not a KubeRay version: {kuberay_version!r}") from error
    for tag in PINNED:
        pinned = Version(tag.removeprefix("v"))
        if (pinned.major, pinned.minor) == (wanted.major, wanted.minor):
            return Rules(tag, asked)
    if wanted > Version(PINNED[-1].removeprefix("v")):
        return Rules(PINNED[-1], asked)
    raise ValueError(f"KubeRay {kuberay_version!r} is older than the model ({PINNED[0]} onwards)")


def read(root: dict[str, Any], kuberay_version: str) -> Reading | None:
    """What a correct consumer may read on ``root`` under ``kuberay_version``; None for a kind the model
    does not know."""
    api_version = str(root.get("apiVersion") or "ray.io/v1")
    reader = _READERS.get(str(root.get("kind") or ""))
    if reader is None or api_version.split("/")[0] != "ray.io":
        return None
    return reader(root, rules_for(kuberay_version))


# --- frame access -------------------------------------------------------------------------------------


def _status(root: Mapping[str, Any]) -> dict[str, Any]:
    status = root.get("status")
    return status if isinstance(status, dict) else {}


def _spec(root: Mapping[str, Any]) -> dict[str, Any]:
    spec = root.get("spec")
    return spec if isinstance(spec, dict) else {}


def _suspend_asked(root: Mapping[str, Any]) -> bool:
    return _spec(root).get("suspend") is True


def _cond_status(root: dict[str, Any], kind: str) -> str | None:
    """The status ("True", "False", "Unknown") of a condition, None without one."""
    found = condition(root, kind)
    return None if found is None else str(found.get("status") or "")


def _cond_true(root: dict[str, Any], kind: str) -> bool:
    return _cond_status(root, kind) == "True"


def _cond_reason(root: dict[str, Any], kind: str) -> str:
    found = condition(root, kind)
    return "" if found is None else str(found.get("reason") or "")


def _deleting(root: Mapping[str, Any]) -> bool:
    metadata = root.get("metadata")
    return isinstance(metadata, dict) and bool(metadata.get("deletionTimestamp"))


def _external_manager(root: Mapping[str, Any]) -> str | None:
    """``spec.managedBy`` when it names a controller other than KubeRay (utils.ManagedByExternalController)."""
    manager = _spec(root).get("managedBy")
    if manager is None or manager == KUBERAY_OPERATOR:
        return None
    return str(manager)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# --- readings -----------------------------------------------------------------------------------------


def _reading(state: str, allowed: Iterable[str], why: str, late: Iterable[str] = ()) -> Reading:
    return Reading(state, frozenset(allowed), frozenset(late), why)


def _why(rules: Rules, where: str, fact: str) -> str:
    return f"{rules.label} {where}: {fact}"


def _unknown(kind: str, what: str, rules: Rules, where: str) -> Reading:
    return _reading(
        f"{kind}/unknown",
        ANY_STATUS,
        _why(
            rules,
            where,
            f"{what} is never written by this version's controller (unknown or future value); "
            "conservatively every Karta status is allowed",
        ),
    )


def _suspend_requested(kind: str, base: Reading, why: str) -> Reading:
    """``spec.suspend: true`` not yet reflected in the status: the next reconcile writes Suspending, so
    ``suspending`` is the truth and the statuses the stale status reads as are late."""
    return _reading(
        f"{kind}/suspend-requested",
        base.allowed | {SUSPENDING},
        f"{why}; until then the status reads as {base.state} ({base.why})",
        late=base.allowed,
    )


def _frozen_by_deletion(kind: str, base: Reading, fact: str) -> Reading:
    return _reading(
        f"{kind}/deleting",
        base.allowed,
        f"{fact}; the frozen status reads as {base.state} ({base.why})",
    )


def _managed_elsewhere(kind: str, root: dict[str, Any], base: Reading, manager: str, fact: str) -> Reading:
    allowed = set(base.allowed)
    if not _status(root) and _suspend_asked(root):
        allowed.add(SUSPENDED)  # held with spec.suspend and nothing running (how Kueue holds a workload)
    return _reading(
        f"{kind}/managed-elsewhere",
        allowed,
        f"spec.managedBy={manager!r}: {fact}; the status it carries reads as {base.state} ({base.why})",
    )


@dataclass(frozen=True)
class _Skips:
    """Why a version's controller leaves an object alone: another controller manages it, or it is being
    deleted (None: that version has no such check)."""

    managed: str | None
    deleting: str | None


def _finish(
    kind: str, root: dict[str, Any], base: Reading, skips: _Skips, suspend_requested: Reading | None
) -> Reading:
    """The outer layers every kind shares: managedBy, deletion, then a pending suspend request."""
    manager = _external_manager(root)
    if manager is not None and skips.managed is not None:
        return _managed_elsewhere(kind, root, base, manager, skips.managed)
    if _deleting(root) and skips.deleting is not None:
        return _frozen_by_deletion(kind, base, skips.deleting)
    if base.state == f"{kind}/unknown":
        return base  # already allows every status; nothing is late about a value KubeRay never writes
    return suspend_requested or base


# --- RayCluster ---------------------------------------------------------------------------------------
#
# Every pinned version computes the status the same way (raycluster_controller.go `calculateStatus`):
# state "ready" once all Pods run and their count is workers + head (sticky: never reset, except to
# "suspended" when spec.suspend is true and no Pod is left); the RayClusterStatusConditions feature gate is
# on by default (Beta) from v1.3.2 to v1.7.0, so HeadPodReady, RayClusterProvisioned, ReplicaFailure,
# RayClusterSuspending and RayClusterSuspended are written too. State "failed" is deprecated and written by
# none of these versions.

SUSPENDING_COND = "RayClusterSuspending"
SUSPENDED_COND = "RayClusterSuspended"
RC_STATUS = f"{RC} `calculateStatus`"


def _read_raycluster(root: dict[str, Any], rules: Rules) -> Reading:
    base = _raycluster_base(root, rules)
    skips = _Skips(
        managed=f"{rules.label} {RC} `rayClusterReconcile` returns before any reconcile (ManagedByExternalController)",
        deleting=f"{rules.label} {RC} `rayClusterReconcile`: a RayCluster being deleted is ignored (only the GCS FT "
        "Redis cleanup finalizer runs, without a status update)",
    )
    return _finish("raycluster", root, base, skips, _raycluster_suspend_requested(root, base, rules))


def _raycluster_base(root: dict[str, Any], rules: Rules) -> Reading:
    status = _status(root)
    state = str(status.get("state") or "")
    if _cond_true(root, SUSPENDING_COND):
        return _raycluster_suspending(root, state, rules)
    if _cond_true(root, SUSPENDED_COND) or state == "suspended":
        return _raycluster_suspended(root, rules)
    if not status:
        return _reading(
            "raycluster/new",
            {INITIALIZING},
            _why(rules, RC_STATUS, "no status yet: not reconciled since creation"),
        )
    if state == "ready":
        return _raycluster_ready(root, status, rules)
    if state == "":
        return _raycluster_provisioning(root, rules)
    if state == "failed":
        return _reading(
            "raycluster/legacy-failed",
            {FAILED},
            _why(
                rules,
                RC_STATUS,
                "state 'failed' is deprecated and written by no pinned version; read as written",
            ),
        )
    return _unknown("raycluster", f"status.state {state!r}", rules, RC_STATUS)


def _raycluster_suspending(root: dict[str, Any], state: str, rules: Rules) -> Reading:
    allowed = {SUSPENDING}
    late: set[str] = set()
    fact = (
        "RayClusterSuspending=True: `reconcilePods` deletes every Pod, then RayClusterSuspended=True once none is "
        "left, whatever spec.suspend says by then (atomic suspend)"
    )
    if not _suspend_asked(root):
        allowed.add(RESUMING)
        fact += "; spec.suspend is false again, so a resume is pending"
    if state == "suspended":
        allowed.add(SUSPENDED)
        late.add(SUSPENDING)
        fact += "; state is already 'suspended' (no Pod left), the conditions follow next reconcile"
    name = "raycluster/suspending" if _suspend_asked(root) else "raycluster/suspending-resume-requested"
    return _reading(name, allowed, _why(rules, RC_STATUS, fact), late=late)


def _raycluster_suspended(root: dict[str, Any], rules: Rules) -> Reading:
    suspended_cond = _cond_status(root, SUSPENDED_COND)
    if _suspend_asked(root) and (suspended_cond == "True" or suspended_cond is None):
        return _reading(
            "raycluster/suspended",
            {SUSPENDED},
            _why(rules, RC_STATUS, "suspended: no Pod left (state 'suspended', RayClusterSuspended=True)"),
        )
    if suspended_cond == "True":
        return _reading(
            "raycluster/suspended-resume-requested",
            {SUSPENDED, RESUMING, INITIALIZING},
            _why(
                rules,
                RC_STATUS,
                "RayClusterSuspended=True but spec.suspend is false: the next reconcile sets it False and "
                "`reconcilePods` recreates the Pods",
            ),
            late={SUSPENDED},
        )
    return _reading(
        "raycluster/resuming",
        {RESUMING, INITIALIZING},
        _why(
            rules,
            RC_STATUS,
            "resumed (RayClusterSuspended=False): state stays 'suspended' until every Pod runs again and it "
            "becomes 'ready'",
        ),
    )


def _raycluster_ready(root: dict[str, Any], status: dict[str, Any], rules: Rules) -> Reading:
    if _cond_true(root, "ReplicaFailure"):
        return _reading(
            "raycluster/ready-replica-failure",
            {RUNNING, DEGRADED, FAILED},
            _why(
                rules,
                RC_STATUS,
                "state 'ready' is sticky; ReplicaFailure=True (a Pod create/delete failed, retried every "
                "reconcile, cleared on the next clean one)",
            ),
        )
    head_ready = _cond_status(root, "HeadPodReady")
    short = _int(status.get("readyWorkerReplicas")) < _int(status.get("desiredWorkerReplicas"))
    if head_ready not in (None, "True") or short:
        return _reading(
            "raycluster/ready-degraded",
            {RUNNING, DEGRADED},
            _why(
                rules,
                RC_STATUS,
                "state 'ready' is sticky (set once all Pods ran, never reset), but the head Pod is not ready "
                "or fewer workers are ready than desired",
            ),
        )
    return _reading(
        "raycluster/ready",
        {RUNNING},
        _why(rules, RC_STATUS, "state 'ready': all Pods (workers + head) running and ready"),
    )


def _raycluster_provisioning(root: dict[str, Any], rules: Rules) -> Reading:
    if _cond_true(root, "ReplicaFailure"):
        return _reading(
            "raycluster/provisioning-replica-failure",
            {INITIALIZING, FAILED},
            _why(
                rules,
                RC_STATUS,
                "not yet ready and ReplicaFailure=True (a Pod create/delete failed); KubeRay retries every "
                "reconcile, no state is terminal",
            ),
        )
    if _cond_true(root, "RayClusterProvisioned"):
        return _reading(
            "raycluster/provisioned",
            {INITIALIZING, RUNNING},
            _why(
                rules,
                RC_STATUS,
                "RayClusterProvisioned=True (every listed Pod ran and was ready) while state is not yet "
                "'ready' (the Pod count is not workers + head)",
            ),
        )
    return _reading(
        "raycluster/provisioning",
        {INITIALIZING},
        _why(rules, RC_STATUS, "state not yet 'ready': Pods are being created or started"),
    )


def _raycluster_suspend_requested(root: dict[str, Any], base: Reading, rules: Rules) -> Reading | None:
    suspend_family = base.state.startswith(("raycluster/suspending", "raycluster/suspended"))
    if not _suspend_asked(root) or suspend_family:
        return None
    return _suspend_requested(
        "raycluster",
        base,
        _why(
            rules,
            RC_STATUS,
            "spec.suspend is true and RayClusterSuspending is not yet True: the next reconcile sets it (and "
            "`reconcilePods` deletes the Pods the one after)",
        ),
    )


# --- RayJob -------------------------------------------------------------------------------------------
#
# rayjob_controller.go `Reconcile` is a state machine over status.jobDeploymentStatus:
#   "" (New) -> Initializing -> [Waiting ->] Running -> Complete | Failed
#   Initializing/Running --spec.suspend--> Suspending -> Suspended --!spec.suspend--> "" (New)
#   Failed with retries left -> Retrying (same reconcile) -> "" (New)
# `checkBackoffLimitAndUpdateStatusIfNeeded` runs in the very reconcile that writes Failed, so a Failed
# frame is final; a retry shows as Retrying. ValidationFailed exists from v1.5.1 on.

RJ_RECONCILE = f"{RJ} `Reconcile`"
TERMINAL_JOB_STATUSES = ("SUCCEEDED", "FAILED", "STOPPED")


def _read_rayjob(root: dict[str, Any], rules: Rules) -> Reading:
    base = _rayjob_base(root, rules)
    skips = _Skips(
        managed=f"{rules.label} {RJ_RECONCILE} returns before any reconcile (ManagedByExternalController)",
        deleting=f"{rules.label} {RJ_RECONCILE}: a RayJob being deleted only gets StopJob and its finalizer "
        "removed, no status update",
    )
    return _finish("rayjob", root, base, skips, _rayjob_suspend_requested(root, base, rules))


def _rayjob_base(root: dict[str, Any], rules: Rules) -> Reading:
    deployment = str(_status(root).get("jobDeploymentStatus") or "")
    if deployment == "ValidationFailed" and not rules.since(RAYJOB_VALIDATION_FAILED_SINCE):
        return _unknown("rayjob", "jobDeploymentStatus 'ValidationFailed'", rules, RJ_RECONCILE)
    handler = _RAYJOB_BY_DEPLOYMENT.get(deployment)
    if handler is None:
        return _unknown("rayjob", f"jobDeploymentStatus {deployment!r}", rules, RJ_RECONCILE)
    return handler(root, rules)


def _rayjob_new(root: dict[str, Any], rules: Rules) -> Reading:
    if _status(root).get("startTime"):
        return _reading(
            "rayjob/restarting",
            {INITIALIZING, RESUMING},
            _why(
                rules,
                RJ_RECONCILE,
                "jobDeploymentStatus '' with a startTime left by an earlier attempt: reset by a resume "
                "(Suspended -> New) or a retry (Retrying -> New); the next reconcile writes Initializing",
            ),
        )
    return _reading(
        "rayjob/new",
        {INITIALIZING},
        _why(
            rules,
            f"{RJ_RECONCILE}, `initRayJobStatusIfNeed`",
            "no deployment status yet; the first reconcile writes Initializing",
        ),
    )


def _rayjob_initializing(root: dict[str, Any], rules: Rules) -> Reading:
    return _reading(
        "rayjob/initializing",
        {INITIALIZING},
        _why(
            rules,
            RJ_RECONCILE,
            "Initializing: the RayCluster is created and awaited (state 'ready') before submission",
        ),
    )


def _rayjob_waiting(root: dict[str, Any], rules: Rules) -> Reading:
    return _reading(
        "rayjob/waiting",
        {INITIALIZING, RUNNING},
        _why(
            rules,
            RJ_RECONCILE,
            "Waiting (InteractiveMode): the RayCluster is ready and KubeRay waits for spec.jobId; the cluster "
            "runs, the job has not started; Waiting is never moved to Suspending",
        ),
    )


def _rayjob_running(root: dict[str, Any], rules: Rules) -> Reading:
    job_status = str(_status(root).get("jobStatus") or "")
    if job_status in ("", "PENDING"):
        return _reading(
            "rayjob/running-job-pending",
            {INITIALIZING, RUNNING},
            _why(
                rules,
                RJ_RECONCILE,
                f"Running with jobStatus {job_status or 'unset'!r}: submitted (or being submitted), the Ray "
                "job has not started yet",
            ),
        )
    if job_status == "RUNNING":
        return _reading(
            "rayjob/running", {RUNNING}, _why(rules, RJ_RECONCILE, "Running with jobStatus RUNNING")
        )
    if job_status in TERMINAL_JOB_STATUSES:
        return _rayjob_running_job_done(root, job_status, rules)
    return _unknown("rayjob", f"jobStatus {job_status!r} under Running", rules, RJ_RECONCILE)


def _rayjob_running_job_done(root: dict[str, Any], job_status: str, rules: Rules) -> Reading:
    """Running with a terminal jobStatus: with a submitter (K8sJobMode, SidecarMode) Complete/Failed waits
    for the submitter to finish (`Reconcile` case Running, `isJobTerminal && finishedAt != nil`; v1.3.2/
    v1.4.2 `IsJobFinished(job)`), or for the transition grace period (v1.4.2+)."""
    if job_status == "SUCCEEDED":
        state, truth, next_status = "rayjob/running-job-succeeded", {COMPLETED}, "Complete"
    elif job_status == "STOPPED":
        state, truth, next_status = (
            "rayjob/running-job-stopped",
            {COMPLETED, FAILED},
            "Complete (STOPPED is not success)",
        )
    elif _retries_left(root):
        state, truth, next_status = (
            "rayjob/running-job-failed-will-retry",
            {INITIALIZING},
            "Failed then Retrying in the same reconcile (retries left)",
        )
    else:
        state, truth, next_status = "rayjob/running-job-failed", {FAILED}, "Failed (no retry left)"
    if _spec(root).get("activeDeadlineSeconds") is not None:
        # `checkActiveDeadlineAndUpdateStatusIfNeeded` runs first in case Running: DeadlineExceeded, never retried
        truth = truth | {FAILED}
    return _reading(
        state,
        {RUNNING} | truth,
        _why(
            rules,
            f"{RJ_RECONCILE}, `checkBackoffLimitAndUpdateStatusIfNeeded`",
            f"jobStatus {job_status} while jobDeploymentStatus is still Running: the submitter has not finished, "
            f"KubeRay writes {next_status} when it has",
        ),
        late={RUNNING},
    )


def _retries_left(root: dict[str, Any]) -> bool:
    """Whether `checkBackoffLimitAndUpdateStatusIfNeeded` would turn the coming Failed into Retrying:
    spec.backoffLimit set and status.failed + 1 < backoffLimit + 1 (the reason will be AppFailed or the
    grace-period one, both retried)."""
    limit = _spec(root).get("backoffLimit")
    if not isinstance(limit, int) or isinstance(limit, bool):
        return False
    return _int(_status(root).get("failed")) + 1 < limit + 1


def _rayjob_complete(root: dict[str, Any], rules: Rules) -> Reading:
    if str(_status(root).get("jobStatus") or "") == "STOPPED":
        return _reading(
            "rayjob/complete-stopped",
            {COMPLETED, FAILED},
            _why(
                rules,
                RJ_RECONCILE,
                "Complete with jobStatus STOPPED: KubeRay files a stopped job as Complete (not Failed, not "
                "retried) though it did not succeed",
            ),
        )
    return _reading(
        "rayjob/complete",
        {COMPLETED},
        _why(
            rules,
            RJ_RECONCILE,
            "Complete: terminal, never left (case Complete/Failed only runs deletion policies)",
        ),
    )


def _rayjob_failed(root: dict[str, Any], rules: Rules) -> Reading:
    return _reading(
        "rayjob/failed",
        {FAILED},
        _why(
            rules,
            f"{RJ_RECONCILE}, `checkBackoffLimitAndUpdateStatusIfNeeded`",
            "Failed is final: a retry is decided in the reconcile that writes Failed and shows as Retrying "
            "instead; case Complete/Failed never calls the backoff check again",
        ),
    )


def _rayjob_validation_failed(root: dict[str, Any], rules: Rules) -> Reading:
    return _reading(
        "rayjob/validation-failed",
        {FAILED},
        _why(
            rules,
            f"{RJ_RECONCILE}, `validateRayJob`",
            "ValidationFailed: written when metadata/spec/status validation fails; no case of the state "
            "machine leaves it",
        ),
    )


def _rayjob_retrying(root: dict[str, Any], rules: Rules) -> Reading:
    return _reading(
        "rayjob/retrying",
        {INITIALIZING},
        _why(
            rules,
            f"{RJ_RECONCILE}, `checkBackoffLimitAndUpdateStatusIfNeeded`",
            "Retrying: an attempt failed with retries left; the cluster and submitter are deleted, then New "
            "and a fresh attempt (not terminal, whatever jobStatus says)",
        ),
    )


def _rayjob_suspending(root: dict[str, Any], rules: Rules) -> Reading:
    if _suspend_asked(root):
        return _reading(
            "rayjob/suspending",
            {SUSPENDING},
            _why(
                rules,
                RJ_RECONCILE,
                "Suspending: the RayCluster and submitter are being deleted, then Suspended",
            ),
        )
    return _reading(
        "rayjob/suspending-resume-requested",
        {SUSPENDING, RESUMING},
        _why(
            rules,
            RJ_RECONCILE,
            "Suspending with spec.suspend false again: the suspend completes atomically (Suspended), then "
            "the next reconcile resets to New",
        ),
    )


def _rayjob_suspended(root: dict[str, Any], rules: Rules) -> Reading:
    if _suspend_asked(root):
        return _reading(
            "rayjob/suspended",
            {SUSPENDED},
            _why(rules, RJ_RECONCILE, "Suspended: no RayCluster, no submitter"),
        )
    return _reading(
        "rayjob/suspended-resume-requested",
        {SUSPENDED, RESUMING, INITIALIZING},
        _why(
            rules,
            RJ_RECONCILE,
            "Suspended but spec.suspend is false: the next reconcile writes jobDeploymentStatus '' (New), then "
            "Initializing",
        ),
        late={SUSPENDED},
    )


_RAYJOB_BY_DEPLOYMENT: dict[str, Callable[[dict[str, Any], Rules], Reading]] = {
    "": _rayjob_new,
    "Initializing": _rayjob_initializing,
    "Waiting": _rayjob_waiting,
    "Running": _rayjob_running,
    "Complete": _rayjob_complete,
    "Failed": _rayjob_failed,
    "ValidationFailed": _rayjob_validation_failed,
    "Retrying": _rayjob_retrying,
    "Suspending": _rayjob_suspending,
    "Suspended": _rayjob_suspended,
}

# States from which spec.suspend leads to Suspending (`updateStatusToSuspendingIfNeeded` accepts
# Initializing and Running; New and Retrying reach Initializing first).
_RAYJOB_SUSPENDABLE = ("", "Initializing", "Running", "Retrying")


def _rayjob_suspend_requested(root: dict[str, Any], base: Reading, rules: Rules) -> Reading | None:
    deployment = str(_status(root).get("jobDeploymentStatus") or "")
    if not _suspend_asked(root) or deployment not in _RAYJOB_SUSPENDABLE:
        return None
    return _suspend_requested(
        "rayjob",
        base,
        _why(
            rules,
            f"{RJ_RECONCILE}, `updateStatusToSuspendingIfNeeded`",
            f"spec.suspend is true under jobDeploymentStatus {deployment!r}: Suspending is written from "
            "Initializing or Running (New and Retrying get there first)",
        ),
    )


# --- RayService ---------------------------------------------------------------------------------------
#
# rayservice_controller.go `calculateConditions` (v1.3.2+): Ready=True (NonZeroServeEndpoints) while the
# serve Service has endpoints, Ready=False ZeroServeEndpoints once they drop to 0 after being ready, Ready=
# False Initializing before; UpgradeInProgress=True while both an active and a pending cluster exist.
# Serve application statuses come from `reconcileServe` / `getAndCheckServeStatus` and do not move Ready.

RS_CONDITIONS = f"{RS} `calculateConditions`"
RS_SUSPEND = f"{RS} `handleSuspend`"
SERVE_APP_FAILURES = ("DEPLOY_FAILED", "UNHEALTHY")


def _read_rayservice(root: dict[str, Any], rules: Rules) -> Reading:
    base = _rayservice_base(root, rules)
    since = rules.since(RAYSERVICE_MANAGED_BY_SINCE)  # managedBy and the deletion finalizer came together
    skips = _Skips(
        managed=f"{rules.label} {RS} `Reconcile` returns before any reconcile (ManagedByExternalController)"
        if since
        else None,
        # before v1.6.2 `Reconcile` does not look at deletionTimestamp: a lingering object is reconciled as usual
        deleting=f"{rules.label} {RS} `Reconcile`: a RayService being deleted only waits for its RayClusters to "
        "go, then drops its finalizer, no status update"
        if since
        else None,
    )
    return _finish("rayservice", root, base, skips, _rayservice_suspend_requested(root, base, rules))


def _rayservice_base(root: dict[str, Any], rules: Rules) -> Reading:
    suspending, suspended = _cond_true(root, "Suspending"), _cond_true(root, "Suspended")
    if (suspending or suspended) and not rules.since(RAYSERVICE_SUSPEND_SINCE):
        return _unknown("rayservice", "a Suspending/Suspended condition", rules, RS_CONDITIONS)
    if suspending:
        return _rayservice_suspending(root, rules)
    if suspended:
        return _rayservice_suspended(root, rules)
    ready = condition(root, "Ready")
    if ready is None:
        if _status(root).get("conditions"):
            return _unknown("rayservice", "conditions without Ready", rules, RS_CONDITIONS)
        return _reading(
            "rayservice/new",
            {INITIALIZING},
            _why(
                rules,
                RS_CONDITIONS,
                "no conditions yet: not reconciled since creation (the finalizer comes first from v1.6.2)",
            ),
        )
    if ready.get("status") == "True":
        return _rayservice_ready(root, rules)
    if ready.get("status") != "False":
        return _unknown("rayservice", f"Ready status {ready.get('status')!r}", rules, RS_CONDITIONS)
    return _rayservice_not_ready(root, str(ready.get("reason") or ""), rules)


def _active_head_not_ready(root: dict[str, Any]) -> bool:
    """HeadPodReady present and not True on the active cluster's status (`calculateStatus` copies it)."""
    active = _status(root).get("activeServiceStatus")
    cluster = active.get("rayClusterStatus") if isinstance(active, dict) else None
    if not isinstance(cluster, dict):
        return False
    found = condition({"status": cluster}, "HeadPodReady")
    return found is not None and found.get("status") != "True"


def _rayservice_ready(root: dict[str, Any], rules: Rules) -> Reading:
    not_running = sorted(set(app_statuses(root).values()) - {"RUNNING"})
    if not_running or _active_head_not_ready(root):
        return _reading(
            "rayservice/ready-degraded",
            {RUNNING, DEGRADED},
            _why(
                rules,
                f"{RS_CONDITIONS}, `calculateStatus`, `getAndCheckServeStatus`",
                "Ready=True (serve endpoints > 0, the only thing Ready counts) while an active Serve application "
                f"is not RUNNING ({', '.join(not_running) or 'none'}) or the active cluster's head Pod is not ready",
            ),
        )
    if rules.since(RAYSERVICE_ROLLBACK_SINCE) and _cond_true(root, "RollbackInProgress"):
        return _reading(
            "rayservice/rolling-back",
            {RUNNING},
            _why(
                rules,
                f"{RS} `reconcileRollbackState`",
                "Ready=True and RollbackInProgress=True: an incremental upgrade is rolled back to the active "
                "cluster, which keeps serving",
            ),
        )
    if (
        _cond_true(root, "UpgradeInProgress")
        and rules.since(RAYSERVICE_INCREMENTAL_SINCE)
        and _incremental(root)
    ):
        return _reading(
            "rayservice/upgrading-incrementally",
            {RUNNING},
            _why(
                rules,
                f"{RS} `calculateStatus`, `calculateConditions`, `calculateTrafficRoutedPercent`",
                "Ready=True and UpgradeInProgress=True under NewClusterWithIncrementalUpgrade: both clusters "
                "serve through the HTTPRoute (the pending one's trafficRoutedPercent rising step by step, the "
                "active one keeping the rest), and Ready counts the serve endpoints of both",
            ),
        )
    if _cond_true(root, "UpgradeInProgress"):
        return _reading(
            "rayservice/upgrading",
            {RUNNING},
            _why(
                rules,
                RS_CONDITIONS,
                "Ready=True and UpgradeInProgress=True: the active cluster serves while a pending one is prepared",
            ),
        )
    return _reading(
        "rayservice/ready", {RUNNING}, _why(rules, RS_CONDITIONS, "Ready=True: serve endpoints > 0")
    )


def _rayservice_not_ready(root: dict[str, Any], reason: str, rules: Rules) -> Reading:
    if reason == "Initializing":
        return _rayservice_initializing(root, rules)
    if reason == "ZeroServeEndpoints":
        return _reading(
            "rayservice/zero-endpoints",
            {DEGRADED, FAILED},
            _why(
                rules,
                RS_CONDITIONS,
                "Ready=False ZeroServeEndpoints: it served, now no endpoint does; KubeRay keeps reconciling "
                "(not terminal)",
            ),
        )
    if reason == "InitializingTimeout" and rules.since(RAYSERVICE_INITIALIZING_TIMEOUT_SINCE):
        return _reading(
            "rayservice/initializing-timeout",
            {FAILED},
            _why(
                rules,
                f"{RS} `markFailedOnInitializingTimeout`, `Reconcile`",
                "Ready=False InitializingTimeout: terminal, the clusters are cleaned up and nothing else is "
                "reconciled until the RayService is recreated",
            ),
        )
    if reason == "ValidationFailed" and rules.since(RAYSERVICE_VALIDATION_FAILED_SINCE):
        return _rayservice_validation_failed(root, rules)
    return _unknown("rayservice", f"Ready=False reason {reason!r}", rules, RS_CONDITIONS)


def _rayservice_initializing(root: dict[str, Any], rules: Rules) -> Reading:
    reading = _rayservice_initializing_apps(root, rules)
    resumed = (
        _cond_status(root, "Suspended") == "False" and _cond_reason(root, "Suspended") == "RayServiceResumed"
    )
    if not (rules.since(RAYSERVICE_SUSPEND_SINCE) and resumed):
        return reading
    return _reading(
        "rayservice/resuming",
        reading.allowed | {RESUMING},
        _why(
            rules,
            RS_SUSPEND,
            "Suspended=False RayServiceResumed with Ready=False Initializing: resumed, not serving yet; "
            f"apart from the resume it reads as {reading.state} ({reading.why})",
        ),
        late=reading.late,
    )


def _rayservice_initializing_apps(root: dict[str, Any], rules: Rules) -> Reading:
    active = app_statuses(root)
    every = [*active.values(), *app_statuses(root, "pendingServiceStatus").values()]
    if any(status in SERVE_APP_FAILURES for status in every):
        return _reading(
            "rayservice/initializing-app-failed",
            {INITIALIZING, FAILED},
            _why(
                rules,
                f"{RS_CONDITIONS}, `getAndCheckServeStatus`",
                "Ready=False Initializing while a Serve application is DEPLOY_FAILED or UNHEALTHY; KubeRay "
                "waits (resubmits only on a config change), no condition is terminal",
            ),
        )
    if active and all(status == "RUNNING" for status in active.values()):
        return _reading(
            "rayservice/initializing-apps-running",
            {INITIALIZING, RUNNING},
            _why(
                rules,
                f"{RS} `calculateStatus`, `calculateConditions`",
                "the pending cluster was promoted with every application RUNNING, but Ready counts serve "
                "endpoints, which appear a reconcile later",
            ),
            late={INITIALIZING},
        )
    return _reading(
        "rayservice/initializing",
        {INITIALIZING},
        _why(rules, RS_CONDITIONS, "Ready=False Initializing: no serve endpoint yet"),
    )


def _rayservice_validation_failed(root: dict[str, Any], rules: Rules) -> Reading:
    metadata = root.get("metadata")
    generation = _int(metadata.get("generation")) if isinstance(metadata, dict) else 0
    observed = _int(_status(root).get("observedGeneration"))
    if observed and observed == generation:
        return _reading(
            "rayservice/validation-failed-stale",
            {INITIALIZING, FAILED},
            _why(
                rules,
                f"{RS} `Reconcile`, `calculateStatus`",
                "Ready=False ValidationFailed, but observedGeneration = generation: the current spec passed "
                "validation (a failed one leaves observedGeneration behind) and Ready keeps the old reason "
                "until endpoints appear",
            ),
        )
    allowed = {FAILED}
    if _int(_status(root).get("numServeEndpoints")) > 0:
        allowed.add(DEGRADED)
    return _reading(
        "rayservice/validation-failed",
        allowed,
        _why(
            rules,
            f"{RS} `Reconcile`, `validateRayService`",
            "Ready=False ValidationFailed: the spec is rejected every reconcile and nothing is reconciled "
            "(an earlier cluster may still serve)",
        ),
    )


def _rayservice_suspending(root: dict[str, Any], rules: Rules) -> Reading:
    if _suspend_asked(root):
        return _reading(
            "rayservice/suspending",
            {SUSPENDING},
            _why(
                rules,
                RS_SUSPEND,
                "Suspending=True: owned RayClusters, Services, Gateway and HTTPRoute are deleted, then Suspended",
            ),
        )
    return _reading(
        "rayservice/suspending-resume-requested",
        {SUSPENDING, RESUMING},
        _why(
            rules,
            RS_SUSPEND,
            "Suspending=True with spec.suspend false again: the suspend completes atomically, then resumes",
        ),
    )


def _rayservice_suspended(root: dict[str, Any], rules: Rules) -> Reading:
    if _suspend_asked(root):
        return _reading(
            "rayservice/suspended",
            {SUSPENDED},
            _why(rules, RS_SUSPEND, "Suspended=True: every owned resource is deleted"),
        )
    return _reading(
        "rayservice/suspended-resume-requested",
        {SUSPENDED, RESUMING, INITIALIZING},
        _why(
            rules,
            RS_SUSPEND,
            "Suspended=True but spec.suspend is false: the next reconcile writes Suspended=False "
            "RayServiceResumed and Ready=False Initializing",
        ),
        late={SUSPENDED},
    )


def _rayservice_suspend_requested(root: dict[str, Any], base: Reading, rules: Rules) -> Reading | None:
    suspend_family = base.state.startswith(("rayservice/suspending", "rayservice/suspended"))
    if not rules.since(RAYSERVICE_SUSPEND_SINCE) or not _suspend_asked(root) or suspend_family:
        return None
    return _suspend_requested(
        "rayservice",
        base,
        _why(
            rules,
            RS_SUSPEND,
            "spec.suspend is true and Suspending is not yet True: the next reconcile commits Suspending=True "
            "(and resets the service statuses), deletion follows",
        ),
    )


# --- RayService incremental upgrade: the traffic and capacity steps --------------------------------------
#
# Under upgradeStrategy NewClusterWithIncrementalUpgrade (v1.7.0 rayservice_controller.go) every reconcile of
# an upgrade runs, in this order: `reconcileServe` of the pending cluster, then of the active one, each
# calling `reconcileServeTargetCapacity` when `checkIfNeedTargetCapacityUpdate` holds (both clusters named,
# the Gateway Accepted and Programmed, the HTTPRoute Accepted with ResolvedRefs, the head Pod ready);
# `reconcileHTTPRoute`, whose weights come from `calculateTrafficRoutedPercent`; then `calculateStatus`, which
# reads the weights back into trafficRoutedPercent (`utils.GetWeightsFromHTTPRoute`) and promotes the pending
# cluster once the upgrade is complete (`reconcilePromotionAndServingStatus`,
# `utils.IsIncrementalUpgradeComplete`). The status is written once, at the end.


@dataclass(frozen=True)
class Traffic:
    """An incremental upgrade's four status numbers: ``targetCapacity`` and ``trafficRoutedPercent`` of
    ``activeServiceStatus`` and of ``pendingServiceStatus`` (None: not written)."""

    active_capacity: int | None
    active_routed: int | None
    pending_capacity: int | None
    pending_routed: int | None

    def __str__(self) -> str:
        def shown(value: int | None) -> str:
            return "-" if value is None else str(value)

        return (
            f"active {shown(self.active_capacity)}/{shown(self.active_routed)} %, "
            f"pending {shown(self.pending_capacity)}/{shown(self.pending_routed)} % (capacity/traffic)"
        )


def _incremental(root: Mapping[str, Any]) -> bool:
    strategy = _spec(root).get("upgradeStrategy")
    return isinstance(strategy, dict) and strategy.get("type") == INCREMENTAL


def traffic(root: Mapping[str, Any]) -> Traffic:
    """The :class:`Traffic` a RayService's status shows."""

    def number(which: str, field: str) -> int | None:
        found = _status(root).get(which)
        value = found.get(field) if isinstance(found, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Traffic(
        number("activeServiceStatus", "targetCapacity"),
        number("activeServiceStatus", "trafficRoutedPercent"),
        number("pendingServiceStatus", "targetCapacity"),
        number("pendingServiceStatus", "trafficRoutedPercent"),
    )


SERVING = Traffic(100, 100, None, None)  # one cluster with all the capacity and all the traffic
# The RayService's first cluster, before any upgrade: nothing written yet; the cluster named pending with
# capacity 100 (`calculateStatus`, `shouldPrepareNewCluster` with no active cluster); promoted as soon as it
# serves, before any HTTPRoute (`createHTTPRoute` makes none without an active cluster), so with no traffic
# number until the next reconcile makes the HTTPRoute (the active weight 100) and reads it back: `SERVING`.
FIRST_CLUSTER = (
    Traffic(None, None, None, None),
    Traffic(None, None, 100, None),
    Traffic(100, None, None, None),
)


def _capacity_step(now: Traffic, max_surge: int) -> Traffic:
    """`reconcileServeTargetCapacity`, pending cluster first, then the active one, in one reconcile: nothing
    while the pending cluster's traffic has not caught up with its capacity; else the pending capacity
    rises by maxSurgePercent while the two sum to 100 at most, or the active one falls by it. Nothing once
    the active capacity is 0 and the pending one 100 (`checkIfNeedTargetCapacityUpdate`)."""
    active, pending = now.active_capacity or 0, now.pending_capacity or 0
    if now.pending_routed is None or pending != now.pending_routed or (active, pending) == (0, 100):
        return now
    if active + pending <= 100:
        return Traffic(active, now.active_routed, min(100, pending + max_surge), now.pending_routed)
    return Traffic(max(0, active - max_surge), now.active_routed, pending, now.pending_routed)


def _traffic_step(now: Traffic, step: int) -> Traffic:
    """`calculateTrafficRoutedPercent` once intervalSeconds passed since the pending cluster's
    lastTrafficMigratedTime and its Serve applications are RUNNING: its weight rises by stepSizePercent,
    capped by its target capacity; the active weight is the rest."""
    routed, capacity = now.pending_routed or 0, now.pending_capacity or 0
    if routed == capacity:
        return now
    moved = min(100, routed + step, capacity)
    return Traffic(now.active_capacity, 100 - moved, now.pending_capacity, moved)


def incremental_traffic(max_surge: int, step: int) -> frozenset[Traffic]:
    """Every :class:`Traffic` a RayService's status can show under NewClusterWithIncrementalUpgrade with
    these ``clusterUpgradeOptions`` (maxSurgePercent, stepSizePercent), under KubeRay v1.7.0: its first
    cluster coming up (`FIRST_CLUSTER`), then serving alone (`SERVING`), then through an upgrade to the
    promotion of the new cluster (`SERVING` again):

    - `calculateStatus` / `shouldPrepareNewCluster`: the pending cluster named with targetCapacity 0 and no
      trafficRoutedPercent yet (the RayCluster is made on the next reconcile);
    - the reconcile that makes it lists it in the HTTPRoute at weight 0: its trafficRoutedPercent 0;
    - from then each reconcile may take a capacity step (when the Gateway and HTTPRoute are ready) and a
      traffic step (when the interval passed and the pending applications run), in that order, or neither;
    - once the active capacity is 0 and the pending cluster has 100 % of the traffic, `calculateStatus`
      promotes it in the same reconcile (the pending status becomes the active one: `SERVING`); that
      reconcile's frame can still show the unpromoted numbers when neither cluster's applications were
      RUNNING then (the Services, and so the promotion, are reconciled only for a ready cluster).

    Rollbacks (a spec changed back mid-upgrade) are ``incremental_rollback_traffic``."""
    if not (0 <= step <= 100 and 0 <= max_surge <= 100):
        raise ValueError(f"stepSizePercent {step} and maxSurgePercent {max_surge} must be between 0 and 100")
    started = Traffic(100, 100, 0, None)
    seen = {*FIRST_CLUSTER, SERVING, started}
    todo = [started]
    while todo:
        now = todo.pop()
        if now.pending_routed is None:
            following = {Traffic(now.active_capacity, now.active_routed, now.pending_capacity, 0)}
        else:
            following = set()
            for stepped in (now, _capacity_step(now, max_surge)):
                for moved in (stepped, _traffic_step(stepped, step)):
                    following.add(moved)
                    if moved.active_capacity == 0 and moved.pending_routed == 100:
                        following.add(SERVING)
        for state in following - seen:
            seen.add(state)
            todo.append(state)
    return frozenset(seen)


# A rollback (v1.7.0 rayservice_controller.go): while UpgradeInProgress is True and both RayClusters exist,
# `reconcileRollbackState` sets RollbackInProgress=True (reason `ROLLBACK_REASON`) once the RayService's
# rayClusterConfig hashes as the active cluster's again (or as neither cluster's); the same reconcile order
# then runs the other way: capacity back to the active cluster, traffic after it, no promotion
# (`reconcilePromotionAndServingStatus`), no new pending cluster (`shouldPrepareNewCluster`).
ROLLBACK_REASON = (
    "DesiredClusterSpecChanged"  # v1.7.0 `reconcileRollbackState` (v1.6.x: TargetClusterChanged)
)


def _rollback_capacity_steps(now: Traffic, max_surge: int) -> set[Traffic]:
    """`reconcileServeTargetCapacity` under RollbackInProgress, the pending cluster's call first (only while
    its head is ready: `reconcileServe`), then the active one's, in one reconcile: nothing while the active
    cluster's traffic has not caught up with its capacity; else the pending capacity falls by
    maxSurgePercent while the two sum to more than 100, and then the active one rises by it while they sum
    to 100 at most. Nothing once the active capacity is 100 and the pending one 0
    (`checkIfNeedTargetCapacityUpdate`). Every subset of the two calls (either may be skipped)."""
    active = 100 if now.active_capacity is None else now.active_capacity
    pending = now.pending_capacity or 0
    if (active, pending) == (100, 0) or active != (now.active_routed or 0):
        return {now}

    def pending_call(active: int, pending: int) -> tuple[int, int]:
        return (active, max(0, pending - max_surge)) if active + pending > 100 else (active, pending)

    def active_call(active: int, pending: int) -> tuple[int, int]:
        return (min(100, active + max_surge), pending) if active + pending <= 100 else (active, pending)

    ways = {(active, pending), pending_call(active, pending), active_call(active, pending)}
    ways.add(active_call(*pending_call(active, pending)))
    return {Traffic(a, now.active_routed, p, now.pending_routed) for a, p in ways}


def _rollback_traffic_step(now: Traffic, step: int) -> Traffic:
    """`calculateTrafficRoutedPercent` under RollbackInProgress, once intervalSeconds passed since the
    ACTIVE cluster's lastTrafficMigratedTime (whatever the pending applications do): the active weight
    rises by stepSizePercent, capped by the active target capacity; the pending weight is the rest. Nothing
    while the active weight equals the active capacity."""
    routed = 100 if now.active_routed is None else now.active_routed
    capacity = 100 if now.active_capacity is None else now.active_capacity
    if routed == capacity:
        return now
    moved = min(100, routed + step, capacity)
    return Traffic(now.active_capacity, moved, now.pending_capacity, 100 - moved)


def incremental_rollback_traffic(max_surge: int, step: int) -> frozenset[Traffic]:
    """Every :class:`Traffic` a RayService's status can show while an incremental upgrade with these
    ``clusterUpgradeOptions`` is rolled back, under KubeRay v1.7.0: from any split of the upgrade with both
    clusters named (``incremental_traffic``) at the moment RollbackInProgress is set, through
    `_rollback_capacity_steps` and `_rollback_traffic_step` (in that order each reconcile, or neither), to
    the end: `calculateStatus` / `shouldCompleteIncrementalRollback` clears the pending status once the
    active cluster is back at 100/100 and the pending one at 0/0 (or its head is not ready, whatever its
    numbers), removes RollbackInProgress and sets UpgradeInProgress=False/NoPendingCluster: `SERVING`,
    the pending RayCluster left to `cleanUpRayClusterInstance` (deleted rayClusterDeletionDelaySeconds
    later)."""
    started = {
        t
        for t in incremental_traffic(max_surge, step)
        if t.active_capacity is not None and t.pending_capacity is not None
    }
    seen, todo = {*started, SERVING}, list(started)
    while todo:
        now = todo.pop()
        if now.pending_routed is None:  # the HTTPRoute lists the pending cluster at its weight, 0 so far
            following = {Traffic(now.active_capacity, now.active_routed, now.pending_capacity, 0)}
        else:
            following = set()
            for stepped in _rollback_capacity_steps(now, max_surge):
                following |= {stepped, _rollback_traffic_step(stepped, step)}
        for state in following - seen:
            seen.add(state)
            todo.append(state)
    return frozenset(seen)


def traffic_steps(max_surge: int, step: int) -> tuple[int, ...]:
    """The pending cluster's trafficRoutedPercent values an incremental upgrade passes through, in order."""
    return tuple(
        sorted(
            {t.pending_routed for t in incremental_traffic(max_surge, step) if t.pending_routed is not None}
        )
    )


# --- RayCronJob -----------------------------------------------------------------------------------------

RCJ = "controllers/ray/raycronjob_controller.go `Reconcile`"
RAYCRONJOB_SINCE = "v1.6.2"  # the RayCronJob kind (feature gate RayCronJob)


def _read_raycronjob(root: dict[str, Any], rules: Rules) -> Reading:
    """A RayCronJob's only status is ``lastScheduleTime``; ``spec.suspend`` stops new RayJobs at once (the
    controller returns before scheduling, and leaves the RayJobs it made alone). A schedule that has made no
    RayJob yet is initializing; one that has is running; a suspended one is suspended."""
    if not rules.since(RAYCRONJOB_SINCE):
        return _unknown("raycronjob", "a RayCronJob", rules, RCJ)
    if _suspend_asked(root):
        return _reading(
            "raycronjob/suspended",
            {SUSPENDED},
            _why(
                rules,
                RCJ,
                "spec.suspend: no RayJob is made (event SuspendedRayCronJob), the made ones run on",
            ),
        )
    if _status(root).get("lastScheduleTime"):
        return _reading(
            "raycronjob/scheduling",
            {RUNNING},
            _why(rules, RCJ, "lastScheduleTime set: a tick's RayJob was made, and the next is scheduled"),
        )
    return _reading(
        "raycronjob/new",
        {INITIALIZING},
        _why(rules, RCJ, "no lastScheduleTime: the first tick has not come (no RayJob made yet)"),
    )


_READERS: dict[str, Callable[[dict[str, Any], Rules], Reading]] = {
    "RayCluster": _read_raycluster,
    "RayJob": _read_rayjob,
    "RayService": _read_rayservice,
    "RayCronJob": _read_raycronjob,
}
