"""The one place that knows every backend: ``--cluster NAME`` to a Provider."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from conformance.backends.base import Provider
from conformance.backends.docker import docker_answers
from conformance.errors import UserError
from conformance.progress import say


def make_provider(
    cluster: str,
    kuberay_version: str | None = None,
    kubeconfig: str | None = None,
    name: str = "karta",
    node_image: str | None = None,
    keep: bool = False,
    announce: Callable[[str], None] = say,
    chart_source: str | None = None,
    batch_scheduler: str | None = None,
) -> Provider:
    """The provider for ``--cluster`` (auto: kind when a Docker daemon answers, local otherwise).
    ``batch_scheduler``: the KubeRay operator runs with ``--batch-scheduler`` (local backend only)."""
    from conformance import versions
    from conformance.backends import batch_schedulers

    if batch_scheduler:
        batch_schedulers.known(batch_scheduler)  # exit 2 on an unknown name, before any backend work

    pins = versions.load()
    version = pins.kuberay_version(kuberay_version).version
    if batch_scheduler:
        batch_schedulers.check_version(batch_scheduler, version)
    if cluster == "auto":
        cluster = "kind" if docker_answers() else "local"
        if cluster == "local":
            announce(
                "no Docker daemon answers (`docker info`), so --cluster auto uses the local backend "
                "(real control plane and KubeRay, kwok simulates nodes and kubelets)"
            )
    if cluster == "local":
        from conformance.backends.local.provider import LocalProvider

        return LocalProvider(version, name=name, batch_scheduler=batch_scheduler or "")
    if batch_scheduler:
        raise UserError(
            f"--batch-scheduler runs on the local backend only (--cluster local), not {cluster}: the kind "
            "backend would need a kube-scheduler profile for it in its node image, an existing cluster its "
            "own operator configuration"
        )
    if cluster == "existing":
        from conformance.backends.existing import ExistingProvider

        if not kubeconfig:
            raise UserError("--cluster existing needs --kubeconfig PATH")
        return ExistingProvider(kubeconfig, version)
    if cluster == "kind":
        from conformance.backends.kind.provider import KindProvider

        return KindProvider(version, name=name, node_image=node_image, keep=keep, chart_source=chart_source)
    raise UserError(f"--cluster: unknown backend {cluster!r}; use auto, local, kind or existing")


def local_cluster_command(action: str, name: str = "karta", kuberay_version: str | None = None) -> int:
    """``karta-conformance cluster up|down|status``: a local backend cluster that outlives the command."""
    from conformance.backends.local.commands import cluster_command

    return cluster_command(action, name=name, kuberay_version=kuberay_version)


def offline_images() -> ModuleType:
    """The kind backend's offline image builder (``karta-conformance images build|list``)."""
    from conformance.backends.kind import imagebuild

    return imagebuild
