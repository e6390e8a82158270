"""An independent model of what Kueue does to KubeRay's workloads: the Workload it makes for a root, what
it writes into the root while the Workload waits and once it is admitted, and what the Karta status of
the root then is, as KubeRay's own status says it.

Read from Kueue's controllers at the pinned version (``versions.yaml`` ``kueue``: v0.17.0; paths relative to
``sigs.k8s.io/kueue@v0.17.0``), and for the statuses from KubeRay's (``model/kuberay_states.py``). Never
derived from the definitions it judges. Each function names the code it follows.

The integration (``pkg/controller/jobs/{rayjob,raycluster,rayservice}``, on ``pkg/controller/jobframework``):

- Kueue's mutating webhook suspends a root created with the ``kueue.x-k8s.io/queue-name`` label (and no
  Kueue-managed owner) at once (``jobframework.ApplyDefaultForSuspend``, ``WorkloadShouldBeSuspended``),
  through the field each kind suspends with (``SUSPEND``).
- ``JobReconciler.ReconcileGenericJob`` makes one Workload per root (``ensureOneWorkload``,
  ``ConstructWorkload``: controlled by the root, ``ctrl.SetControllerReference``), with the root's pod
  sets (``pod_sets``), and keeps the root suspended until the Workload is admitted (step 8, ``stopJob``).
- Admitted (condition Admitted=True: quota reserved and every admission check ready), ``startJob`` writes
  ``RunWithPodSetsInfo`` in one patch: the suspend field false, and into every pod template the
  ``kueue.x-k8s.io/podset`` label, the queue labels (``AssignQueueLabelsForPods``, Beta, on in v0.17) and
  the ``kueue.x-k8s.io/workload`` annotation (``TopologyAwareScheduling``, Beta, on) (``getPodSetsInfoFromStatus``,
  ``podset.Merge``), plus the flavor's node labels and tolerations (none for a flavor without them).
- Finished: a RayJob whose ``jobDeploymentStatus`` is Complete or Failed (``RayJob.Finished``); the
  Workload gets Finished=True (``workload.Finish``) and its quota is released for the next one. A
  RayCluster or RayService never finishes (``Finished`` returns false).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.model import kuberay_states

KUEUE_VERSION = "v0.17.0"
GROUP = "kueue.x-k8s.io"
API_VERSION = f"{GROUP}/v1beta2"
WORKLOAD = (API_VERSION, "Workload")
CLUSTER_QUEUE = (API_VERSION, "ClusterQueue")
LOCAL_QUEUE = (API_VERSION, "LocalQueue")
RESOURCE_FLAVOR = (API_VERSION, "ResourceFlavor")

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"  # pkg/controller/constants/constants.go QueueLabel
JOB_UID_LABEL = "kueue.x-k8s.io/job-uid"  # pkg/controller/constants/constants.go JobUIDLabel
PODSET_LABEL = "kueue.x-k8s.io/podset"  # pkg/constants/constants.go PodSetLabel
LOCAL_QUEUE_LABEL = "kueue.x-k8s.io/local-queue-name"  # pkg/constants/constants.go LocalQueueLabel
CLUSTER_QUEUE_LABEL = "kueue.x-k8s.io/cluster-queue-name"  # pkg/constants/constants.go ClusterQueueLabel
WORKLOAD_ANNOTATION = "kueue.x-k8s.io/workload"  # apis/kueue/v1beta2/topology_types.go WorkloadAnnotation
FINALIZER = "kueue.x-k8s.io/resource-in-use"  # apis/kueue/v1beta2/constants.go ResourceInUseFinalizerName

HEAD = "head"  # jobs/raycluster headGroupPodSetName
SUBMITTER = "submitter"  # jobs/rayjob submitterJobPodSetName
MAX_PREFIX = 253 - 1 - 5  # jobframework/workload_names.go maxPrefixLength (ShortWorkloadNames off)

# The field each kind is suspended with (IsSuspended / Suspend / RunWithPodSetsInfo of jobs/<kind>).
SUSPEND: dict[str, tuple[str, ...]] = {
    "RayJob": ("spec", "suspend"),
    "RayCluster": ("spec", "suspend"),
    # jobs/rayservice: spec.rayClusterConfig.suspend, the RayCluster's; not RayService's own spec.suspend
    # (KubeRay v1.7.0), which Kueue never writes
    "RayService": ("spec", "rayClusterConfig", "suspend"),
}

# Workload states, from its conditions (apis/kueue/v1beta2/workload_types.go; pkg/workload/workload.go).
PENDING = "pending"  # no QuotaReserved=True: queued (no quota, a held queue, no queue)
QUOTA_RESERVED = "quota-reserved"  # QuotaReserved=True, admission checks not all ready (none here)
ADMITTED = "admitted"  # Admitted=True (IsAdmitted): the root runs
FINISHED = "finished"  # Finished=True (IsFinished): the root's job ended, its quota released
EVICTED = "evicted"  # Evicted=True: stopJob suspends the root again


@dataclass(frozen=True)
class PodSet:
    name: str
    count: int


def cluster_spec(root: Mapping[str, Any]) -> dict[str, Any]:
    """The RayCluster spec a root's pod sets are built from: a RayJob's ``rayClusterSpec``, a RayService's
    ``rayClusterConfig``, a RayCluster's own spec."""
    spec = root.get("spec") or {}
    kind = root.get("kind")
    found = (
        spec.get("rayClusterSpec")
        if kind == "RayJob"
        else spec.get("rayClusterConfig")
        if kind == "RayService"
        else spec
    )
    return found if isinstance(found, dict) else {}


def pod_sets(root: Mapping[str, Any]) -> tuple[PodSet, ...]:
    """The Workload's ``spec.podSets`` (names and counts) Kueue builds for ``root``.

    ``jobs/raycluster/common.go`` ``BuildPodSets``: ``head`` count 1; one per worker group, named its
    ``groupName`` lowercased (``kueue.NewPodSetReference``), count ``replicas`` (1 when unset) times
    ``numOfHosts`` when above 1; ``minReplicas`` and ``maxReplicas`` are not read. ``jobs/rayjob``
    ``addSubmitterPodSet``: a RayJob in K8sJobMode (the CRD's default) adds ``submitter`` count 1.
    (``UpdatePodSets`` changes counts only under workload slicing with autoscaling, off here.)"""
    spec = cluster_spec(root)
    found = [PodSet(HEAD, 1)]
    for group in spec.get("workerGroupSpecs") or []:
        replicas = group.get("replicas")
        count = 1 if replicas is None else int(replicas)
        hosts = int(group.get("numOfHosts") or 1)
        found.append(PodSet(str(group.get("groupName", "")).lower(), count * hosts if hosts > 1 else count))
    if root.get("kind") == "RayJob" and ((root.get("spec") or {}).get("submissionMode") or "K8sJobMode") == (
        "K8sJobMode"
    ):
        found.append(PodSet(SUBMITTER, 1))
    return tuple(found)


def workload_pod_sets(workload: Mapping[str, Any]) -> tuple[PodSet, ...]:
    """The pod sets a live Workload lists (its ``spec.podSets``)."""
    return tuple(
        PodSet(str(p.get("name", "")), int(p.get("count") or 0))
        for p in (workload.get("spec") or {}).get("podSets") or []
    )


def workload_name(root: Mapping[str, Any]) -> str:
    """The name of the Workload Kueue makes for ``root`` (``jobframework/workload_names.go``
    ``GetWorkloadNameForOwnerWithGVK``): ``<kind lowercased>-<name>``, truncated, then ``-`` and the first 5
    hex digits of sha1(kind, group, name, uid), each ``\\n``-separated."""
    metadata = root.get("metadata") or {}
    kind, name = str(root.get("kind", "")), str(metadata.get("name", ""))
    group = str(root.get("apiVersion", "")).split("/", 1)[0]
    digest = hashlib.sha1("\n".join([kind, group, name, str(metadata.get("uid", ""))]).encode()).hexdigest()
    return f"{(kind.lower() + '-' + name)[:MAX_PREFIX]}-{digest[:5]}"


def _true(workload: Mapping[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in (workload.get("status") or {}).get("conditions") or []
    )


def admission(workload: Mapping[str, Any] | None) -> str:
    """The Workload's state from its conditions (``pkg/workload/workload.go`` ``IsFinished``,
    ``IsAdmitted``, ``HasQuotaReservation``; Evicted as ``ReconcileGenericJob`` step 6 reads it)."""
    if not workload:
        return PENDING
    for kind, state in (
        ("Finished", FINISHED),
        ("Evicted", EVICTED),
        ("Admitted", ADMITTED),
        ("QuotaReserved", QUOTA_RESERVED),
    ):
        if _true(workload, kind):
            return state
    return PENDING


def suspend_value(root: Mapping[str, Any]) -> bool:
    """Whether the root is suspended through the field Kueue writes for its kind (``SUSPEND``)."""
    value: Any = root
    for key in SUSPEND.get(str(root.get("kind")), ("spec", "suspend")):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value is True


def suspended_by_kueue(state: str) -> bool | None:
    """The suspend field Kueue keeps while its Workload is in ``state`` (None: Kueue leaves it as it is).

    ``ReconcileGenericJob``: a root whose Workload is not admitted is suspended (the webhook at creation,
    ``stopJob`` step 8 after); an admitted one is unsuspended by ``startJob`` (step 7); an evicted one is
    suspended again (step 6); a finished one is left alone (``finalizeJob``)."""
    if state in (PENDING, QUOTA_RESERVED, EVICTED):
        return True
    return False if state == ADMITTED else None


def suspend_change(kind: str, value: bool) -> dict[str, Any]:
    """What Kueue changes to hold (``value`` True) or admit a root, as an Expectation's ``made_by`` entry."""
    return {"action": "suspend" if value else "resume", "path": list(SUSPEND[kind]), "value": value}


@dataclass(frozen=True)
class Held:
    """What a root held by Kueue looks like once KubeRay has acted on the suspension."""

    status: str  # the Karta status KubeRay's own status then reads
    why: str

    def reached(self, root: Mapping[str, Any], kuberay_version: str) -> bool:
        """Whether KubeRay's status of ``root`` reads exactly ``status`` now (``kuberay_states.read``)."""
        reading = kuberay_states.read(dict(root), kuberay_version)
        return reading is not None and set(reading.allowed) == {self.status}


HELD: dict[str, Held] = {
    "RayJob": Held(
        kuberay_states.SUSPENDED,
        "KubeRay rayjob_controller.go: New -> Initializing (initRayJobStatusIfNeed) -> Suspending "
        "(updateStatusToSuspendingIfNeeded) -> Suspended: no RayCluster, no submitter",
    ),
    "RayCluster": Held(
        kuberay_states.SUSPENDED,
        "KubeRay raycluster_controller.go calculateStatus: state suspended, RayClusterSuspended=True, no Pod",
    ),
    "RayService": Held(
        kuberay_states.INITIALIZING,
        "KubeRay rayservice_controller.go: the RayCluster made from rayClusterConfig is suspended (no Pod), "
        "so the RayService is never ready: Ready=False Initializing (calculateConditions); RayService's own "
        "Suspended condition follows spec.suspend (v1.7.0 handleSuspend), which Kueue does not write",
    ),
}


# KubeRay's RayService reconciler applies a change of spec.rayClusterConfig.suspend to the RayCluster it made
# from it in place (``shouldUpdateCluster``: "Suspend toggles (e.g. from Kueue admitting or preempting the
# workload) must be applied in-place", ray-project/kuberay#4686) in these pinned versions only. Elsewhere
# (v1.3.2-v1.5.1, and the pinned v1.7.0 source) Kueue's admission changes the config's hash (its labels) and
# unsuspends it, but ``reconcileRayCluster`` updates a RayCluster only on an equal or a worker-groups-appended
# hash, and ``updateHeadPodServeLabel`` fails ("found 0 head") on the suspended RayCluster before
# ``calculateStatus`` could prepare a new one: every reconcile ends there, the RayCluster stays suspended, and
# the RayService keeps Ready=False Initializing at its old ``observedGeneration``.
RAYSERVICE_RESUMES_IN_PLACE = ("v1.6.2",)
RAYSERVICE_STUCK = (
    "its RayCluster, made from the suspended config, stays suspended (no suspend toggle in shouldUpdateCluster, "
    "ray-project/kuberay#4686), every reconcile fails in updateHeadPodServeLabel (found 0 head) before "
    "calculateStatus, and the RayService stays Ready=False Initializing at its old observedGeneration"
)


def rayservice_starts_when_admitted(kuberay_version: str) -> bool:
    """Whether KubeRay ``kuberay_version`` starts a RayService Kueue held once its Workload is admitted."""
    return kuberay_version in RAYSERVICE_RESUMES_IN_PLACE


def finishes(kind: str) -> bool:
    """Whether Kueue ever declares a root of ``kind`` finished (``Finished`` of jobs/<kind>)."""
    return kind == "RayJob"


def pod_labels(pod_set: str, local_queue: str, cluster_queue: str) -> dict[str, str]:
    """The labels Kueue puts on an admitted root's pod template of ``pod_set`` (``getPodSetsInfoFromStatus``,
    ``assignQueueLabels``), and so on every Pod made from it."""
    return {PODSET_LABEL: pod_set, LOCAL_QUEUE_LABEL: local_queue, CLUSTER_QUEUE_LABEL: cluster_queue}


def pod_set_of(pod: Mapping[str, Any]) -> str | None:
    """Which pod set a Ray Pod belongs to by what KubeRay labels it (head: ``ray.io/node-type=head``,
    worker: its ``ray.io/group`` lowercased; a submitter Job's Pod carries no Ray labels)."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    if labels.get("ray.io/node-type") == "head":
        return HEAD
    if labels.get("ray.io/node-type") == "worker":
        return str(labels.get("ray.io/group", "")).lower()
    return SUBMITTER if labels.get("batch.kubernetes.io/job-name") else None


# --- quota ----------------------------------------------------------------------------------------

_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def _quantity(value: Any) -> float:
    text = str(value)
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            return float(text[: -len(suffix)]) * _UNITS[suffix]
    return float(text)


def _template_requests(template: Mapping[str, Any]) -> dict[str, float]:
    """A pod template's requests as Kueue counts a Pod (``pkg/util/resource``, ``limitrange``): the sum of
    its containers' requests (a limit stands for a missing request), at least each init container's."""
    spec = template.get("spec") or {}

    def of(container: Mapping[str, Any]) -> dict[str, float]:
        resources = container.get("resources") or {}
        merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        return {name: _quantity(value) for name, value in merged.items()}

    total: dict[str, float] = {}
    for container in spec.get("containers") or []:
        for name, value in of(container).items():
            total[name] = total.get(name, 0.0) + value
    for container in spec.get("initContainers") or []:
        for name, value in of(container).items():
            total[name] = max(total.get(name, 0.0), value)
    return total


SUBMITTER_REQUESTS = {"cpu": 0.5, "memory": 200 * 2**20}  # jobs/rayjob getSubmitterTemplate (no template)


def requests(root: Mapping[str, Any]) -> dict[str, float]:
    """What the Workload of ``root`` asks of a ClusterQueue: per resource, each pod set's Pod requests times
    its count (cpu in cores, memory in bytes)."""
    spec = cluster_spec(root)
    templates: dict[str, Mapping[str, Any]] = {HEAD: (spec.get("headGroupSpec") or {}).get("template") or {}}
    for group in spec.get("workerGroupSpecs") or []:
        templates[str(group.get("groupName", "")).lower()] = group.get("template") or {}
    total: dict[str, float] = {}
    for pod_set in pod_sets(root):
        if pod_set.name == SUBMITTER:
            submitter = (root.get("spec") or {}).get("submitterPodTemplate")
            each = _template_requests(submitter) if submitter else dict(SUBMITTER_REQUESTS)
        else:
            each = _template_requests(templates.get(pod_set.name) or {})
        for name, value in each.items():
            total[name] = total.get(name, 0.0) + value * pod_set.count
    return total


def quota_for(roots: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """A nominal quota that fits every root of ``roots`` at once, and nothing more of the largest of them:
    their requests summed, plus half the largest one's (so one more such root does not fit)."""
    asked = [requests(r) for r in roots]
    names = sorted({n for a in asked for n in a})
    return {n: sum(a.get(n, 0.0) for a in asked) + max(a.get(n, 0.0) for a in asked) / 2 for n in names}
