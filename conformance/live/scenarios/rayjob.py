"""RayJob scenarios: a Ray job submitted, run to its end, suspended, retried, timed out, cleaned up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.backends.base import Capability
from conformance.errors import EnvironmentProblem
from conformance.live.scenarios.context import (
    ScenarioFailed,
)
from conformance.live.scenarios.language import LONG, MEDIUM, Ref, Script, Timeout, expect, scenario
from conformance.live.scenarios.legacy import (
    FT_FINALIZER,
    INTERACTIVE_JOB,
    MULTIKUEUE,
    REDIS_ADDRESS,
    SIDECAR,
    _final_cluster_settled,
    _live_pods,
    _redis_cleanup,
    _running,
    _spec_suspend,
    _start_redis,
    job_succeeded,
    start_rayjob,
)
from conformance.live.scenarios.probes import RAYCLUSTER, RAYJOB, job_deployment, job_ended
from conformance.snapshot import Expectation


def rayjob_manifest(s: Script, name: str | None = None, **spec: Any) -> dict[str, Any]:
    """The RayJob fixture, renamed to ``name``, ``spec`` merged into its spec (a value of None removes
    that field)."""
    manifest = s.manifest("RayJob")
    if name is not None:
        manifest["metadata"]["name"] = name
    for key, value in spec.items():
        if value is None:
            manifest["spec"].pop(key, None)
        else:
            manifest["spec"][key] = value
    return manifest


def succeeded(s: Script, phase: str) -> Callable[[dict[str, Any]], None]:
    """A check of an ended RayJob's status: its Ray job SUCCEEDED, else the phase fails with its end."""

    def check(status: dict[str, Any]) -> None:
        if status.get("jobStatus") != "SUCCEEDED":
            raise s.fail(
                phase,
                f"the Ray job ended {status.get('jobDeploymentStatus')}/{status.get('jobStatus')}: "
                f"{status.get('message', '')}",
            )

    return check


def running_then_succeeded(
    s: Script,
    job: Ref,
    timeout: Timeout = LONG,
    at_running: Callable[[str], None] = lambda cluster: None,
) -> None:
    """RayJob ``job``: jobDeploymentStatus Running (``at_running(its cluster)``, a scenario's own check,
    raising ScenarioFailed), then its Ray job SUCCEEDED."""
    cluster: list[str] = []

    def on_running(status: dict[str, Any]) -> None:
        cluster.append(str(status.get("rayClusterName", "")))
        at_running(cluster[0])

    s.phase(
        "running",
        until=job_deployment(job.name, "Running"),
        check=on_running,
        expect=lambda status: expect("running", owners=[status.get("rayClusterName", "")], stable=False),
        timeout=timeout,
    )
    s.phase(
        "succeeded",
        until=job_ended(job.name),
        check=succeeded(s, "succeeded"),
        expect=expect("completed", owners=cluster),
        timeout=LONG,
    )


@scenario("rayjob", root="RayJob", drives=["submission-mode-k8sjob"], default=True)
def rayjob(s: Script) -> None:
    """create -> running -> succeeded, with a real Ray job on the head (the submitter Job runs it)."""
    job = s.create(rayjob_manifest(s, submissionMode="K8sJobMode"), neighbour=True)
    running_then_succeeded(s, job)


@scenario("rayjob-httpmode", root="RayJob", drives=["submission-mode-http"], default=True)
def rayjob_httpmode(s: Script) -> None:
    """create -> running -> succeeded, the job submitted by the operator over HTTP (no submitter Job)."""
    job = s.create(rayjob_manifest(s, submissionMode="HTTPMode"), neighbour=True)
    running_then_succeeded(s, job)


# --- scenarios not yet written in the phase language ---------------------------------------------


@scenario(
    "rayjob-suspend",
    root="RayJob",
    drives=["rayjob-suspend"],
)
def rayjob_suspend(s: Script) -> None:
    """Created suspended (no RayCluster, no submitter) -> resumed -> running -> suspended again
    (its RayCluster and submitter Job deleted)."""
    ctx = s.ctx
    scenario = "rayjob-suspend"
    name, root, snapshots = start_rayjob(
        ctx,
        scenario,
        "suspend-rayjob",
        suspend=True,
        # KubeRay refuses to suspend a RayJob that keeps its cluster (ValidationFailed otherwise).
        shutdownAfterJobFinishes=True,
        # A job that runs long enough to be suspended while Running.
        entrypoint='python -c "import time; time.sleep(600)"',
    )

    def status() -> dict[str, Any]:
        return ((ctx.get(*RAYJOB, name) or {}).get("status")) or {}

    def owned_clusters() -> list[dict[str, Any]]:
        return [
            c
            for c in ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace)
            if any(r.get("kind") == "RayJob" for r in c["metadata"].get("ownerReferences") or [])
        ]

    def suspended() -> dict[str, Any] | None:
        current = status()
        return current if current.get("jobDeploymentStatus") == "Suspended" and not owned_clusters() else None

    ctx.wait(
        scenario, "suspended-at-creation", "jobDeploymentStatus Suspended, no RayCluster", suspended, 120
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "suspended-at-creation",
            root,
            Expectation(
                statuses=["suspended"],
                made_by=_spec_suspend("suspend"),
            ),
        )
    )

    ctx.kube.patch_merge(*RAYJOB, name, ctx.namespace, {"spec": {"suspend": False}})

    def running() -> dict[str, Any] | None:
        current = status()
        cluster = current.get("rayClusterName", "")
        return (
            current
            if current.get("jobDeploymentStatus") == "Running" and cluster and ctx.cluster_ready(cluster)
            else None
        )

    now = ctx.wait(scenario, "running", "jobDeploymentStatus Running on a ready cluster", running, 240)
    cluster = str(now.get("rayClusterName", ""))
    snapshots.append(
        ctx.snap(
            scenario,
            "running",
            root,
            Expectation(
                statuses=["running"],
                stable=False,
                current_owners=[cluster],
                made_by=_spec_suspend("resume"),
            ),
        )
    )

    ctx.kube.patch_merge(*RAYJOB, name, ctx.namespace, {"spec": {"suspend": True}})

    def suspended_again() -> dict[str, Any] | None:
        found = suspended()
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}")
        jobs = [
            j
            for j in ctx.kube.list_objects("batch/v1", "Job", ctx.namespace)
            if any(r.get("kind") == "RayJob" for r in j["metadata"].get("ownerReferences") or [])
        ]
        return found if found and not pods and not jobs else None

    ctx.wait(
        scenario,
        "suspended",
        "Suspended again, the RayCluster, its Pods and the submitter Job gone",
        suspended_again,
        180,
    )
    snapshots.append(
        ctx.snap(
            scenario,
            "suspended",
            root,
            Expectation(
                statuses=["suspended"],
                made_by=_spec_suspend("suspend"),
            ),
        )
    )


@scenario(
    "rayjob-delete-workers",
    root="RayJob",
    drives=["rayjob-deletion-strategy"],
)
def rayjob_delete_workers(s: Script) -> None:
    """deletionStrategy onSuccess DeleteWorkers: created -> succeeded -> the operator suspends every worker
    group of the RayJob's RayCluster (its worker Pods deleted, the head kept)."""
    ctx = s.ctx
    scenario = "rayjob-delete-workers"
    name, root, snapshots = start_rayjob(
        ctx,
        scenario,
        "deleteworkers-rayjob",
        deletionStrategy={"onSuccess": {"policy": "DeleteWorkers"}, "onFailure": {"policy": "DeleteNone"}},
    )

    final = job_succeeded(ctx, scenario, name)
    cluster = str(final.get("rayClusterName", ""))

    def workers_gone() -> dict[str, Any] | None:
        found = ctx.get(*RAYCLUSTER, cluster) or {}
        groups = (found.get("spec") or {}).get("workerGroupSpecs") or []
        workers = ctx.kube.list_objects(
            "v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster},ray.io/node-type=worker"
        )
        heads = _running(_live_pods(ctx, f"ray.io/cluster={cluster},ray.io/node-type=head"))
        suspended = bool(groups) and all(g.get("suspend") is True for g in groups)
        return found if suspended and not workers and heads else None

    ctx.wait(
        scenario,
        "workers-deleted",
        f"every worker group of {cluster} suspended, its worker Pods gone",
        workers_gone,
        180,
    )
    snapshots.append(
        ctx.snap(
            scenario, "workers-deleted", root, Expectation(statuses=["completed"], current_owners=[cluster])
        )
    )


@scenario(
    "rayjob-shutdown-after-finishes",
    root="RayJob",
    drives=["rayjob-shutdown-after-finishes"],
)
def rayjob_shutdown_after_finishes(s: Script) -> None:
    """shutdownAfterJobFinishes with ttlSecondsAfterFinished 0: created -> the job succeeds -> the
    operator deletes the RayJob's RayCluster (and so its Pods); the RayJob stays, Complete, with only
    its submitter Job (K8sJobMode) below it."""
    ctx = s.ctx
    scenario = "rayjob-shutdown-after-finishes"
    name, root, snapshots = start_rayjob(
        ctx, scenario, "shutdown-rayjob", shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=0
    )

    final = job_succeeded(ctx, scenario, name)
    cluster = str(final.get("rayClusterName", ""))

    def cluster_gone() -> dict[str, Any] | None:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}")
        job = ctx.get(*RAYJOB, name) or {}
        done = (job.get("status") or {}).get("jobDeploymentStatus") == "Complete"
        return job if done and ctx.get(*RAYCLUSTER, cluster) is None and not pods else None

    ctx.wait(scenario, "cluster-deleted", f"RayCluster {cluster} and its Pods deleted", cluster_gone, 180)
    snapshots.append(ctx.snap(scenario, "cluster-deleted", root, Expectation(statuses=["completed"])))


@scenario(
    "rayjob-cluster-selector",
    root="RayJob",
    drives=["rayjob-cluster-selector"],
)
def rayjob_cluster_selector(s: Script) -> None:
    """A RayJob on an existing RayCluster (spec.clusterSelector, no rayClusterSpec): the standalone
    RayCluster ready -> the RayJob created -> the job succeeds on that cluster. The RayJob owns no
    RayCluster and no Ray Pods (K8sJobMode: only the submitter Job and its Pod)."""
    ctx = s.ctx
    scenario = "rayjob-cluster-selector"
    cluster = ctx.manifest("RayCluster")
    cluster_name = "selected-raycluster"
    cluster["metadata"]["name"] = cluster_name
    ctx.kube.create(cluster, ctx.namespace)  # a real head (the job runs on it); on local, kwok workers
    ctx.wait(
        scenario,
        "created",
        f"the standalone RayCluster {cluster_name} ready",
        lambda: ctx.cluster_ready(cluster_name) or None,
        240,
    )
    name, root, snapshots = start_rayjob(
        ctx,
        scenario,
        "selector-rayjob",
        neighbour=False,  # the standalone RayCluster stands beside it
        rayClusterSpec=None,
        # KubeRay takes the cluster's name from this key (an empty or absent one is InvalidRayJobSpec)
        clusterSelector={"ray.io/cluster": cluster_name},
    )

    final = job_succeeded(ctx, scenario, name)
    if final.get("rayClusterName") != cluster_name:
        raise ScenarioFailed(
            scenario, "succeeded", f"the job ran on {final.get('rayClusterName')!r}, not on {cluster_name!r}"
        )
    if ctx.get(*RAYCLUSTER, cluster_name) is None:
        raise ScenarioFailed(scenario, "succeeded", f"the selected RayCluster {cluster_name} is gone")
    snapshots.append(ctx.snap(scenario, "succeeded", root, Expectation(statuses=["completed"])))


@scenario(
    "rayjob-backoff-limit",
    root="RayJob",
    drives=["rayjob-backoff-limit"],
)
def rayjob_backoff_limit(s: Script) -> None:
    """backoffLimit 1 and an entrypoint that fails (after 20 s, so each attempt is seen Running): created ->
    retried (the first attempt failed; the operator deleted its RayCluster and runs the job again on a new
    one) -> failed (the second attempt failed too: jobDeploymentStatus Failed, the last RayCluster kept)."""
    ctx = s.ctx
    scenario = "rayjob-backoff-limit"
    name, root, snapshots = start_rayjob(
        ctx,
        scenario,
        "backoff-rayjob",
        entrypoint='python -c "import sys, time; time.sleep(20); sys.exit(3)"',
        backoffLimit=1,
    )

    def status() -> dict[str, Any]:
        return (ctx.get(*RAYJOB, name) or {}).get("status") or {}

    first = ctx.wait(
        scenario,
        "retried",
        "the first attempt running on its RayCluster",
        lambda: status().get("rayClusterName") if status().get("jobDeploymentStatus") == "Running" else None,
        300,
    )

    def again() -> dict[str, Any] | None:
        current = status()
        cluster = current.get("rayClusterName")
        if int(current.get("failed") or 0) < 1 or not cluster or cluster == first:
            return None
        if current.get("jobDeploymentStatus") != "Running" or ctx.get(*RAYCLUSTER, first) is not None:
            return None
        return current

    retried = ctx.wait(
        scenario,
        "retried",
        f"a failed attempt, {first} deleted, the job Running on a new RayCluster",
        again,
        300,
    )
    second = str(retried["rayClusterName"])
    snapshots.append(
        ctx.snap(
            scenario,
            "retried",
            root,
            Expectation(statuses=["running"], stable=False, current_owners=[second]),
        )
    )

    def failed() -> dict[str, Any] | None:
        current = status()
        return current if current.get("jobDeploymentStatus") == "Failed" else None

    final = ctx.wait(scenario, "failed", "jobDeploymentStatus Failed (backoffLimit reached)", failed, 300)
    if int(final.get("failed") or 0) != 2 or final.get("rayClusterName") != second:
        raise ScenarioFailed(scenario, "failed", f"expected 2 failed attempts, the last on {second}: {final}")
    _final_cluster_settled(ctx, scenario, "failed", second)
    snapshots.append(
        ctx.snap(scenario, "failed", root, Expectation(statuses=["failed"], current_owners=[second]))
    )


@scenario(
    "rayjob-active-deadline",
    root="RayJob",
    drives=["rayjob-active-deadline"],
)
def rayjob_active_deadline(s: Script) -> None:
    """activeDeadlineSeconds 45 and a job that would run for 10 minutes: created -> deadline-exceeded
    (jobDeploymentStatus Failed, reason DeadlineExceeded; the RayCluster kept, as shutdownAfterJobFinishes
    is false)."""
    ctx = s.ctx
    scenario = "rayjob-active-deadline"
    name, root, snapshots = start_rayjob(
        ctx,
        scenario,
        "deadline-rayjob",
        entrypoint='python -c "import time; time.sleep(600)"',
        activeDeadlineSeconds=45,
    )

    def exceeded() -> dict[str, Any] | None:
        current = (ctx.get(*RAYJOB, name) or {}).get("status") or {}
        return current if current.get("jobDeploymentStatus") == "Failed" else None

    final = ctx.wait(scenario, "deadline-exceeded", "jobDeploymentStatus Failed", exceeded, 240)
    if final.get("reason") != "DeadlineExceeded":
        raise ScenarioFailed(scenario, "deadline-exceeded", f"failed, but not for the deadline: {final}")
    cluster = str(final.get("rayClusterName", ""))
    _final_cluster_settled(ctx, scenario, "deadline-exceeded", cluster)
    snapshots.append(
        ctx.snap(
            scenario, "deadline-exceeded", root, Expectation(statuses=["failed"], current_owners=[cluster])
        )
    )


@scenario(
    "rayjob-redis-cleanup",
    root="RayJob",
    drives=["gcs-ft-redis-cleanup-below-root"],
)
def rayjob_redis_cleanup(s: Script) -> None:
    """A RayJob whose cluster has GCS fault tolerance, with shutdownAfterJobFinishes: created -> running
    -> the job succeeds and the operator deletes the RayCluster: its Ray Pods go, and its redis-cleanup
    Job's Pod comes, a batch Job's Pod under the RayJob beside the submitter's (snapshot redis-cleanup,
    the cluster held by the harness's finalizer until taken)."""
    ctx = s.ctx
    scenario = "rayjob-redis-cleanup"
    _start_redis(ctx, scenario)
    cluster_spec = ctx.manifest("RayJob")["spec"]["rayClusterSpec"]
    cluster_spec["gcsFaultToleranceOptions"] = {"redisAddress": REDIS_ADDRESS}
    name, root, snapshots = start_rayjob(
        ctx,
        scenario,
        "ft-rayjob",
        shutdownAfterJobFinishes=True,
        ttlSecondsAfterFinished=0,
        rayClusterSpec=cluster_spec,
    )

    def ft_cluster() -> str | None:
        cluster = str(((ctx.get(*RAYJOB, name) or {}).get("status") or {}).get("rayClusterName") or "")
        found = ctx.get(*RAYCLUSTER, cluster) if cluster else None
        return cluster if found and FT_FINALIZER in (found["metadata"].get("finalizers") or []) else None

    cluster = str(
        ctx.wait(scenario, "running", f"the RayJob's RayCluster with {FT_FINALIZER}", ft_cluster, 120)
    )
    # the job's success makes the operator delete the cluster (shutdownAfterJobFinishes)
    snapshots.append(
        _redis_cleanup(
            ctx, scenario, root, cluster, "completed", lambda: job_succeeded(ctx, scenario, name), 180
        )
    )


@scenario(
    "rayjob-interactive",
    root="RayJob",
    drives=["submission-mode-interactive"],
)
def rayjob_interactive(s: Script) -> None:
    """submissionMode InteractiveMode: created -> waiting (its RayCluster ready, jobDeploymentStatus Waiting:
    the operator submits nothing and makes no submitter Job, it waits for spec.jobId) -> running (a Ray job
    submitted by the harness to the head's own dashboard under a chosen submission id, and that id set as
    spec.jobId: the operator follows that job) -> succeeded."""
    ctx = s.ctx
    scenario = "rayjob-interactive"
    if not ctx.able(Capability.SUBMIT_RAY_JOB, scenario, "created", "waiting", "running", "succeeded"):
        return
    name, root, snapshots = start_rayjob(
        ctx, scenario, "interactive-rayjob", submissionMode="InteractiveMode"
    )

    def waiting() -> dict[str, Any] | None:
        status = (ctx.get(*RAYJOB, name) or {}).get("status") or {}
        cluster = str(status.get("rayClusterName", ""))
        return (
            status
            if status.get("jobDeploymentStatus") == "Waiting" and cluster and ctx.cluster_ready(cluster)
            else None
        )

    status = ctx.wait(scenario, "waiting", "jobDeploymentStatus Waiting on a ready RayCluster", waiting, 240)
    cluster = str(status["rayClusterName"])
    submitters = ctx.kube.list_objects(
        "batch/v1", "Job", ctx.namespace, label_selector=f"ray.io/originated-from-cr-name={name}"
    )
    if submitters:
        raise ScenarioFailed(
            scenario,
            "waiting",
            f"InteractiveMode made submitter Job(s) {[j['metadata']['name'] for j in submitters]}",
        )
    owners = Expectation(statuses=["initializing"], current_owners=[cluster])
    snapshots.append(ctx.snap(scenario, "waiting", root, owners))

    (head,) = _running(_live_pods(ctx, f"ray.io/cluster={cluster},ray.io/node-type=head"))
    job_id = f"interactive-{head['metadata']['uid'][:8]}"
    refused: list[str] = []

    def submitted() -> str | None:
        # The head Pod is Ready before its Ray dashboard answers (a real Ray start, seconds on a busy
        # machine): a refused submission is tried again until the deadline.
        try:
            return ctx.provider.ray_submit(
                ctx.namespace,
                head["metadata"]["name"],
                head["spec"]["containers"][0]["name"],
                INTERACTIVE_JOB,
                job_id,
            )
        except EnvironmentProblem as error:
            if "already exists" in str(error):  # an earlier try landed, its answer lost
                return "submitted (by an earlier try)"
            refused[:] = [str(error)]
            return None

    try:
        answer = ctx.wait(
            scenario, "running", f"Ray job {job_id} accepted by the head's dashboard", submitted, 120
        )
    except ScenarioFailed as failed:
        raise ScenarioFailed(
            scenario, "running", f"{failed.message}; the last refusal: {refused[-1:]}"
        ) from None
    ctx.progress(
        f"  [{scenario}] Ray job {job_id} submitted to {head['metadata']['name']}: {answer.strip()[-120:]!r}"
    )
    ctx.kube.patch_merge(*RAYJOB, name, ctx.namespace, {"spec": {"jobId": job_id}})

    def follows(cluster: str) -> None:
        followed = ((ctx.get(*RAYJOB, name) or {}).get("status") or {}).get("jobId")
        if followed != job_id:
            raise ScenarioFailed(scenario, "running", f"the RayJob follows job {followed!r}, not {job_id!r}")

    running_then_succeeded(s, Ref(*root), MEDIUM, follows)


@scenario(
    "rayjob-sidecar",
    root="RayJob",
    drives=["submission-mode-sidecar"],
)
def rayjob_sidecar(s: Script) -> None:
    """submissionMode SidecarMode: created -> running (no submitter Job: the submitter is a container of the
    head Pod, beside Ray; the head template in the RayJob has no such container) -> succeeded (its exit
    decides). Needs a backend whose kubelets run every container (kind, an existing cluster)."""
    ctx = s.ctx
    scenario = "rayjob-sidecar"
    if not ctx.able(Capability.RUN_CONTAINERS, scenario, "created", "running", "succeeded"):
        return
    # SidecarMode refuses a submitterPodTemplate (KubeRay's validation)
    name, root, _snapshots = start_rayjob(
        ctx, scenario, "sidecar-rayjob", submissionMode="SidecarMode", submitterPodTemplate=None
    )

    def sidecar_not_job(cluster: str) -> None:
        heads = _live_pods(ctx, f"ray.io/cluster={cluster},ray.io/node-type=head")
        containers = [c["name"] for h in heads for c in h["spec"]["containers"]]
        submitters = ctx.kube.list_objects(
            "batch/v1", "Job", ctx.namespace, label_selector=f"ray.io/originated-from-cr-name={name}"
        )
        if SIDECAR not in containers or submitters:
            raise ScenarioFailed(
                scenario,
                "running",
                f"head containers {containers} (want {SIDECAR!r} among them), submitter Jobs "
                f"{[j['metadata']['name'] for j in submitters]} (want none)",
            )

    running_then_succeeded(s, Ref(*root), LONG, sidecar_not_job)


@scenario(
    "managed-by",
    root="RayJob",
    drives=["managed-by"],
)
def managed_by(s: Script) -> None:
    """spec.managedBy another controller (Kueue's MultiKueue, which runs the job on a worker cluster and
    mirrors its status back): created -> not-reconciled (a RayJob created after it, without the field, was
    reconciled: the operator has been past this one and left it alone: no status, no RayCluster, no Pod).
    The definitions read an empty workload; its replica counts are not compared (no Pod will come here)."""
    ctx = s.ctx
    scenario = "managed-by"
    name, root, snapshots = start_rayjob(ctx, scenario, "managed-rayjob", managedBy=MULTIKUEUE)
    # The witness: suspended (no cluster, no Pod), so the only trace of its reconcile is its status.
    witness = "witness-rayjob"
    manifest = ctx.manifest("RayJob")
    manifest["metadata"]["name"] = witness
    manifest["spec"].update(suspend=True, shutdownAfterJobFinishes=True)
    ctx.kube.create(manifest, ctx.namespace)

    def passed() -> dict[str, Any] | None:
        seen = ((ctx.get(*RAYJOB, witness) or {}).get("status") or {}).get("jobDeploymentStatus")
        return (ctx.get(*RAYJOB, name) or {}) if seen else None

    managed = ctx.wait(
        scenario,
        "not-reconciled",
        f"the operator reconciled RayJob {witness}, created after {name}",
        passed,
        120,
    )
    clusters = [
        c["metadata"]["name"]
        for c in ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace)
        if any(r.get("name") == name for r in c["metadata"].get("ownerReferences") or [])
    ]
    if managed.get("status") or clusters:
        raise ScenarioFailed(
            scenario,
            "not-reconciled",
            f"KubeRay acted on RayJob {name} managed by {MULTIKUEUE}: status {managed.get('status')}, RayClusters {clusters}",
        )
    snapshots.append(
        ctx.snap(scenario, "not-reconciled", root, Expectation(statuses=["initializing"], stable=False))
    )
