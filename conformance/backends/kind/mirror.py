"""The kind backend's registry mirror and Helm repository, as data: names, commands, files.

A hosted CI runner pulls ``quay.io/kuberay/operator``, ``docker.io/rayproject/ray`` and
``docker.io/library/redis`` from their registries and installs the chart from KubeRay's Helm
repository. Where no registry answers (this project's own machines), the kind backend does exactly
the same, but through a mirror it runs itself:

- **an OCI registry** (``crane registry serve``, built from ``github.com/google/go-containerregistry``)
  in a container on kind's Docker network, holding the images built here under their *official*
  repository paths (``kuberay/operator``, ``rayproject/ray``, ``library/redis``);
- every node's containerd told, by the standard ``hosts.toml`` of each registry host, to ask that
  mirror first (``config_path`` set by a ``containerdConfigPatches`` entry of the kind config);
- **a Helm repository** over loopback HTTP (``index.yaml`` and the chart archive) when the chart comes
  from a local folder: ``helm repo add`` and ``helm install <repo>/kuberay-operator --version`` as on a
  hosted runner, only the repository's URL differs.

No workload image is in the node image: the Pods pull their images by their official names, and
containerd resolves them through the mirror. Pure: ``provider.py`` runs these commands.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

# The registry hosts the mirror answers for, and where each one really is (a hosts.toml's ``server``).
UPSTREAM = {
    "quay.io": "https://quay.io",
    "docker.io": "https://registry-1.docker.io",
    "registry.k8s.io": "https://registry.k8s.io",
}
CONTAINER = "karta-conformance-registry"  # the registry's container, on kind's network under this name
PORT = 5000  # the registry's port inside its container (and on kind's network)
HOST_PORT_ENV = "KARTA_CONFORMANCE_REGISTRY_PORT"
# The registry's port on this machine's loopback, where `docker push` publishes: fixed, because Docker
# remembers which layers it pushed per registry address (a new port would push every layer again).
HOST_PORT = 5110
KIND_NETWORK = "kind"  # the Docker network kind puts its nodes on
HOSTS_DIR = "/etc/containerd/certs.d"
STORAGE = "/var/lib/registry"  # the blobs, a folder of the cache mounted into the container
IMAGE_REPOSITORY = "karta-conformance/registry"

CONTAINERD_PATCH = f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{HOSTS_DIR}"\n'


@dataclass(frozen=True)
class Reference:
    """An image reference split as a registry sees it: ``docker.io``, ``rayproject/ray``, ``2.52.0``."""

    host: str
    path: str
    tag: str

    @classmethod
    def parse(cls, image: str) -> Reference:
        """Docker's normalisation: no host means ``docker.io``; one path element means ``library/``."""
        name, _, tag = image.split("@", 1)[0].rpartition(":")
        if not name or "/" in tag:  # no tag (a ':' of a host's port, or none at all)
            name, tag = image.split("@", 1)[0], "latest"
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            host, path = first, rest
        else:
            host, path = "docker.io", name
        if host == "docker.io" and "/" not in path:
            path = f"library/{path}"
        return cls(host, path, tag)

    @property
    def official(self) -> str:
        """The fully qualified name containerd lists (``docker.io/rayproject/ray:2.52.0``)."""
        return f"{self.host}/{self.path}:{self.tag}"

    def at(self, registry: str) -> str:
        """The same repository path and tag at another registry (``127.0.0.1:5110/rayproject/ray:2.52.0``)."""
        return f"{registry}/{self.path}:{self.tag}"


def endpoint() -> str:
    """The mirror as the nodes reach it, by its container's name on kind's network."""
    return f"http://{CONTAINER}:{PORT}"


def image_tag(crane_version: str) -> str:
    return f"{IMAGE_REPOSITORY}:{crane_version}"


def hosts_toml(host: str) -> str:
    """containerd's ``hosts.toml`` for one registry host: the mirror first, for pulls only; the
    registry itself stays the ``server`` (tried when the mirror lacks an image)."""
    return f'server = "{UPSTREAM[host]}"\n\n[host."{endpoint()}"]\n  capabilities = ["pull", "resolve"]\n'


def write_hosts(docker: str, node: str, host: str) -> list[str]:
    """Write ``hosts_toml(host)`` (on stdin) into ``node``; containerd reads it at the next pull."""
    folder = f"{HOSTS_DIR}/{host}"
    return [docker, "exec", "-i", node, "sh", "-c", f"mkdir -p {folder} && cat > {folder}/hosts.toml"]


def collisions(images: list[str]) -> list[tuple[str, str]]:
    """Pairs of images from different hosts that one mirror would hold under the same path."""
    seen: dict[str, Reference] = {}
    clashes = []
    for image in images:
        ref = Reference.parse(image)
        other = seen.setdefault(f"{ref.path}:{ref.tag}", ref)
        if other.host != ref.host:
            clashes.append((other.official, ref.official))
    return clashes


# -- the registry's container --------------------------------------------------------------------------


def inspect_running(docker: str) -> list[str]:
    """Whether the registry runs, the folder its blobs are in, and its port on loopback: ``true /path 5110``."""
    template = (
        "{{.State.Running}} {{range .Mounts}}{{.Source}}{{end}} "
        "{{range $p, $b := .HostConfig.PortBindings}}{{range $b}}{{.HostPort}}{{end}}{{end}}"
    )
    return [docker, "container", "inspect", "--format", template, CONTAINER]


def reusable(inspected: str, storage: str, host_port: int) -> bool:
    """A running registry is this run's when it keeps its blobs in this cache and listens where we push."""
    return inspected.split() == ["true", storage, str(host_port)]


def remove(docker: str) -> list[str]:
    return [docker, "rm", "--force", CONTAINER]


def run(docker: str, image: str, storage: str, host_port: int, user: str) -> list[str]:
    """The registry, detached, as the calling user (its blobs in ``storage``), published on loopback only."""
    return [
        docker, "run", "--detach", "--name", CONTAINER, "--restart", "no", "--user", user,
        "--volume", f"{storage}:{STORAGE}", "--publish", f"127.0.0.1:{host_port}:{PORT}",
        image, "registry", "serve", "--address", f":{PORT}", "--disk", STORAGE,
    ]  # fmt: skip


def connect(docker: str) -> list[str]:
    """The registry joins kind's network (kind creates it with the first cluster), reachable by name."""
    return [docker, "network", "connect", KIND_NETWORK, CONTAINER]


def push(docker: str, image: str, host_port: int) -> list[list[str]]:
    """Publish a local image under its official path: tag it at the loopback address, push, untag."""
    local = Reference.parse(image).at(f"127.0.0.1:{host_port}")
    return [[docker, "tag", image, local], [docker, "push", "--quiet", local], [docker, "rmi", local]]


def node_images(docker: str, node: str) -> list[str]:
    """The images a node's CRI holds, as JSON (``repoTags``, ``repoDigests``)."""
    return [docker, "exec", node, "crictl", "images", "--output", "json"]


def image_names(listing: str) -> list[str]:
    """Every tag and digest reference in ``crictl images --output json``."""
    names: list[str] = []
    for image in json.loads(listing or "{}").get("images") or []:
        names += [str(n) for n in (image.get("repoTags") or []) + (image.get("repoDigests") or [])]
    return names


# -- the Helm repository ---------------------------------------------------------------------------------


def helm_package(helm: str, chart: str, destination: str) -> list[str]:
    return [helm, "package", chart, "--destination", destination]


def helm_index(helm: str, folder: str) -> list[str]:
    """``index.yaml`` with URLs relative to the repository (Helm resolves them against its URL)."""
    return [helm, "repo", "index", folder]
