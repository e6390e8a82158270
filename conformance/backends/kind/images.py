"""The offline images of the kind backend, as data: what each is made of, how it is tagged, its cache key.

Part of the kind plan (``plan.py`` says what the backend runs; this says what it runs *on* when no
container registry is reachable). Pure: no Docker, no files read. ``imagebuild.py`` executes it.

Every image starts from one Debian rootfs made by ``debootstrap`` (a Debian package; the Debian
archive is reachable where registries are not) and imported into Docker. On top of it:

- the kind **base** image: kind's own ``images/base/files`` (from the pinned ``sigs.k8s.io/kind``
  module) with Debian's systemd, containerd, runc and CNI plugins instead of kind's downloads;
- the **component images** a kind node preloads, named exactly as kubeadm and kind's containerd
  config look for them (control plane, kube-proxy, etcd, CoreDNS, pause) plus a small CNI
  DaemonSet image of our own (kind's kindnetd is not a Go module the proxy serves);
- the **node image**: the base with kubelet/kubeadm/kubectl and those images imported into its
  containerd (``ctr images import --no-unpack``, as ``kind build node-image`` does), committed;
- the **KubeRay operator** image of a version, tagged with its official name;
- a **Ray** image of a version: Debian, Python, PyPI ``ray[serve]`` (constrained), and the tools
  KubeRay's probes and commands use (bash, wget, grep, ``python``): nothing the official
  ``rayproject/ray`` image lacks (``conformance/tests/unit/official_images.yaml``);
- the **Redis** image the GCS fault-tolerance scenarios run beside their workloads, tagged with the
  official name pinned in ``versions.yaml`` (``docker.io/library/redis:<version>``): Debian's
  ``redis-server`` and ``redis-tools`` of that version behind the official image's interface
  (``docker-entrypoint.sh``, ``CMD redis-server``, port 6379).

- the **registry** the kind backend runs as its mirror (``crane``, static, ``FROM scratch``; ``mirror.py``);
- **Kueue's manager** under its official name (``registry.k8s.io/kueue/kueue:<version>``): built on demand by the
  first scenario that queues a workload (``kueue.py``), not by ``images build``.

The workloads' images (operator, Ray, Redis) are not in the node image: the nodes pull them by their
official names through that mirror, as a hosted runner pulls them from their registries.

Each image carries a label with the digest of its inputs; a build is skipped when the tagged
image carries the same digest.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

INPUTS_LABEL = "karta.conformance.inputs"
REPOSITORY = "karta-conformance"

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_INCLUDE = ("ca-certificates",)

# kind's base image installs these from apt (minus NFS/iSCSI/fuse, which nothing here uses) and
# downloads containerd, runc, crictl and CNI plugins from release pages; Debian packages all but crictl,
# which is built from its Go module (``sigs.k8s.io/cri-tools``, pinned in versions.yaml's tools).
NODE_PACKAGES = (
    "systemd",
    "conntrack",
    "iptables",
    "nftables",
    "iproute2",
    "ethtool",
    "util-linux",
    "mount",
    "kmod",
    "libseccomp2",
    "pigz",
    "bash",
    "ca-certificates",
    "curl",
    "jq",
    "procps",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "python3",  # the runc wrapper (capabilities this machine's bounding set lacks)
)

# What the official rayproject/ray image holds too (no redis-server: Redis is an image of its own).
RAY_PACKAGES = (
    "python3",
    "python3-venv",
    "python-is-python3",
    "bash",
    "wget",
    "grep",
    "procps",
    "ca-certificates",
)
RAY_UID = 1000
RAY_VENV = "/opt/ray"

RUNC_WRAPPER = "/usr/local/sbin/runc-bounded"

ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def digest(*parts: object) -> str:
    """A short, stable digest of JSON-able parts (a cache key)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Recipe:
    """One ``docker build`` (legacy builder: no BuildKit here): the Dockerfile and its context.

    ``files`` maps a context name to a key of what goes there (a host path is resolved by the
    builder; its content digest joins the inputs).
    """

    tag: str
    dockerfile: str
    files: tuple[str, ...] = ()
    extra_tags: tuple[str, ...] = ()
    inputs: tuple[str, ...] = field(default_factory=tuple)

    def key(self, file_digests: dict[str, str]) -> str:
        return digest(self.tag, self.dockerfile, sorted(file_digests.items()), self.inputs)


# -- the Debian rootfs ------------------------------------------------------------------------------


def rootfs_tag() -> str:
    return f"{REPOSITORY}/debian:{DEBIAN_SUITE}"


def rootfs_key() -> str:
    return digest("debootstrap", DEBIAN_SUITE, DEBIAN_MIRROR, "minbase", DEBIAN_INCLUDE)


def debootstrap(target: str) -> list[str]:
    return [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(DEBIAN_INCLUDE)}",
        DEBIAN_SUITE,
        target,
        DEBIAN_MIRROR,
    ]


def docker_import(docker: str, key: str) -> list[str]:
    return [
        docker,
        "import",
        "--change",
        f"ENV {ENV_PATH}",
        "--change",
        f"LABEL {INPUTS_LABEL}={key}",
        "-",
        rootfs_tag(),
    ]


def _apt(packages: tuple[str, ...]) -> str:
    return (
        "RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
        + " ".join(packages)
        + " && apt-get clean && rm -rf /var/lib/apt/lists/*\n"
    )


# -- the kind base image ----------------------------------------------------------------------------


def base_tag(kind_version: str) -> str:
    return f"{REPOSITORY}/kind-base:{kind_version}"


def base_recipe(kind_version: str) -> Recipe:
    """kind's ``images/base``, its files as kind ships them, its packages from Debian.

    Context: ``files/`` (kind's base files, modes fixed, containerd config pointing its runc
    runtime at the wrapper), ``runc-bounded`` (the wrapper) and ``crictl`` (static, as kind ships it)."""
    dockerfile = (
        f"FROM {rootfs_tag()}\n"
        + _apt(NODE_PACKAGES)
        + "COPY files/ /\n"
        + f"COPY runc-bounded {RUNC_WRAPPER}\n"
        + "COPY crictl /usr/local/bin/crictl\n"
        + "RUN find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete"
        " && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/*"
        " /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev*"
        " /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*"
        ' && echo "ReadKMsg=no" >> /etc/systemd/journald.conf'
        ' && ln -sf "$(command -v systemd)" /sbin/init'
        " && ln -sf /usr/bin/containerd /usr/local/bin/containerd"
        ' && mkdir -p /opt/cni/bin && for p in /usr/lib/cni/*; do ln -sf "$p" /opt/cni/bin/; done\n'
        "RUN ctr oci spec"
        ' | jq \'.hooks.createContainer[.hooks.createContainer|length] |= . + {"path": "/kind/bin/mount-product-files.sh"}\''
        " | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json && containerd --version\n"
        "RUN systemctl enable kubelet.service containerd.service undo-mount-hacks.service"
        " && systemctl mask systemd-binfmt.service && mkdir -p /etc/kubernetes/manifests\n"
        "ENV container=docker\n"
        "STOPSIGNAL SIGRTMIN+3\n"
        'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]\n'
    )
    return Recipe(
        tag=base_tag(kind_version), dockerfile=dockerfile, files=("files", "runc-bounded", "crictl")
    )


def containerd_config(kind_config: str) -> str:
    """kind's containerd config with its runc runtimes run through the wrapper (``BinaryName``), and
    ``restrict_oom_score_adj`` on: lowering a process's OOM score needs CAP_SYS_RESOURCE, which a
    bounding set without it (this machine's) cannot give, so Pod sandboxes with a negative score
    (system-critical Pods) would fail to start; containerd then clamps the score at its own."""
    out: list[str] = []
    for line in kind_config.replace(
        "restrict_oom_score_adj = false", "restrict_oom_score_adj = true"
    ).splitlines():
        out.append(line)
        if line.strip() == "SystemdCgroup = true":
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}BinaryName = "{RUNC_WRAPPER}"')
    return "\n".join(out) + "\n"


# -- the images a node preloads ---------------------------------------------------------------------


@dataclass(frozen=True)
class NodeImages:
    """The names kubeadm (``kubeadm config images list``) and kind's containerd config look for."""

    kubernetes: str  # v1.34.4
    etcd_tag: str  # 3.6.4-0 (kubeadm is told this tag: the etcd built here)
    coredns: str  # v1.12.1
    pause: tuple[str, ...]  # kubeadm's pause version and the sandbox_image of kind's containerd config

    def control_plane(self, name: str) -> str:
        return f"registry.k8s.io/{name}:{self.kubernetes}"

    @property
    def etcd(self) -> str:
        return f"registry.k8s.io/etcd:{self.etcd_tag}"

    @property
    def coredns_image(self) -> str:
        return f"registry.k8s.io/coredns/coredns:{self.coredns}"

    @property
    def pause_images(self) -> tuple[str, ...]:
        return tuple(f"registry.k8s.io/pause:{v}" for v in self.pause)

    @property
    def cni_image(self) -> str:
        return f"{REPOSITORY}/kind-cni:v1"


COREDNS = "v1.12.1"  # kubeadm 1.34's CoreDNSVersion
PAUSE = ("3.10.1", "3.10")  # kubeadm 1.34's PauseVersion; kind v0.30's containerd sandbox_image
ETCD_TAG_SUFFIX = "-0"


def node_images_for(pins: Any) -> NodeImages:
    """The images of the offline node for the local backend's pinned Kubernetes and etcd."""
    return NodeImages(
        kubernetes=pins.kubernetes,
        etcd_tag=pins.etcd.removeprefix("v") + ETCD_TAG_SUFFIX,
        coredns=COREDNS,
        pause=PAUSE,
    )


def static_binary_recipe(
    tag: str, binary: str, extra_tags: tuple[str, ...] = (), entrypoint: bool = False
) -> Recipe:
    """An image of one static Go binary on PATH (``FROM scratch``)."""
    dockerfile = f"FROM scratch\nCOPY {binary} /usr/local/bin/{binary}\nENV {ENV_PATH}\n"
    if entrypoint:
        dockerfile += f'ENTRYPOINT ["/usr/local/bin/{binary}"]\n'
    return Recipe(tag=tag, dockerfile=dockerfile, files=(binary,), extra_tags=extra_tags)


def coredns_recipe(images: NodeImages) -> Recipe:
    # kubeadm's Deployment passes only args (-conf ...): the image's entrypoint is the binary.
    dockerfile = f'FROM scratch\nCOPY coredns /coredns\nENV {ENV_PATH}\nENTRYPOINT ["/coredns"]\n'
    return Recipe(tag=images.coredns_image, dockerfile=dockerfile, files=("coredns",))


def pause_recipe(images: NodeImages) -> Recipe:
    dockerfile = 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
    tags = images.pause_images
    return Recipe(tag=tags[0], dockerfile=dockerfile, files=("pause",), extra_tags=tags[1:])


def kube_proxy_recipe(images: NodeImages) -> Recipe:
    dockerfile = (
        f"FROM {rootfs_tag()}\n"
        + _apt(("iptables", "nftables", "conntrack", "kmod", "iproute2"))
        + "COPY kube-proxy /usr/local/bin/kube-proxy\n"
    )
    return Recipe(tag=images.control_plane("kube-proxy"), dockerfile=dockerfile, files=("kube-proxy",))


def cni_recipe(images: NodeImages) -> Recipe:
    dockerfile = (
        f"FROM {rootfs_tag()}\n"
        + _apt(("iproute2", "curl", "jq", "ca-certificates"))
        + "COPY kind-cni /usr/local/bin/kind-cni\n"
        + 'ENTRYPOINT ["/bin/sh", "/usr/local/bin/kind-cni"]\n'
    )
    return Recipe(tag=images.cni_image, dockerfile=dockerfile, files=("kind-cni",))


# The CNI DaemonSet's loop: this node's Pod CIDR as a ptp/host-local CNI config, and a route to every
# other node's Pod CIDR through that node's address (all nodes share one Docker network, as kindnetd
# assumes). It reads Nodes through the API with the Pod's service account token.
CNI_SCRIPT = r"""#!/bin/sh
set -u
api="https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}"
sa=/var/run/secrets/kubernetes.io/serviceaccount
conf=/etc/cni/net.d/10-kindnet.conflist
while true; do
  nodes=$(curl -sf --max-time 10 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$api/api/v1/nodes") || { echo "kind-cni: listing nodes failed"; sleep 5; continue; }
  echo "$nodes" | jq -r '.items[] | [.metadata.name, (.status.addresses[] | select(.type=="InternalIP") | .address), (.spec.podCIDR // "")] | @tsv' |
  while IFS="$(printf '\t')" read -r name address cidr; do
    [ -n "$cidr" ] || continue
    if [ "$name" = "$NODE_NAME" ]; then
      want=$(jq -cn --arg cidr "$cidr" '{cniVersion: "0.3.1", name: "kindnet", plugins: [{type: "ptp", ipMasq: false, mtu: 1500, ipam: {type: "host-local", dataDir: "/run/cni-ipam-state", routes: [{dst: "0.0.0.0/0"}], ranges: [[{subnet: $cidr}]]}}, {type: "portmap", capabilities: {portMappings: true}}]}')
      if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then echo "$want" > "$conf.tmp" && mv "$conf.tmp" "$conf" && echo "kind-cni: wrote $conf for $cidr"; fi
    else
      ip route replace "$cidr" via "$address" || echo "kind-cni: route to $cidr via $address failed"
    fi
  done
  sleep 10
done
"""


def cni_manifest(images: NodeImages) -> str:
    """The node image's ``/kind/manifests/default-cni.yaml`` (kind applies it at cluster creation)."""
    return f"""---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: kind-cni, namespace: kube-system}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: kind-cni}}
rules:
- {{apiGroups: [""], resources: [nodes], verbs: [list, watch, get]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: kind-cni}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kind-cni}}
subjects:
- {{kind: ServiceAccount, name: kind-cni, namespace: kube-system}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kind-cni
  namespace: kube-system
  labels: {{app: kind-cni, k8s-app: kind-cni}}
spec:
  selector:
    matchLabels: {{app: kind-cni}}
  template:
    metadata:
      labels: {{app: kind-cni, k8s-app: kind-cni}}
    spec:
      hostNetwork: true
      priorityClassName: system-node-critical
      serviceAccountName: kind-cni
      tolerations: [{{operator: Exists}}]
      containers:
      - name: kind-cni
        image: {images.cni_image}
        imagePullPolicy: IfNotPresent
        env:
        - name: NODE_NAME
          valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}
        securityContext:
          capabilities: {{add: [NET_ADMIN, NET_RAW]}}
        resources:
          requests: {{cpu: 10m, memory: 20Mi}}
        volumeMounts:
        - {{name: cni-cfg, mountPath: /etc/cni/net.d}}
      volumes:
      - name: cni-cfg
        hostPath: {{path: /etc/cni/net.d}}
"""


# kind's own fallback when a node image ships no storage manifest (no provisioner image needed).
STORAGE_MANIFEST = """apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  namespace: kube-system
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
"""


def node_tag(kubernetes: str) -> str:
    return f"{REPOSITORY}/kind-node:{kubernetes}"


def node_component_recipes(images: NodeImages) -> list[Recipe]:
    recipes = [
        static_binary_recipe(images.control_plane(name), name)
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
    ]
    recipes += [
        kube_proxy_recipe(images),
        static_binary_recipe(images.etcd, "etcd"),
        coredns_recipe(images),
        pause_recipe(images),
        cni_recipe(images),
    ]
    return recipes


def import_image(docker: str, container: str) -> list[str]:
    """Import a ``docker save`` stream (stdin) into a build container's containerd, as kind does."""
    return [
        docker,
        "exec",
        "-i",
        container,
        "ctr",
        "--namespace=k8s.io",
        "images",
        "import",
        "--label=io.cri-containerd.pinned=pinned",
        "--all-platforms",
        "--no-unpack",
        "--digests",
        "-",
    ]


def kubeadm_patches(images: NodeImages) -> list[str]:
    """kubeadm config patches a cluster on the offline node image needs (etcd is the version built here)."""
    return [f"kind: ClusterConfiguration\netcd:\n  local:\n    imageTag: {images.etcd_tag}\n"]


# -- the KubeRay operator and Ray ---------------------------------------------------------------------


def operator_recipe(repository: str, version: str) -> Recipe:
    """The chart runs ``/manager`` as a non-root user (``runAsNonRoot``): a numeric USER is set."""
    dockerfile = 'FROM scratch\nCOPY ray-operator /manager\nUSER 65532:65532\nENTRYPOINT ["/manager"]\n'
    return Recipe(tag=f"{repository}:{version}", dockerfile=dockerfile, files=("ray-operator",))


# Kueue's official image repository: its release manifests run ``registry.k8s.io/kueue/kueue:<version>`` (the
# staging repository its Makefile pushes to is promoted there). The version is versions.yaml's ``kueue``.
KUEUE_REPOSITORY = "registry.k8s.io/kueue/kueue"


def kueue_image(version: str) -> str:
    return f"{KUEUE_REPOSITORY}:{version}"


def kueue_recipe(image: str) -> Recipe:
    """Kueue's manager as its own Dockerfile ships it (a static binary ``/manager`` on distroless
    ``static:nonroot``, ``USER 65532:65532``, ``ENTRYPOINT ["/manager"]``), here ``FROM scratch``: its Deployment
    runs ``/manager`` as a non-root user with a read-only root filesystem, and talks only to the API server."""
    dockerfile = 'FROM scratch\nCOPY kueue /manager\nUSER 65532:65532\nENTRYPOINT ["/manager"]\n'
    return Recipe(tag=image, dockerfile=dockerfile, files=("kueue",))


def ray_recipe(
    image: str, ray_version: str, constraints: tuple[str, ...], locked: bool, host_ca: bool = False
) -> Recipe:
    """Debian + Python + PyPI ``ray[serve]==ray_version``, as user ``ray`` (uid 1000, like upstream).

    With ``locked`` the context has ``requirements.txt`` (a hash lock) and pip installs it with
    ``--require-hashes``; otherwise ``constraints.txt`` constrains the resolution. With ``host_ca``
    pip trusts the host's CA bundle (``host-ca.crt``; machines whose HTTPS goes through a proxy with
    its own CA), used for the install only and not left in the image."""
    cert = " --cert /tmp/host-ca.crt" if host_ca else ""
    if locked:
        pip = f"{RAY_VENV}/bin/pip install --no-cache-dir{cert} --require-hashes -r /tmp/requirements.txt"
        files: tuple[str, ...] = ("requirements.txt",)
        copy = "COPY requirements.txt /tmp/requirements.txt\n"
    else:
        pip = f'{RAY_VENV}/bin/pip install --no-cache-dir{cert} -c /tmp/constraints.txt "ray[serve]=={ray_version}"'
        files = ("constraints.txt",)
        copy = "COPY constraints.txt /tmp/constraints.txt\n"
    if host_ca:
        files += ("host-ca.crt",)
        copy += "COPY host-ca.crt /tmp/host-ca.crt\n"
    dockerfile = (
        f"FROM {rootfs_tag()}\n"
        + _apt(RAY_PACKAGES)
        + copy
        + f"RUN python3 -m venv {RAY_VENV} && {pip} && rm -f /tmp/host-ca.crt && {RAY_VENV}/bin/ray --version"
        f" && useradd --uid {RAY_UID} --create-home --shell /bin/bash ray\n"
        + f"ENV PATH={RAY_VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        + f"USER {RAY_UID}\nWORKDIR /home/ray\n"
    )
    return Recipe(tag=image, dockerfile=dockerfile, files=files, inputs=(ray_version, *sorted(constraints)))


def registry_recipe(tag: str) -> Recipe:
    """The registry mirror: ``crane`` alone (its ``registry serve`` is an OCI registry)."""
    return static_binary_recipe(tag, "crane", entrypoint=True)


# -- Redis ----------------------------------------------------------------------------------------------

# Debian's packages of the official redis image's content: the server, the CLI (redis-tools), and gosu,
# with which the official entrypoint steps down from root to the user redis.
REDIS_PACKAGES = ("redis-server", "redis-tools", "gosu")
REDIS_UID = 999  # the official image's user and group redis
REDIS_ENTRYPOINT = "docker-entrypoint.sh"

# The official image's entrypoint interface (docker-library/redis, docker-entrypoint.sh): arguments that
# begin with an option (or a config file) are redis-server's; redis-server started as root runs as the
# user redis, owning its working directory; anything else is run as given.
REDIS_ENTRYPOINT_SCRIPT = r"""#!/bin/sh
set -e
case "$1" in
  -*|*.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec gosu redis "$0" "$@"
fi
if [ "$(umask)" = 0022 ]; then
  umask 0077
fi
exec "$@"
"""


def redis_recipe(image: str, version: str) -> Recipe:
    """``image`` (the pinned official name, ``docker.io/library/redis:<version>``) from Debian's Redis
    packages, with the official image's interface: ``ENTRYPOINT ["docker-entrypoint.sh"]``,
    ``CMD ["redis-server"]``, port 6379, working directory ``/data``, user ``redis`` (uid 999). The
    build fails unless Debian's redis-server is ``version``. One difference stays: Debian's redis-server
    starts in protected mode unless told otherwise (the official build turns that default off), so
    the scenarios pass ``--protected-mode no``.

    Context: ``docker-entrypoint.sh`` (``REDIS_ENTRYPOINT_SCRIPT``)."""
    dockerfile = (
        f"FROM {rootfs_tag()}\n"
        f"RUN groupadd --system --gid {REDIS_UID} redis"
        f" && useradd --system --gid redis --uid {REDIS_UID} --home-dir /data --no-create-home redis\n"
        + _apt(REDIS_PACKAGES)
        + f"COPY {REDIS_ENTRYPOINT} /usr/local/bin/{REDIS_ENTRYPOINT}\n"
        + f"RUN chmod 0755 /usr/local/bin/{REDIS_ENTRYPOINT} && mkdir /data && chown redis:redis /data"
        f" && redis-cli --version && redis-server --version"
        f' && redis-server --version | grep -q " v={version} "'
        " && gosu nobody true\n"
        + "VOLUME /data\n"
        + "WORKDIR /data\n"
        + f'ENTRYPOINT ["{REDIS_ENTRYPOINT}"]\n'
        + "EXPOSE 6379\n"
        + 'CMD ["redis-server"]\n'
    )
    return Recipe(tag=image, dockerfile=dockerfile, files=(REDIS_ENTRYPOINT,), inputs=(version,))
