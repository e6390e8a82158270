"""Live: the workloads ask for their images by their official names, and on kind the nodes hold only those.

Where the images are built here, they reach kind's nodes through the registry mirror (``kind/mirror.py``),
never by ``kind load`` or inside the node image: what each node's containerd lists is what a hosted
runner's would list. Every backend: the fixtures as the scenarios create them name the pinned official images.
"""

from __future__ import annotations

import re

import pytest

from conformance import fixtures, versions
from conformance.backends.base import Provider
from conformance.backends.kind import mirror
from conformance.backends.kind.provider import KindProvider
from conformance.live.session import LiveSession

pytestmark = pytest.mark.live

# What a node holds besides the workloads' images: Kubernetes' own, and the node image's CNI (kind's
# kindnetd on an upstream node image; the CNI DaemonSet of our own on the node image built here).
NODE_OWN = ("registry.k8s.io/", "docker.io/kindest/", "docker.io/karta-conformance/kind-cni")
# The digest references `ctr images import --digests` makes while a node image is built (kind's own
# `build node-image` imports so): `import-<date>@sha256:...`, which the CRI lists as `docker.io/library/import-<date>`.
IMPORTED = re.compile(r"(docker\.io/library/)?import-\d{4}-\d{2}-\d{2}")


def repositories(listed: list[str]) -> set[str]:
    """The repositories of a node's image references (tags and digests dropped; content ids left out)."""
    found = set()
    for name in listed:
        if name.startswith("sha256:"):
            continue
        name = name.split("@", 1)[0]
        last = name.rsplit("/", 1)[-1]
        found.add(name.rsplit(":", 1)[0] if ":" in last else name)
    return found


def images_of(node: object) -> set[str]:
    """Every container image a manifest names."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                found |= {str(c["image"]) for c in value if isinstance(c, dict) and "image" in c}
            found |= images_of(value)
    elif isinstance(node, list):
        for item in node:
            found |= images_of(item)
    return found


def tagged(listed: list[str]) -> set[str]:
    return {name for name in listed if "@" not in name and not name.startswith("sha256:")}


def test_kind_nodes_hold_the_workloads_images_by_their_official_names_only(
    provider: Provider, session: LiveSession
) -> None:
    pins = versions.load()
    kuberay = pins.kuberay_version(provider.kuberay_version)
    asked = set()
    for fixture in fixtures.load_fixtures():
        rendered = fixtures.render(fixture.object, kuberay.ray_image, kuberay.ray_version)
        adapt = getattr(provider, "adapt_manifest", None)
        asked |= images_of(adapt(rendered) if adapt else rendered)
    assert asked and asked <= {kuberay.ray_image, pins.redis_image}, asked
    if not isinstance(provider, KindProvider):
        assert provider.name in ("local", "existing"), (
            provider.name
        )  # kwok's nodes, or nodes not ours to list
        return
    plan = provider.plan
    references = [mirror.Reference.parse(image) for image in plan.workload_images()]
    official = {f"{ref.host}/{ref.path}" for ref in references}
    nodes = [line.removeprefix("node/") for line in provider.kubectl(*plan.list_nodes()).split()]
    listed = {node: provider.node_images(node) for node in nodes}
    held: dict[str, set[str]] = {node: tagged(names) for node, names in listed.items()}
    for node, names in listed.items():
        foreign = sorted(
            repository
            for repository in repositories(names)
            if repository not in official
            and not repository.startswith(NODE_OWN)
            and not IMPORTED.fullmatch(repository)
        )
        assert not foreign, f"{node} holds images by names no hosted runner would pull: {foreign}"
    for node in (n for n in nodes if plan.schedulable(n)):
        for image in plan.prepulled():
            assert mirror.Reference.parse(image).official in held[node], f"{node} lacks {image}"
    operator = mirror.Reference.parse(plan.operator_image).official
    assert any(operator in found for found in held.values()), f"no node pulled {operator}"
    through = f"through the registry mirror {mirror.endpoint()}"
    assert (through in session.header) == plan.mirror, session.header
