"""Live, kind: the nodes hold the workloads' images by their official names only, as on a hosted runner.

Where the images are built here, they reach the nodes through the registry mirror (``kind/mirror.py``),
never by ``kind load`` or inside the node image: what each node's containerd lists is what a hosted
runner's would list. On the local backend there is no container runtime to ask (kwok's nodes): skipped,
with the reason.
"""

from __future__ import annotations

import re

import pytest

from conformance.backends.base import Provider
from conformance.backends.kind import mirror
from conformance.backends.kind.provider import KindProvider
from conformance.live.session import LiveSession

pytestmark = pytest.mark.live

# What a node holds besides the workloads' images: Kubernetes' own, and the node image's CNI (kind's
# kindnetd on an upstream node image; the CNI DaemonSet of our own on the node image built here).
NODE_OWN = ("registry.k8s.io/", "docker.io/kindest/", "docker.io/karta-conformance/kind-cni")
# The digest references `ctr images import --digests` makes while a node image is built (kind's own
# `build node-image` imports so): `import-<date>@sha256:...`.
IMPORTED = re.compile(r"import-\d{4}-\d{2}-\d{2}")


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


def tagged(listed: list[str]) -> set[str]:
    return {name for name in listed if "@" not in name and not name.startswith("sha256:")}


def test_kind_nodes_hold_the_workloads_images_by_their_official_names_only(
    provider: Provider, session: LiveSession
) -> None:
    if not isinstance(provider, KindProvider):
        pytest.skip(f"the {provider.name} backend has no container runtime on its nodes (kind only)")
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
