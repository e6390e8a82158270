"""RayJob scenarios: a Ray job submitted, run to its end, suspended, retried, timed out, cleaned up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conformance.backends.base import Capability
from conformance.errors import EnvironmentProblem
from conformance.live.scenarios.context import Context, ScenarioFailed
from conformance.live.scenarios.gcs import FT_FINALIZER, REDIS_ADDRESS, held, redis_cleanup_made, start_redis
from conformance.live.scenarios.language import (
    LONG,
    MEDIUM,
    Probe,
    Ref,
    Script,
    Timeout,
    expect,
    scenario,
    spec_suspend,
)
from conformance.live.scenarios.probes import (
    RAYCLUSTER,
    RAYJOB,
    holds,
    job_deployment,
    job_ended,
    running_pods,
    settled,
)

# A Ray job that runs long enough to be seen Running (and suspended, or timed out, while it runs).
SLEEPS = 'python -c "import time; time.sleep(600)"'
# A Ray job the user submits in InteractiveMode: long enough for its Running phase to be snapshotted.
INTERACTIVE_JOB = (
    "python",
    "-c",
    "import time, ray; ray.init(); time.sleep(15); print(ray.get(ray.remote(lambda x: x * 2).remote(21)))",
)
SIDECAR = "ray-job-submitter"  # the container KubeRay adds to the head Pod in SidecarMode
MULTIKUEUE = "kueue.x-k8s.io/multikueue"  # the one other controller KubeRay's validation accepts


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


# --- what the scenarios below read and do ---------------------------------------------------------


def job_status(ctx: Context, job: str) -> dict[str, Any]:
    """RayJob ``job``'s status ({} while it has none)."""
    return ((ctx.get(*RAYJOB, job) or {}).get("status")) or {}


def made_by_a_rayjob(obj: dict[str, Any]) -> bool:
    return any(r.get("kind") == "RayJob" for r in obj["metadata"].get("ownerReferences") or [])


def submitter_jobs(ctx: Context, job: str) -> list[str]:
    """The batch Jobs KubeRay made to submit RayJob ``job``'s Ray job (their names)."""
    found = ctx.kube.list_objects(
        "batch/v1", "Job", ctx.namespace, label_selector=f"ray.io/originated-from-cr-name={job}"
    )
    return [j["metadata"]["name"] for j in found]


def ran_to_success(s: Script, job: Ref) -> dict[str, Any]:
    """Wait (no Snapshot) for RayJob ``job``'s Ray job to finish: its status; the phase ``succeeded``
    fails unless it SUCCEEDED."""
    final: dict[str, Any] = s.phase(
        "succeeded", until=job_ended(job.name), check=succeeded(s, "succeeded"), timeout=LONG
    )
    return final


def final_cluster_settled(s: Script, cluster: str) -> Probe:
    """RayCluster ``cluster`` ready with every worker group at its own replicas (read now)."""
    found = s.get((*RAYCLUSTER, cluster)) or {}
    groups = {
        g["groupName"]: int(g.get("replicas") or 0)
        for g in (found.get("spec") or {}).get("workerGroupSpecs") or []
    }
    return settled(cluster, groups, what=f"RayCluster {cluster} settled")


def on_ready_cluster(job: str, state: str) -> Probe:
    """RayJob ``job``'s jobDeploymentStatus ``state``, its RayCluster ready: its status."""

    def check(ctx: Context) -> dict[str, Any] | None:
        status = job_status(ctx, job)
        cluster = status.get("rayClusterName", "")
        ready = status.get("jobDeploymentStatus") == state and cluster and ctx.cluster_ready(cluster)
        return status if ready else None

    return Probe(f"jobDeploymentStatus {state} on a ready RayCluster", check)


# --- rayjob-suspend


def suspended(job: str) -> Probe:
    """RayJob ``job`` Suspended, no RayCluster of a RayJob in the namespace: its status."""

    def check(ctx: Context) -> dict[str, Any] | None:
        status = job_status(ctx, job)
        if status.get("jobDeploymentStatus") != "Suspended":
            return None
        clusters = [c for c in ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace) if made_by_a_rayjob(c)]
        return status if not clusters else None

    return Probe("jobDeploymentStatus Suspended, no RayCluster", check)


def suspended_again(job: str, cluster: str) -> Probe:
    """RayJob ``job`` Suspended, its RayCluster ``cluster``, that cluster's Pods and its submitter Job gone."""

    def check(ctx: Context) -> dict[str, Any] | None:
        found = suspended(job).check(ctx)
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}")
        jobs = [j for j in ctx.kube.list_objects("batch/v1", "Job", ctx.namespace) if made_by_a_rayjob(j)]
        return found if found and not pods and not jobs else None

    return Probe("Suspended again, the RayCluster, its Pods and the submitter Job gone", check)


@scenario(
    "rayjob-suspend",
    root="RayJob",
    drives=["rayjob-suspend"],
)
def rayjob_suspend(s: Script) -> None:
    """Created suspended (no RayCluster, no submitter) -> resumed -> running -> suspended again
    (its RayCluster and submitter Job deleted)."""
    manifest = rayjob_manifest(
        s,
        "suspend-rayjob",
        suspend=True,
        # KubeRay refuses to suspend a RayJob that keeps its cluster (ValidationFailed otherwise).
        shutdownAfterJobFinishes=True,
        # A job that runs long enough to be suspended while Running.
        entrypoint=SLEEPS,
    )
    job = s.create(manifest, neighbour=True)
    s.phase(
        "suspended-at-creation",
        until=suspended(job.name),
        expect=expect("suspended", made_by=spec_suspend("suspend")),
    )
    status = s.phase(
        "running",
        do=lambda: s.patch(job, {"spec": {"suspend": False}}),
        until=on_ready_cluster(job.name, "Running"),
        expect=lambda found: expect(
            "running",
            owners=[str(found.get("rayClusterName", ""))],
            stable=False,
            made_by=spec_suspend("resume"),
        ),
        timeout=LONG,
    )
    s.phase(
        "suspended",
        do=lambda: s.patch(job, {"spec": {"suspend": True}}),
        until=suspended_again(job.name, str(status.get("rayClusterName", ""))),
        expect=expect("suspended", made_by=spec_suspend("suspend")),
    )


# --- rayjob-delete-workers


def workers_deleted(cluster: str) -> Probe:
    """Every worker group of RayCluster ``cluster`` suspended, no worker Pod, its head Running: the cluster."""

    def check(ctx: Context) -> dict[str, Any] | None:
        found = ctx.get(*RAYCLUSTER, cluster) or {}
        groups = (found.get("spec") or {}).get("workerGroupSpecs") or []
        workers = ctx.kube.list_objects(
            "v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster},ray.io/node-type=worker"
        )
        heads = running_pods(ctx.ray_pods(cluster)[0])
        all_suspended = bool(groups) and all(g.get("suspend") is True for g in groups)
        return found if all_suspended and not workers and heads else None

    return Probe(f"every worker group of {cluster} suspended, its worker Pods gone", check)


@scenario(
    "rayjob-delete-workers",
    root="RayJob",
    drives=["rayjob-deletion-strategy"],
)
def rayjob_delete_workers(s: Script) -> None:
    """deletionStrategy onSuccess DeleteWorkers: created -> succeeded -> the operator suspends every worker
    group of the RayJob's RayCluster (its worker Pods deleted, the head kept)."""
    strategy = {"onSuccess": {"policy": "DeleteWorkers"}, "onFailure": {"policy": "DeleteNone"}}
    job = s.create(rayjob_manifest(s, "deleteworkers-rayjob", deletionStrategy=strategy), neighbour=True)
    cluster = str(ran_to_success(s, job).get("rayClusterName", ""))
    s.phase("workers-deleted", until=workers_deleted(cluster), expect=expect("completed", owners=[cluster]))


# --- rayjob-shutdown-after-finishes


def cluster_deleted(job: str, cluster: str) -> Probe:
    """RayJob ``job`` Complete, its RayCluster ``cluster`` and that cluster's Pods gone: the RayJob."""

    def check(ctx: Context) -> dict[str, Any] | None:
        pods = ctx.kube.list_objects("v1", "Pod", ctx.namespace, label_selector=f"ray.io/cluster={cluster}")
        found = ctx.get(*RAYJOB, job) or {}
        done = (found.get("status") or {}).get("jobDeploymentStatus") == "Complete"
        return found if done and ctx.get(*RAYCLUSTER, cluster) is None and not pods else None

    return Probe(f"RayCluster {cluster} and its Pods deleted", check)


@scenario(
    "rayjob-shutdown-after-finishes",
    root="RayJob",
    drives=["rayjob-shutdown-after-finishes"],
)
def rayjob_shutdown_after_finishes(s: Script) -> None:
    """shutdownAfterJobFinishes with ttlSecondsAfterFinished 0: created -> the job succeeds -> the
    operator deletes the RayJob's RayCluster (and so its Pods); the RayJob stays, Complete, with only
    its submitter Job (K8sJobMode) below it."""
    manifest = rayjob_manifest(s, "shutdown-rayjob", shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=0)
    job = s.create(manifest, neighbour=True)
    cluster = str(ran_to_success(s, job).get("rayClusterName", ""))
    s.phase("cluster-deleted", until=cluster_deleted(job.name, cluster), expect=expect("completed"))


# --- rayjob-cluster-selector


def standalone_cluster(s: Script, name: str) -> None:
    """The RayCluster fixture as ``name``, created as it is: a real head (a job runs on it); on local,
    kwok workers."""
    manifest = s.manifest("RayCluster")
    manifest["metadata"]["name"] = name
    s.make(manifest)


def ran_on(s: Script, cluster: str) -> Callable[[dict[str, Any]], None]:
    """A check of an ended RayJob's status: its Ray job SUCCEEDED on RayCluster ``cluster``, still there."""

    def check(status: dict[str, Any]) -> None:
        succeeded(s, "succeeded")(status)
        if status.get("rayClusterName") != cluster:
            raise s.fail("succeeded", f"the job ran on {status.get('rayClusterName')!r}, not on {cluster!r}")
        if s.get((*RAYCLUSTER, cluster)) is None:
            raise s.fail("succeeded", f"the selected RayCluster {cluster} is gone")

    return check


@scenario(
    "rayjob-cluster-selector",
    root="RayJob",
    drives=["rayjob-cluster-selector"],
)
def rayjob_cluster_selector(s: Script) -> None:
    """A RayJob on an existing RayCluster (spec.clusterSelector, no rayClusterSpec): the standalone
    RayCluster ready -> the RayJob created -> the job succeeds on that cluster. The RayJob owns no
    RayCluster and no Ray Pods (K8sJobMode: only the submitter Job and its Pod)."""
    cluster = "selected-raycluster"
    s.phase(
        "created",
        do=lambda: standalone_cluster(s, cluster),
        until=holds(
            f"the standalone RayCluster {cluster} ready", lambda ctx: ctx.cluster_ready(cluster) or None
        ),
        timeout=LONG,
    )
    manifest = rayjob_manifest(
        s,
        "selector-rayjob",
        rayClusterSpec=None,
        # KubeRay takes the cluster's name from this key (an empty or absent one is InvalidRayJobSpec)
        clusterSelector={"ray.io/cluster": cluster},
    )
    job = s.create(manifest)  # no neighbour: the standalone RayCluster stands beside it
    s.phase(
        "succeeded",
        until=job_ended(job.name),
        check=ran_on(s, cluster),
        expect=expect("completed"),
        timeout=LONG,
    )


# --- rayjob-backoff-limit


def attempt_running(job: str) -> Probe:
    """RayJob ``job`` Running: its RayCluster's name."""

    def check(ctx: Context) -> str | None:
        status = job_status(ctx, job)
        return status.get("rayClusterName") if status.get("jobDeploymentStatus") == "Running" else None

    return Probe("the first attempt running on its RayCluster", check)


def attempt_retried(job: str, first: str) -> Probe:
    """RayJob ``job`` Running again after a failed attempt, on a new RayCluster, ``first`` gone: its status."""

    def check(ctx: Context) -> dict[str, Any] | None:
        status = job_status(ctx, job)
        cluster = status.get("rayClusterName")
        if int(status.get("failed") or 0) < 1 or not cluster or cluster == first:
            return None
        if status.get("jobDeploymentStatus") != "Running" or ctx.get(*RAYCLUSTER, first) is not None:
            return None
        return status

    return Probe(f"a failed attempt, {first} deleted, the job Running on a new RayCluster", check)


def failed_twice(s: Script, last: str) -> Callable[[dict[str, Any]], None]:
    def check(status: dict[str, Any]) -> None:
        if int(status.get("failed") or 0) != 2 or status.get("rayClusterName") != last:
            raise s.fail("failed", f"expected 2 failed attempts, the last on {last}: {status}")

    return check


@scenario(
    "rayjob-backoff-limit",
    root="RayJob",
    drives=["rayjob-backoff-limit"],
)
def rayjob_backoff_limit(s: Script) -> None:
    """backoffLimit 1 and an entrypoint that fails (after 20 s, so each attempt is seen Running): created ->
    retried (the first attempt failed; the operator deleted its RayCluster and runs the job again on a new
    one) -> failed (the second attempt failed too: jobDeploymentStatus Failed, the last RayCluster kept)."""
    entrypoint = 'python -c "import sys, time; time.sleep(20); sys.exit(3)"'
    job = s.create(
        rayjob_manifest(s, "backoff-rayjob", entrypoint=entrypoint, backoffLimit=1), neighbour=True
    )
    first = str(s.phase("retried", until=attempt_running(job.name), timeout=LONG))
    retried = s.phase(
        "retried",
        until=attempt_retried(job.name, first),
        expect=lambda found: expect("running", owners=[str(found["rayClusterName"])], stable=False),
        timeout=LONG,
    )
    second = str(retried["rayClusterName"])
    s.phase("failed", until=job_deployment(job.name, "Failed"), check=failed_twice(s, second), timeout=LONG)
    s.phase("failed", until=final_cluster_settled(s, second), expect=expect("failed", owners=[second]))


# --- rayjob-active-deadline


def deadline_exceeded(s: Script) -> Callable[[dict[str, Any]], None]:
    def check(status: dict[str, Any]) -> None:
        if status.get("reason") != "DeadlineExceeded":
            raise s.fail("deadline-exceeded", f"failed, but not for the deadline: {status}")

    return check


@scenario(
    "rayjob-active-deadline",
    root="RayJob",
    drives=["rayjob-active-deadline"],
)
def rayjob_active_deadline(s: Script) -> None:
    """activeDeadlineSeconds 45 and a job that would run for 10 minutes: created -> deadline-exceeded
    (jobDeploymentStatus Failed, reason DeadlineExceeded; the RayCluster kept, as shutdownAfterJobFinishes
    is false)."""
    manifest = rayjob_manifest(s, "deadline-rayjob", entrypoint=SLEEPS, activeDeadlineSeconds=45)
    job = s.create(manifest, neighbour=True)
    final = s.phase(
        "deadline-exceeded",
        until=job_deployment(job.name, "Failed"),
        check=deadline_exceeded(s),
        timeout=LONG,
    )
    cluster = str(final.get("rayClusterName", ""))
    s.phase(
        "deadline-exceeded",
        until=final_cluster_settled(s, cluster),
        expect=expect("failed", owners=[cluster]),
    )


# --- rayjob-redis-cleanup


def ft_cluster(job: str) -> Probe:
    """RayJob ``job``'s RayCluster, with KubeRay's GCS FT finalizer on it: its name."""

    def check(ctx: Context) -> str | None:
        cluster = str(job_status(ctx, job).get("rayClusterName") or "")
        found = ctx.get(*RAYCLUSTER, cluster) if cluster else None
        return cluster if found and FT_FINALIZER in (found["metadata"].get("finalizers") or []) else None

    return Probe(f"the RayJob's RayCluster with {FT_FINALIZER}", check)


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
    start_redis(s)
    cluster_spec = s.manifest("RayJob")["spec"]["rayClusterSpec"]
    cluster_spec["gcsFaultToleranceOptions"] = {"redisAddress": REDIS_ADDRESS}
    manifest = rayjob_manifest(
        s, "ft-rayjob", shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=0, rayClusterSpec=cluster_spec
    )
    job = s.create(manifest, neighbour=True)
    cluster = str(s.phase("running", until=ft_cluster(job.name)))
    # the job's success makes the operator delete the cluster (shutdownAfterJobFinishes): held until the
    # redis-cleanup snapshot
    held(s, cluster)
    ran_to_success(s, job)
    s.phase(
        "redis-cleanup",
        until=redis_cleanup_made(cluster),
        check=lambda made: s.say(f"redis-cleanup Job {made['metadata']['name']} (owned by {cluster})"),
        expect=expect("completed", owners=[cluster], stable=False),
    )


# --- rayjob-interactive


def no_submitter(s: Script, job: str) -> Callable[[dict[str, Any]], None]:
    def check(status: dict[str, Any]) -> None:
        made = submitter_jobs(s.ctx, job)
        if made:
            raise s.fail("waiting", f"InteractiveMode made submitter Job(s) {made}")

    return check


def accepted(s: Script, head: dict[str, Any], job_id: str, refused: list[str]) -> Probe:
    """Ray job ``job_id`` submitted to the dashboard of Pod ``head``: the submission's answer. The head Pod
    is Ready before its Ray dashboard answers (a real Ray start, seconds on a busy machine): a refused
    submission is tried again at each poll (its refusal kept in ``refused``)."""

    def check(ctx: Context) -> str | None:
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

    return Probe(f"Ray job {job_id} accepted by the head's dashboard", check)


def submit_interactive(s: Script, job: Ref, cluster: str) -> str:
    """A Ray job submitted to RayCluster ``cluster``'s head under a chosen submission id, and that id set
    as RayJob ``job``'s spec.jobId (a wait of the ``running`` phase): the id."""
    (head,) = running_pods(s.pods(f"ray.io/cluster={cluster},ray.io/node-type=head"))
    job_id = f"interactive-{head['metadata']['uid'][:8]}"
    refused: list[str] = []
    try:
        answer = s.phase("running", until=accepted(s, head, job_id, refused), timeout=MEDIUM)
    except ScenarioFailed as failed:
        raise s.fail("running", f"{failed.message}; the last refusal: {refused[-1:]}") from None
    s.say(f"Ray job {job_id} submitted to {head['metadata']['name']}: {answer.strip()[-120:]!r}")
    s.patch(job, {"spec": {"jobId": job_id}})
    return job_id


def follows(s: Script, job: str, job_id: str) -> Callable[[str], None]:
    """At ``running``: RayJob ``job`` follows Ray job ``job_id``."""

    def check(cluster: str) -> None:
        followed = job_status(s.ctx, job).get("jobId")
        if followed != job_id:
            raise s.fail("running", f"the RayJob follows job {followed!r}, not {job_id!r}")

    return check


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
    if not s.able(Capability.SUBMIT_RAY_JOB, phases=["created", "waiting", "running", "succeeded"]):
        return
    job = s.create(rayjob_manifest(s, "interactive-rayjob", submissionMode="InteractiveMode"), neighbour=True)
    status = s.phase(
        "waiting",
        until=on_ready_cluster(job.name, "Waiting"),
        check=no_submitter(s, job.name),
        expect=lambda found: expect("initializing", owners=[str(found["rayClusterName"])]),
        timeout=LONG,
    )
    job_id = submit_interactive(s, job, str(status["rayClusterName"]))
    running_then_succeeded(s, job, MEDIUM, follows(s, job.name, job_id))


# --- rayjob-sidecar


def sidecar_not_job(s: Script, job: str) -> Callable[[str], None]:
    """At ``running``: the submitter a container of the head Pod, no submitter Job."""

    def check(cluster: str) -> None:
        heads = s.pods(f"ray.io/cluster={cluster},ray.io/node-type=head")
        containers = [c["name"] for h in heads for c in h["spec"]["containers"]]
        submitters = submitter_jobs(s.ctx, job)
        if SIDECAR not in containers or submitters:
            raise s.fail(
                "running",
                f"head containers {containers} (want {SIDECAR!r} among them), submitter Jobs "
                f"{submitters} (want none)",
            )

    return check


@scenario(
    "rayjob-sidecar",
    root="RayJob",
    drives=["submission-mode-sidecar"],
)
def rayjob_sidecar(s: Script) -> None:
    """submissionMode SidecarMode: created -> running (no submitter Job: the submitter is a container of the
    head Pod, beside Ray; the head template in the RayJob has no such container) -> succeeded (its exit
    decides). Needs a backend whose kubelets run every container (kind, an existing cluster)."""
    if not s.able(Capability.RUN_CONTAINERS, phases=["created", "running", "succeeded"]):
        return
    # SidecarMode refuses a submitterPodTemplate (KubeRay's validation)
    manifest = rayjob_manifest(s, "sidecar-rayjob", submissionMode="SidecarMode", submitterPodTemplate=None)
    job = s.create(manifest, neighbour=True)
    running_then_succeeded(s, job, LONG, sidecar_not_job(s, job.name))


# --- managed-by


def witness_reconciled(job: str, witness: str) -> Probe:
    """The operator gave RayJob ``witness`` a status: RayJob ``job`` as it is then."""

    def check(ctx: Context) -> dict[str, Any] | None:
        seen = job_status(ctx, witness).get("jobDeploymentStatus")
        return (ctx.get(*RAYJOB, job) or {}) if seen else None

    return Probe(f"the operator reconciled RayJob {witness}, created after {job}", check)


def left_alone(s: Script, job: str) -> Callable[[dict[str, Any]], None]:
    """RayJob ``job`` (as found) has no status and owns no RayCluster."""

    def check(managed: dict[str, Any]) -> None:
        clusters = [
            c["metadata"]["name"]
            for c in s.ctx.kube.list_objects(*RAYCLUSTER, s.ctx.namespace)
            if any(r.get("name") == job for r in c["metadata"].get("ownerReferences") or [])
        ]
        if managed.get("status") or clusters:
            raise s.fail(
                "not-reconciled",
                f"KubeRay acted on RayJob {job} managed by {MULTIKUEUE}: status {managed.get('status')}, "
                f"RayClusters {clusters}",
            )

    return check


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
    job = s.create(rayjob_manifest(s, "managed-rayjob", managedBy=MULTIKUEUE), neighbour=True)
    # The witness: suspended (no cluster, no Pod), so the only trace of its reconcile is its status.
    witness = rayjob_manifest(s, "witness-rayjob", suspend=True, shutdownAfterJobFinishes=True)
    s.phase(
        "not-reconciled",
        do=lambda: s.make(witness),
        until=witness_reconciled(job.name, "witness-rayjob"),
        check=left_alone(s, job.name),
        expect=expect("initializing", stable=False),
    )
