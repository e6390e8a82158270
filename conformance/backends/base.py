"""The Provider interface every backend implements (no implementation is imported here)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from conformance.errors import EnvironmentProblem


class Capability(StrEnum):
    """What a scenario may ask of a backend beyond running workloads; each backend declares its own."""

    GATE = "hold-new-heads"  # hold_new_heads / release_heads: a RayService upgrade held in its pending phase
    RESTART_OPERATOR = "restart-operator"  # restart_operator: the KubeRay operator restarts mid-scenario
    APP_UNHEALTHY = "set-app-unhealthy"  # set_app_unhealthy: the fixtures' Serve app fails its health check
    # set_serve_unready: no Ray Pod of a namespace is a ready endpoint of its serve Service (the Serve
    # proxies stop answering: the operator's health check of each head fails, worker Pods turn NotReady)
    SERVE_UNREADY = "drop-serve-endpoints"
    # ray_nodes: the nodes a head's GCS lists alive (every Pod runs real Ray, workers included: what Ray's
    # autoscaler needs to scale on demand)
    RAY_NODES = "list-ray-nodes"
    # ray_submit: a Ray job submitted to a head's own dashboard, under a chosen submission id (a RayJob's
    # InteractiveMode: the user submits, the operator follows the job by spec.jobId)
    SUBMIT_RAY_JOB = "submit-ray-job"
    # Every container of every Pod runs its image's command (a RayJob's SidecarMode submitter, a container
    # of the head Pod, really submits): real kubelets
    RUN_CONTAINERS = "run-every-container"


class Unsupported(EnvironmentProblem):
    """A capability asked of a backend that does not declare it."""

    def __init__(self, backend: str, capability: Capability, reason: str) -> None:
        self.capability = capability
        self.reason = reason
        super().__init__(f"the {backend} backend cannot {capability}: {reason}")


class Provider(Protocol):
    name: str  # "local", "kind", "existing"
    timeout_scale: float  # scenario deadlines are multiplied by this (real containers are slower than kwok)
    parallel: int  # scenarios run side by side by default (each in its own namespace; --parallel overrides)
    batch_scheduler: str  # the operator's --batch-scheduler for the whole run ("": none, the chart's default)

    @property
    def capabilities(self) -> frozenset[Capability]:
        """The optional capabilities this backend offers (known once ``start()`` returned)."""
        ...

    def lacks(self, capability: Capability) -> str:
        """Why ``capability`` is not offered here (empty when it is)."""
        ...

    @property
    def kubeconfig(self) -> str: ...

    @property
    def kuberay_version(self) -> str: ...

    @property
    def kubernetes_version(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def logs(self) -> list[Path]:
        """Log files or folders worth copying into a diagnostics bundle."""
        ...

    def describe(self) -> str:
        """One line: the backend, the versions, and what is simulated."""
        ...

    def prepare_namespace(self, namespace: str) -> None:
        """Whatever a scenario namespace needs before the fixtures go in (the kind backend: the Serve app)."""
        ...

    # The optional capabilities: a backend that does not declare one raises Unsupported.

    def hold_new_heads(self, namespace: str) -> None:
        """The gate: Ray heads that start in ``namespace`` from now on hold their Serve app (DEPLOYING)."""
        ...

    def release_heads(self, namespace: str) -> None:
        """Open the gate for ``namespace``."""
        ...

    def ray_nodes(self, namespace: str, pod: str, container: str) -> list[str]:
        """The node addresses (Pod IPs) the GCS of head Pod ``pod`` lists alive, sorted
        (:class:`conformance.backends.raynodes.NoNodeList` while it cannot say)."""
        ...

    def ray_submit(
        self, namespace: str, pod: str, container: str, entrypoint: Sequence[str], submission_id: str = ""
    ) -> str:
        """Submit ``entrypoint`` as a Ray job to head Pod ``pod``'s dashboard without waiting, under
        ``submission_id`` when given (Ray makes one up otherwise); what the submission answered
        (``SUBMIT_RAY_JOB``)."""
        ...

    def restart_operator(self) -> None:
        """Fault: the KubeRay operator restarts; returns once it is ready again."""
        ...

    def set_app_unhealthy(self, namespace: str, pod: str, value: bool = True) -> None:
        """Fault: the Serve app on head Pod ``pod`` fails its health check while ``value``."""
        ...

    def set_serve_unready(self, namespace: str, value: bool = True) -> None:
        """Fault: while ``value``, the Serve proxies of ``namespace``'s Ray Pods do not answer on the
        serving port, so no Pod is a ready endpoint of a serve Service: the operator's own proxy health
        check of each head fails (it labels the head ``ray.io/serve=false``) and the worker Pods turn
        NotReady (KubeRay's readiness probe of a RayService worker asks that proxy). ``False`` restores
        them. The operator and the API server see the endpoints go; nothing of theirs is touched."""
        ...
