"""Pinned versions, read from ``versions.yaml`` (the single source of truth)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from conformance.errors import UserError


@dataclass(frozen=True)
class KubeRayVersion:
    version: str  # "v1.6.2"
    chart: str  # Helm chart version
    ray_image: str
    ray_version: str


@dataclass(frozen=True)
class Tool:
    name: str  # "kind"
    module: str  # the Go package `go install` builds ("sigs.k8s.io/kind")
    version: str


@dataclass(frozen=True)
class GoModule:
    """A Go module whose files (not a build) the harness uses, fetched through the Go module proxy."""

    module: str  # "sigs.k8s.io/gateway-api"
    version: str


@dataclass(frozen=True)
class KartaCrd:
    commit: str  # of github.com/run-ai/karta
    path: str  # the CRD's path in that repository
    file: str  # the copy in this package

    @property
    def label(self) -> str:
        """``run.ai/v1alpha1 @ 0269900`` (what admitted a definition, in verdicts)."""
        return f"run.ai/v1alpha1 CRD @ {self.commit[:7]}"

    def text(self) -> str:
        return resources.files("conformance").joinpath(self.file).read_text()


@dataclass(frozen=True)
class Versions:
    default_kuberay: str
    kuberay: dict[str, KubeRayVersion]
    kuberay_module: str
    chart_repository: str
    kubernetes: str
    etcd: str
    kwok: str
    ray: str
    ray_constraints: tuple[str, ...]
    kind_node_images: tuple[str, ...]
    kind_operator_image: str
    kind_gpus_per_node: int
    tools: dict[str, Tool]
    karta_crd: KartaCrd
    redis_image: str  # docker.io/library/redis:7.0.15, the Redis beside the GCS fault-tolerance scenarios
    # sigs.k8s.io/gateway-api: its standard-channel CRDs, for KubeRay's incremental RayService upgrade
    gateway_api: GoModule
    # sigs.k8s.io/kueue: its manager (built from cmd/kueue) and CRDs, for the Kueue scenarios (local backend)
    kueue: GoModule

    def kuberay_version(self, version: str | None) -> KubeRayVersion:
        """The pinned entry for ``version`` (the default when None); exit 2 on an unknown one."""
        wanted = version or self.default_kuberay
        if not wanted.startswith("v"):
            wanted = f"v{wanted}"
        if wanted not in self.kuberay:
            supported = ", ".join(self.kuberay)
            raise UserError(f"--kuberay-version: unknown KubeRay version {version!r}; supported: {supported}")
        return self.kuberay[wanted]

    def node_image(self, wanted: str | None) -> str:
        """The pinned kind node image for ``wanted`` (an image, a Kubernetes version such as v1.33
        or v1.33.4, or None for the default); exit 2 on one not in the versions file."""
        if not wanted:
            return self.kind_node_images[0]
        for image in self.kind_node_images:
            tag = image.split("@", 1)[0].rsplit(":", 1)[-1]
            if wanted in (image, image.split("@", 1)[0], tag) or tag.startswith(f"{wanted}."):
                return image
        supported = ", ".join(i.split("@", 1)[0] for i in self.kind_node_images)
        raise UserError(f"--kind-image: {wanted!r} is not pinned in versions.yaml; pinned: {supported}")

    @staticmethod
    def node_kubernetes(image: str) -> str:
        """kindest/node:v1.34.0@sha256:... -> v1.34.0"""
        return image.split("@", 1)[0].rsplit(":", 1)[-1]

    @property
    def redis_version(self) -> str:
        """docker.io/library/redis:7.0.15 -> 7.0.15 (the Redis the image holds)."""
        return self.redis_image.rsplit(":", 1)[-1]

    @property
    def staging(self) -> str:
        """The k8s.io/* staging module version matching ``kubernetes`` (v1.34.4 -> v0.34.4)."""
        return "v0." + self.kubernetes.removeprefix("v").split(".", 1)[1]


@functools.cache
def load() -> Versions:
    raw: dict[str, Any] = yaml.safe_load(resources.files("conformance").joinpath("versions.yaml").read_text())
    kuberay = raw["kuberay"]
    return Versions(
        default_kuberay=kuberay["default"],
        kuberay={
            name: KubeRayVersion(
                version=name,
                chart=str(v["chart"]),
                ray_image=v["ray_image"],
                ray_version=str(v["ray_version"]),
            )
            for name, v in kuberay["versions"].items()
        },
        kuberay_module=kuberay["module"],
        chart_repository=kuberay["chart_repository"],
        kubernetes=raw["local"]["kubernetes"],
        etcd=raw["local"]["etcd"],
        kwok=raw["local"]["kwok"],
        ray=str(raw["local"]["ray"]),
        ray_constraints=tuple(raw["local"].get("ray_constraints") or ()),
        kind_node_images=tuple(raw["kind"]["node_images"]),
        kind_operator_image=raw["kind"]["operator_image"],
        kind_gpus_per_node=int(raw["kind"]["gpus_per_node"]),
        tools={
            name: Tool(name=name, module=t["module"], version=t["version"])
            for name, t in (raw.get("tools") or {}).items()
        },
        karta_crd=KartaCrd(**raw["karta_crd"]),
        redis_image=str(raw["redis_image"]),
        gateway_api=GoModule(str(raw["gateway_api"]["module"]), str(raw["gateway_api"]["version"])),
        kueue=GoModule(str(raw["kueue"]["module"]), str(raw["kueue"]["version"])),
    )
