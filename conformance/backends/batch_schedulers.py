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
    pod_group: tuple[str, str]  # (apiVersion, kind) of the PodGroups KubeRay makes
    crd_file: str  # in conformance/crds/
    group_annotation: str  # the Pod annotation naming its PodGroup


KNOWN = {
    "volcano": BatchScheduler(
        name="volcano",
        scheduler_name="volcano",
        pod_group=("scheduling.volcano.sh/v1beta1", "PodGroup"),
        crd_file="scheduling.volcano.sh_podgroups.yaml",
        group_annotation="scheduling.k8s.io/group-name",
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


def crd(name: str) -> Path:
    return CRDS / known(name).crd_file


def scheduler_configuration(name: str) -> dict[str, Any]:
    """A KubeSchedulerConfiguration with the default profile and one named as the batch scheduler's
    Pods ask (kwokctl appends the client connection)."""
    return {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "leaderElection": {"leaderElect": False},
        "profiles": [{"schedulerName": "default-scheduler"}, {"schedulerName": known(name).scheduler_name}],
    }
