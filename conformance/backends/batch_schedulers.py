"""Batch schedulers the KubeRay operator can be run with (its ``--batch-scheduler`` flag, the chart's
``batchScheduler.name``), as far as a backend needs to know them.

With the flag, KubeRay makes one PodGroup per gang (a RayCluster's, or a RayJob's, which its own
RayCluster then does not get), owned by that object, and hands every Ray Pod to that scheduler
(``schedulerName``) with the PodGroup's name in an annotation. What a run needs for that: the
PodGroup's CRD before the operator starts (it watches PodGroups), and something that binds Pods
given to that scheduler. No batch scheduler runs here: the local backend gives kube-scheduler a
second profile under the batch scheduler's name, so its Pods are bound as the default scheduler
would bind them, without gang semantics. The claims are about the objects KubeRay makes, not about
the batch scheduler's decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import UserError

CRDS = Path(__file__).resolve().parents[1] / "crds"


@dataclass(frozen=True)
class BatchScheduler:
    name: str  # the operator's --batch-scheduler value
    scheduler_name: str  # the schedulerName KubeRay puts on the Pods
    # (apiVersion, kind) of the PodGroups KubeRay makes; None: it makes none (yunikorn's gangs are Pod
    # annotations, KAI's pod-grouper makes its own)
    pod_group: tuple[str, str] | None = None
    crd_file: str = ""  # in conformance/crds/ ("": no CRD the operator watches)
    group_annotation: str = ""  # the Pod annotation naming its PodGroup
    since: str = "v1.3.2"  # the first pinned KubeRay version whose operator knows the name


KNOWN = {
    "volcano": BatchScheduler(
        name="volcano",
        scheduler_name="volcano",
        pod_group=("scheduling.volcano.sh/v1beta1", "PodGroup"),
        crd_file="scheduling.volcano.sh_podgroups.yaml",
        group_annotation="scheduling.k8s.io/group-name",
    ),
    # Pods get schedulerName yunikorn, the RayCluster's yunikorn.apache.org/app-id and /queue labels as
    # applicationId and queue, and with ray.io/gang-scheduling-enabled its task groups (head 1, each worker
    # group minReplicas x numOfHosts) as an annotation (batchscheduler/yunikorn).
    "yunikorn": BatchScheduler(name="yunikorn", scheduler_name="yunikorn"),
    # Pods get schedulerName kai-scheduler and the RayCluster's kai.scheduler/queue label; KAI's own
    # pod-grouper makes the PodGroups (batchscheduler/kai-scheduler, from v1.5.1).
    "kai-scheduler": BatchScheduler(name="kai-scheduler", scheduler_name="kai-scheduler", since="v1.5.1"),
    # With ray.io/gang-scheduling-enabled on the RayCluster: a PodGroup named after it and owned by it
    # (minMember head + desired workers, made once, never resized) and its name as a Pod label
    # (batchscheduler/scheduler-plugins, from v1.4.2).
    "scheduler-plugins": BatchScheduler(
        name="scheduler-plugins",
        scheduler_name="scheduler-plugins-scheduler",
        pod_group=("scheduling.x-k8s.io/v1alpha1", "PodGroup"),
        crd_file="scheduling.x-k8s.io_podgroups.yaml",
        since="v1.4.2",
    ),
}


def known(name: str) -> BatchScheduler:
    """The batch scheduler ``name``; an unknown one is a usage error (exit 2)."""
    try:
        return KNOWN[name]
    except KeyError:
        raise UserError(
            f"--batch-scheduler: {name!r} is not one this harness can run; known: {', '.join(sorted(KNOWN))}"
        ) from None


def crd(name: str) -> Path | None:
    """The CRD of the PodGroups the operator makes and watches for ``name`` (None: it makes none)."""
    found = known(name).crd_file
    return CRDS / found if found else None


def check_version(name: str, version: str) -> None:
    """A usage error (exit 2) when KubeRay ``version``'s operator does not know ``name`` (it would exit)."""
    since = known(name).since

    def key(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.lstrip("v").split("."))

    if key(version) < key(since):
        raise UserError(
            f"--batch-scheduler {name}: KubeRay {version}'s operator does not know it (from {since})"
        )


def scheduler_configuration(name: str) -> dict[str, Any]:
    """A KubeSchedulerConfiguration with the default profile and one named as the batch scheduler's
    Pods ask (kwokctl appends the client connection)."""
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "leaderElection": {"leaderElect": False},
        "profiles": [{"schedulerName": "default-scheduler"}, {"schedulerName": known(name).scheduler_name}],
    }
