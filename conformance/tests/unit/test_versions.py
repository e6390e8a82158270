"""conformance/versions.py: every pin in versions.yaml is usable; unpinned versions are refused."""

from __future__ import annotations

import pytest

from conformance import versions
from conformance.errors import UserError

pytestmark = pytest.mark.unit


def test_every_pinned_version_resolves() -> None:
    """Each pin is usable as the rest of the harness asks for it, whatever versions.yaml pins."""
    pins = versions.load()
    assert pins.default_kuberay in pins.kuberay
    assert pins.kuberay_version(None) is pins.kuberay[pins.default_kuberay]
    for name, pinned in pins.kuberay.items():
        assert pinned.version == name
        assert pins.kuberay_version(name) is pins.kuberay_version(name.removeprefix("v")) is pinned
        assert pinned.chart == name.removeprefix("v")  # the Helm chart of the same release
    for image in pins.kind_node_images:
        tag = pins.node_kubernetes(image)
        assert pins.node_image(tag) == pins.node_image(tag.rsplit(".", 1)[0]) == image
    major, minor, patch = pins.kubernetes.removeprefix("v").split(".")
    assert pins.staging == f"v0.{minor}.{patch}" and major == "1"
    for version in (pins.kubernetes, pins.etcd, pins.kwok, *(t.version for t in pins.tools.values())):
        assert version.startswith("v") and all(part.isdigit() for part in version[1:].split(".")), version


def test_every_pinned_ray_image_matches_its_ray_version() -> None:
    """The fixtures' rayVersion is rendered from ray_version; KubeRay needs it to match the image."""
    for pinned in versions.load().kuberay.values():
        assert pinned.ray_image == f"rayproject/ray:{pinned.ray_version}", pinned.version


def test_node_images_come_from_the_versions_file() -> None:
    pins = versions.load()
    assert pins.node_image(None) == pins.kind_node_images[0]
    with pytest.raises(
        UserError, match=r"--kind-image: 'v1.29' is not pinned in versions.yaml; pinned: kindest/node:"
    ):
        pins.node_image("v1.29")


def test_the_redis_image_is_pinned_under_its_official_name() -> None:
    """The Redis beside the GCS fault-tolerance scenarios: the official image's full name with a Redis
    release (what Debian bookworm's redis-server provides), which the offline build tags and checks."""
    pins = versions.load()
    repository, tag = pins.redis_image.rsplit(":", 1)
    assert repository == "docker.io/library/redis"
    assert tag == pins.redis_version
    assert len(tag.split(".")) == 3 and all(part.isdigit() for part in tag.split(".")), tag
