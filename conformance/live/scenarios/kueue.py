"""Kueue scenarios: a RayJob, a RayCluster and a RayService queued through a LocalQueue and a ClusterQueue of
a real Kueue (the local backend starts its manager on first use; ``backends/local/kueue.py``).

Each root carries the ``kueue.x-k8s.io/queue-name`` label: Kueue's webhook suspends it at creation, makes
a Workload controlled by it, and unsuspends it (labelling its pod templates) once the Workload is admitted.
What each phase expects comes from the models of Kueue (``model/kueue_states.py``) and KubeRay
(``model/kuberay_states.py``), never from a definition. The claims then judge every definition on the live
objects, the Workload among them: a child of the root that a definition lists, or does not
(``ownership``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from conformance import kuberay as workloads
from conformance.kuberay import active_cluster
from conformance.live.scenarios.context import Context
from conformance.live.scenarios.language import (
    LONG,
    ClusterHas,
    Probe,
    Ref,
    Script,
    expect,
    running,
    scenario,
)
from conformance.live.scenarios.probes import RAYCLUSTER, RAYJOB, RAYSERVICE, serving, settled
from conformance.model import kuberay_states
from conformance.model import kueue_states as kq
from conformance.snapshot import Expectation

LOCAL_QUEUE = "karta-queue"
# A Ray job that runs long enough for its RUNNING state to be photographed after admission (seconds),
# and one that holds its ClusterQueue's quota while a second RayJob waits behind it.
SHORT_JOB = 'python -c "import time; time.sleep(20)"'
QUOTA_JOB = 'python -c "import time; time.sleep(60)"'
WEBHOOKS = {"RayJob": "mrayjob.kb.io", "RayCluster": "mraycluster.kb.io", "RayService": "mrayservice.kb.io"}


def kueue_missing(kind: str) -> Callable[[Context], str | None]:
    """A backend that installs Kueue itself (local, kind) installs it now; on any other (existing) the cluster
    must already run Kueue with the Ray integration of ``kind`` (its mutating webhook), else why not."""

    def lacks(ctx: Context) -> str | None:
        start = getattr(ctx.provider, "start_kueue", None)
        if start is not None:
            start()
            ctx.snapshotter.refresh()  # Kueue's kinds (its Workloads) are served from now on: listed ...
            ctx.snapshotter.kinds()  # ... from here, so that the created phase's Snapshot is not slowed by it
            return None
        hooks = ctx.kube.list_objects("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration")
        if any(w.get("name") == WEBHOOKS[kind] for h in hooks for w in h.get("webhooks") or []):
            return None
        return (
            f"the {ctx.provider.name} backend does not install Kueue, and the cluster runs none with its {kind} "
            f"integration (no mutating webhook {WEBHOOKS[kind]}); the local and kind backends install Kueue "
            "themselves (--cluster local, --cluster kind)"
        )

    return lacks


def needs_kueue(kind: str) -> ClusterHas:
    return ClusterHas(f"Kueue with its {kind} integration", kueue_missing(kind))


@dataclass(frozen=True)
class Queues:
    local: str
    cluster: str


def _quantity(resource: str, value: float) -> str:
    if resource == "cpu":
        return f"{math.ceil(value * 1000)}m"
    if resource == "memory":
        return f"{math.ceil(value / 2**20)}Mi"
    return str(math.ceil(value))


def make_queues(s: Script, roots: Sequence[dict[str, Any]], *, held: bool) -> Queues:
    """A ResourceFlavor and a ClusterQueue for this namespace alone (both named after it; quota: every root of
    ``roots`` at once and no more, ``kq.quota_for``; stopPolicy Hold when ``held``), and a LocalQueue to it.
    The cluster-wide two are deleted when the scenario ends."""
    name = s.ctx.namespace
    quota = kq.quota_for(roots)
    resources = [{"name": r, "nominalQuota": _quantity(r, v)} for r, v in sorted(quota.items())]
    cluster_queue = {
        "apiVersion": kq.API_VERSION,
        "kind": "ClusterQueue",
        "metadata": {"name": name},
        "spec": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}},
            "stopPolicy": "Hold" if held else "None",
            "resourceGroups": [
                {
                    "coveredResources": sorted(quota),
                    "flavors": [{"name": name, "resources": resources}],
                }
            ],
        },
    }
    s.finally_(lambda: s.ctx.kube.delete(*kq.RESOURCE_FLAVOR, name))
    s.finally_(lambda: s.ctx.kube.delete(*kq.CLUSTER_QUEUE, name))
    s.ctx.kube.create({"apiVersion": kq.API_VERSION, "kind": "ResourceFlavor", "metadata": {"name": name}})
    s.ctx.kube.create(cluster_queue)
    s.make(
        {
            "apiVersion": kq.API_VERSION,
            "kind": "LocalQueue",
            "metadata": {"name": LOCAL_QUEUE},
            "spec": {"clusterQueue": name},
        }
    )
    s.say(f"ClusterQueue {name}: quota " + ", ".join(f"{r['name']} {r['nominalQuota']}" for r in resources))
    return Queues(LOCAL_QUEUE, name)


def release(s: Script, queues: Queues) -> Callable[[], None]:
    """The ClusterQueue's stopPolicy set to None: it admits again."""
    return lambda: s.ctx.kube.patch_merge(
        *kq.CLUSTER_QUEUE, queues.cluster, "", {"spec": {"stopPolicy": "None"}}
    )


def queued(manifest: dict[str, Any], queues: Queues | str, **spec: Any) -> dict[str, Any]:
    """``manifest`` with the queue-name label (and ``spec`` merged into its spec)."""
    local = queues.local if isinstance(queues, Queues) else queues
    manifest["metadata"].setdefault("labels", {})[kq.QUEUE_LABEL] = local
    manifest["spec"].update(spec)
    return manifest


# --- what the phases read ---------------------------------------------------------------------------


def workload(ctx: Context, root: dict[str, Any]) -> dict[str, Any] | None:
    """The Workload Kueue made for ``root`` (by the name the model gives it)."""
    return ctx.get(*kq.WORKLOAD, kq.workload_name(root))


def owned_by(obj: dict[str, Any], root: dict[str, Any]) -> bool:
    uid = root["metadata"]["uid"]
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


def root_pods(ctx: Context, root: dict[str, Any]) -> list[dict[str, Any]]:
    """The Pods of ``root``'s workload not being deleted: its RayClusters' (itself, for a RayCluster) and its
    batch Jobs' (a RayJob's submitter)."""
    clusters = (
        {root["metadata"]["name"]}
        if root.get("kind") == "RayCluster"
        else {
            c["metadata"]["name"]
            for c in ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace)
            if owned_by(c, root)
        }
    )
    jobs = {
        j["metadata"]["name"]
        for j in ctx.kube.list_objects("batch/v1", "Job", ctx.namespace)
        if owned_by(j, root)
    }
    return [
        p
        for p in ctx.kube.list_objects("v1", "Pod", ctx.namespace)
        if not p["metadata"].get("deletionTimestamp")
        and (
            (p["metadata"].get("labels") or {}).get("ray.io/cluster") in clusters
            or (p["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-name") in jobs
        )
    ]


def held(ref: Ref) -> Probe:
    """``ref`` held by Kueue: its Workload pending, its suspend field true, KubeRay's status reading what a
    held root of its kind reads (``kq.HELD``), no Pod: (the root, its Workload)."""
    wanted = kq.HELD[ref.kind]

    def check(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]] | None:
        root = ctx.get(*ref)
        found = workload(ctx, root) if root else None
        if root is None or found is None or kq.admission(found) != kq.PENDING or not kq.suspend_value(root):
            return None
        if not wanted.reached(root, ctx.provider.kuberay_version) or root_pods(ctx, root):
            return None
        return (root, found) if ref.kind != "RayService" or suspended_cluster(ctx, root) else None

    return Probe(
        f"{ref.kind} {ref.name} held: its Workload pending, KubeRay's status {wanted.status}, no Pod", check
    )


def suspended_cluster(ctx: Context, root: dict[str, Any]) -> bool:
    """KubeRay made the RayService's RayCluster from its (suspended) cluster config: state suspended."""
    clusters = [c for c in ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace) if owned_by(c, root)]
    return bool(clusters) and all((c.get("status") or {}).get("state") == "suspended" for c in clusters)


def admitted(ref: Ref, ready: Probe) -> Probe:
    """``ref``'s Workload Admitted, its suspend field false, and ``ready``: (the root, its Workload)."""

    def check(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]] | None:
        root = ctx.get(*ref)
        found = workload(ctx, root) if root else None
        if root is None or found is None or kq.admission(found) != kq.ADMITTED or kq.suspend_value(root):
            return None
        return (root, found) if ready.check(ctx) else None

    return Probe(f"{ref.kind} {ref.name}: its Workload Admitted, unsuspended, {ready.what}", check)


STUCK_WINDOW = 45.0  # seconds a RayService must stay unstarted after admission (KubeRay retries meanwhile)


def never_started(service: str) -> Probe:
    """RayService ``service``'s RayClusters all still suspended, without Pods, and its status not written for
    its current generation, continuously for ``STUCK_WINDOW`` seconds (KubeRay's failing reconciles retry
    with a backoff well within it): the RayService."""
    since: list[float] = []

    def check(ctx: Context) -> dict[str, Any] | None:
        root = ctx.get(*RAYSERVICE, service) or {}
        status, generation = root.get("status") or {}, root.get("metadata", {}).get("generation")
        stuck = bool(root) and suspended_cluster(ctx, root) and not root_pods(ctx, root)
        if not stuck or status.get("observedGeneration") == generation:
            since.clear()
            return None
        since[:] = since or [time.monotonic()]
        return root if time.monotonic() - since[0] >= STUCK_WINDOW else None

    return Probe(
        f"its RayCluster still suspended and its status behind its generation for {STUCK_WINDOW:.0f} s", check
    )


def job_running(job: str) -> Probe:
    """RayJob ``job`` Running, its Ray job RUNNING (Kueue's model reads that as running), on a ready cluster."""

    def check(ctx: Context) -> bool:
        status = ((ctx.get(*RAYJOB, job) or {}).get("status")) or {}
        cluster = status.get("rayClusterName", "")
        return (status.get("jobDeploymentStatus"), status.get("jobStatus")) == (
            "Running",
            "RUNNING",
        ) and bool(cluster and ctx.cluster_ready(cluster))

    return Probe("its Ray job RUNNING on a ready RayCluster", check)


def finished(ref: Ref) -> Probe:
    """RayJob ``ref`` Complete, its Workload Finished, its RayCluster (shutdownAfterJobFinishes) and Ray Pods
    gone: (the root, its Workload)."""

    def check(ctx: Context) -> tuple[dict[str, Any], dict[str, Any]] | None:
        root = ctx.get(*ref) or {}
        found = workload(ctx, root) if root else None
        done = ((root.get("status") or {}).get("jobDeploymentStatus")) == "Complete"
        clusters = [c for c in ctx.kube.list_objects(*RAYCLUSTER, ctx.namespace) if owned_by(c, root)]
        if not done or found is None or kq.admission(found) != kq.FINISHED or clusters:
            return None
        return root, found

    return Probe(f"RayJob {ref.name} Complete, its Workload Finished, its RayCluster gone", check)


# --- what the phases check -----------------------------------------------------------------------------


def the_workload(
    s: Script, phase: str, queues: Queues
) -> Callable[[tuple[dict[str, Any], dict[str, Any]]], None]:
    """A check of (root, Workload): controlled by the root, in the LocalQueue, its pod sets the model's."""

    def check(found: tuple[dict[str, Any], dict[str, Any]]) -> None:
        root, wl = found
        controllers = [
            (r.get("kind"), r.get("name"), r.get("uid"))
            for r in wl["metadata"].get("ownerReferences") or []
            if r.get("controller")
        ]
        mine = (root["kind"], root["metadata"]["name"], root["metadata"]["uid"])
        sets, model = kq.workload_pod_sets(wl), kq.pod_sets(root)
        queue = (wl.get("spec") or {}).get("queueName")
        if controllers != [mine] or sets != model or queue != queues.local:
            raise s.fail(
                phase,
                f"Workload {wl['metadata']['name']}: controllers {controllers} (want {[mine]}), queue {queue!r} "
                f"(want {queues.local!r}), pod sets {sets} (Kueue's model: {model})",
            )
        conditions = (wl.get("status") or {}).get("conditions") or []
        reserved: dict[str, Any] = next((c for c in conditions if c.get("type") == "QuotaReserved"), {})
        s.say(
            f"Workload {wl['metadata']['name']} controlled by {root['kind']} {root['metadata']['name']}, "
            f"{kq.admission(wl)} ({reserved.get('reason', '')}: {reserved.get('message', '')[:140]})"
        )

    return check


def gang_and_pod_sets(root: dict[str, Any], wl: dict[str, Any], pods: list[dict[str, Any]]) -> str:
    """A line on what the Workload asks quota for against what runs and what KubeRay's gang minimum is."""
    sets = {p.name: p.count for p in kq.workload_pod_sets(wl)}
    running_sets: dict[str, int] = {}
    for pod in pods:
        name = kq.pod_set_of(pod) or "?"
        running_sets[name] = running_sets.get(name, 0) + 1
    gang = workloads.raycluster_gang_size({"spec": kq.cluster_spec(root)})
    return (
        f"Workload pod sets {sets} ({sum(sets.values())} Pods of quota); Pods running per pod set "
        f"{running_sets}; KubeRay's gang minimum of the cluster (head + minReplicas x numOfHosts): {gang}"
    )


def labelled(
    s: Script, phase: str, queues: Queues
) -> Callable[[tuple[dict[str, Any], dict[str, Any]]], None]:
    """A check of (root, Workload) once admitted: every Pod of the root carries its pod set's
    ``kueue.x-k8s.io/podset`` label and the queue labels, and the Workload annotation (Kueue's model)."""

    def check(found: tuple[dict[str, Any], dict[str, Any]]) -> None:
        root, wl = found
        pods = root_pods(s.ctx, root)
        names = {p.name for p in kq.workload_pod_sets(wl)}
        for pod in pods:
            pod_set = kq.pod_set_of(pod) or ""
            labels = pod["metadata"].get("labels") or {}
            want = kq.pod_labels(pod_set, queues.local, queues.cluster)
            noted = (pod["metadata"].get("annotations") or {}).get(kq.WORKLOAD_ANNOTATION)
            missing = {k: v for k, v in want.items() if labels.get(k) != v}
            if pod_set not in names or missing or noted != wl["metadata"]["name"]:
                raise s.fail(
                    phase,
                    f"Pod {pod['metadata']['name']} (pod set {pod_set!r} of {sorted(names)}): labels missing "
                    f"{missing}, annotation {kq.WORKLOAD_ANNOTATION}={noted!r} (want {wl['metadata']['name']!r})",
                )
        s.say(f"{len(pods)} Pods labelled by pod set; " + gang_and_pod_sets(root, wl, pods))

    return check


def both(*checks: Callable[[Any], None]) -> Callable[[Any], None]:
    def check(found: Any) -> None:
        for one in checks:
            one(found)

    return check


def held_expectation(kind: str) -> Expectation:
    """What a held root expects: the status KubeRay reads for it (``kq.HELD``), made by Kueue's suspension
    where Kueue suspends it through the root's own suspend field (not a RayService's cluster config)."""
    made_by = [kq.suspend_change(kind, True)] if kind != "RayService" else []
    return expect(kq.HELD[kind].status, made_by=made_by)


def admitted_expectation(kind: str, owners: Sequence[str], stable: bool = True) -> Expectation:
    made_by = [kq.suspend_change(kind, False)] if kind != "RayService" else []
    return running(*owners, made_by=made_by, stable=stable)


# The ``created`` phase of a root Kueue's webhook suspended at creation, KubeRay's status not caught up yet:
# initializing (``ctx.snap`` takes what KubeRay's own status says when it is ahead: suspended).
CREATED = expect("initializing", stable=False)


def create_queued(s: Script, manifest: dict[str, Any]) -> Ref:
    """Create the root (Kueue's webhook suspends it) with its ``created`` phase. A root created suspended
    races KubeRay's first reconciles (a RayJob: New, Initializing, Suspending, Suspended): where the model of
    KubeRay reads the photographed frame as one status only (Suspending: ``suspending``), that is expected."""
    ref = s.create(manifest, expect_created=CREATED)
    snapshot = s.ctx.snapshots[-1]
    reading = kuberay_states.read(snapshot.root, s.version)
    if (
        reading is not None
        and len(reading.allowed) == 1
        and list(reading.allowed) != snapshot.expect.statuses
    ):
        snapshot.expect = replace(snapshot.expect, statuses=sorted(reading.allowed))
        s.say(
            f"created: already {reading.state} by KubeRay's own status; expecting {sorted(reading.allowed)}"
        )
    return ref


# --- the scenarios ------------------------------------------------------------------------------------


def rayjob_queued(s: Script, name: str, **spec: Any) -> dict[str, Any]:
    """The RayJob fixture as ``name`` in the LocalQueue, ``spec`` merged into its spec. Kueue refuses a
    RayJob that would keep its cluster (its validating webhook): shutdownAfterJobFinishes, at once."""
    manifest = s.manifest("RayJob")
    manifest["metadata"]["name"] = name
    return queued(manifest, LOCAL_QUEUE, shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=0, **spec)


PHASES = ["created", "held", "admitted", "finished"]


def admitted_then_finished(
    s: Script, job: Ref, queues: Queues, do: Callable[[], object] | None = None
) -> None:
    """RayJob ``job`` admitted (after ``do``, which lets Kueue admit it): its Workload Admitted, its Ray job
    RUNNING, every Pod labelled with its pod set; then finished (Complete)."""
    s.phase(
        "admitted",
        do=do,
        until=admitted(job, job_running(job.name)),
        check=both(the_workload(s, "admitted", queues), labelled(s, "admitted", queues)),
        expect=lambda found: admitted_expectation(
            "RayJob", [found[0]["status"]["rayClusterName"]], stable=False
        ),
        timeout=LONG,
    )
    s.phase("finished", until=finished(job), expect=expect("completed"), timeout=LONG)


@scenario("kueue-rayjob", root="RayJob", drives=["kueue-admission"])
def kueue_rayjob(s: Script) -> None:
    """A RayJob with the queue-name label, its ClusterQueue held (stopPolicy Hold): created (suspended by
    Kueue's webhook) -> held (its Workload, controlled by the RayJob, pending with the model's pod sets;
    jobDeploymentStatus Suspended, no RayCluster) -> admitted (the queue released: the Workload Admitted,
    the RayJob unsuspended by Kueue, its Ray job RUNNING, every Pod labelled with its pod set) -> finished
    (Complete: the Workload Finished, the RayCluster deleted)."""
    if not s.able(needs_kueue("RayJob"), phases=PHASES):
        return
    manifest = rayjob_queued(s, "kueue-rayjob", entrypoint=SHORT_JOB)
    queues = make_queues(s, [manifest], held=True)
    job = create_queued(s, manifest)
    s.phase("held", until=held(job), check=the_workload(s, "held", queues), expect=held_expectation("RayJob"))
    admitted_then_finished(s, job, queues, release(s, queues))


@scenario("kueue-rayjob-quota", root="RayJob", drives=["kueue-admission"])
def kueue_rayjob_quota(s: Script) -> None:
    """Two RayJobs through one ClusterQueue whose quota fits one: the first admitted and running (a wait);
    the second created -> held (its Workload pending for lack of quota: QuotaReserved=False, the RayJob
    Suspended) -> admitted (the first finished, its Workload Finished and its quota released: the second's
    Workload Admitted, its Ray job RUNNING, its Pods labelled) -> finished."""
    if not s.able(needs_kueue("RayJob"), phases=PHASES):
        return
    first = rayjob_queued(s, "kueue-first-rayjob", entrypoint=QUOTA_JOB)
    second = rayjob_queued(s, "kueue-second-rayjob", entrypoint=SHORT_JOB)
    queues = make_queues(s, [first], held=False)
    ahead = Ref("ray.io/v1", "RayJob", s.make(first)["metadata"]["name"])
    s.phase("first-admitted", until=admitted(ahead, job_running(ahead.name)), timeout=LONG)
    job = create_queued(s, second)
    s.phase("held", until=held(job), check=the_workload(s, "held", queues), expect=held_expectation("RayJob"))
    admitted_then_finished(s, job, queues)


@scenario("kueue-raycluster", root="RayCluster", drives=["kueue-admission"])
def kueue_raycluster(s: Script) -> None:
    """A RayCluster with the queue-name label, its ClusterQueue held: created -> held (its Workload pending;
    state suspended, no Pod) -> admitted (the queue released: the Workload Admitted, the RayCluster
    unsuspended by Kueue and ready, every Pod labelled with its pod set; a RayCluster never finishes, so
    the Workload stays Admitted)."""
    if not s.able(needs_kueue("RayCluster"), phases=PHASES[:3]):
        return
    manifest = queued(s.manifest("RayCluster"), LOCAL_QUEUE)
    manifest["metadata"]["name"] = "kueue-raycluster"
    queues = make_queues(s, [manifest], held=True)
    cluster = create_queued(s, manifest)
    s.phase(
        "held",
        until=held(cluster),
        check=the_workload(s, "held", queues),
        expect=held_expectation("RayCluster"),
    )
    groups = {g["groupName"]: int(g["replicas"]) for g in manifest["spec"]["workerGroupSpecs"]}
    s.phase(
        "admitted",
        do=release(s, queues),
        until=admitted(cluster, settled(cluster.name, groups)),
        check=both(the_workload(s, "admitted", queues), labelled(s, "admitted", queues)),
        expect=admitted_expectation("RayCluster", [cluster.name]),
        timeout=LONG,
    )


@scenario("kueue-rayservice", root="RayService", drives=["kueue-admission"])
def kueue_rayservice(s: Script) -> None:
    """A RayService with the queue-name label, its ClusterQueue held: created -> held (its Workload pending;
    Kueue suspends it through spec.rayClusterConfig.suspend, so KubeRay makes its RayCluster suspended, no
    Pod, and the RayService reads Ready=False Initializing) -> admitted (the queue released: the Workload
    Admitted, the cluster config unsuspended and labelled by Kueue; where KubeRay's model says it starts
    (v1.6.2) the RayService serving from that RayCluster, every Pod labelled; elsewhere the RayCluster still
    suspended, the status behind its generation, Initializing, for ``STUCK_WINDOW``)."""
    if not s.able(needs_kueue("RayService"), phases=PHASES[:3]):
        return
    manifest = queued(s.manifest("RayService"), LOCAL_QUEUE)
    queues = make_queues(s, [manifest], held=True)
    service = create_queued(s, manifest)
    s.phase(
        "held",
        until=held(service),
        check=the_workload(s, "held", queues),
        expect=held_expectation("RayService"),
    )
    starts = kq.rayservice_starts_when_admitted(s.version)  # KubeRay's model, per version (kq)
    s.phase(
        "admitted",
        do=release(s, queues),
        until=admitted(service, serving(service.name) if starts else never_started(service.name)),
        check=both(the_workload(s, "admitted", queues), labelled(s, "admitted", queues)),
        expect=lambda found: (
            admitted_expectation("RayService", [active_cluster(found[0])])
            if starts
            else expect(kq.HELD["RayService"].status)
        ),
        timeout=LONG,
    )
    if not starts:
        s.say(f"KubeRay {s.version} does not start a RayService Kueue admitted: {kq.RAYSERVICE_STUCK}")
