"""Build the kind backend's offline images (``conformance.backends.kind.images``) with the local Docker engine.

    karta-conformance images build [--kuberay-version V ...]

Binaries come from the Go-module builds of ``conformance.toolchain.build`` (shared, locked and
stamped); packages from Debian and PyPI. Each image is labelled with the digest of its inputs
and rebuilt only when they change. Docker's legacy builder is used (no BuildKit needed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from conformance import versions
from conformance.backends.kind import images, mirror
from conformance.errors import EnvironmentProblem
from conformance.progress import say, step
from conformance.toolchain import build, cache, gomod, locks, tools

# A machine whose Docker engine needs a runc wrapper for privileged containers (a capability its kernel
# refuses) names the script that set the engine up; its `--print-wrapper` is the wrapper the kind node's
# containerd then uses too. Unset: plain runc.
ENGINE_SCRIPT_ENV = "KARTA_CONFORMANCE_ENGINE_SCRIPT"
PLAIN_WRAPPER = '#!/bin/sh\nexec /usr/sbin/runc "$@"\n'


@dataclass(frozen=True)
class Built:
    tag: str
    key: str
    reused: bool
    seconds: float
    size: int  # bytes, as Docker reports the image


def folder() -> Path:
    return cache.cache_root() / "images"


# -- Docker plumbing --------------------------------------------------------------------------------


def _docker() -> str:
    found = shutil.which("docker")
    if found is None:
        raise EnvironmentProblem("building images needs `docker` (and a running Docker engine)")
    return found


def _run(argv: Sequence[str], log: Path, stdin: int | None = None) -> None:
    with open(log, "a") as output:
        output.write(f"\n$ {' '.join(argv)}\n")
        output.flush()
        completed = subprocess.run(
            list(argv), stdout=output, stderr=subprocess.STDOUT, stdin=stdin, check=False
        )
    if completed.returncode != 0:
        tail = " / ".join(log.read_text().strip().splitlines()[-3:])
        raise EnvironmentProblem(f"`{' '.join(argv[:3])} ...` failed (log: {log}): {tail}")


def _output(argv: Sequence[str]) -> str:
    completed = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise EnvironmentProblem(f"`{' '.join(argv[:4])}` failed: {completed.stderr.strip()[-300:]}")
    return completed.stdout


def label_of(tag: str) -> str | None:
    """The inputs digest an image carries, or None when Docker has no such image."""
    completed = subprocess.run(
        [
            _docker(),
            "image",
            "inspect",
            "--format",
            f'{{{{ index .Config.Labels "{images.INPUTS_LABEL}" }}}}',
            tag,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip() if completed.returncode == 0 else None


def present(tag: str) -> bool:
    return label_of(tag) is not None


def size_of(tag: str) -> int:
    return int(_output([_docker(), "image", "inspect", "--format", "{{.Size}}", tag]).strip() or 0)


def _file_digest(path: Path) -> str:
    hasher = hashlib.sha256()
    paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for item in paths:
        hasher.update(str(item.relative_to(path) if path.is_dir() else item.name).encode())
        hasher.update(str(item.stat().st_mode & 0o777).encode())
        with open(item, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(chunk)
    return hasher.hexdigest()


def _log(name: str) -> Path:
    logs = folder() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{name.replace('/', '_').replace(':', '_')}.log"


def docker_build(recipe: images.Recipe, sources: dict[str, Path], parent_key: str = "") -> Built:
    """``docker build`` a recipe unless an image with the same inputs digest is tagged already."""
    started = time.monotonic()
    digests = {name: _file_digest(sources[name]) for name in recipe.files}
    key = images.digest(recipe.key(digests), parent_key)
    if label_of(recipe.tag) == key and all(label_of(t) == key for t in recipe.extra_tags):
        return Built(recipe.tag, key, True, 0.0, size_of(recipe.tag))
    docker = _docker()
    log = _log(recipe.tag)
    log.write_text("")
    with step(f"Building image {recipe.tag}"), tempfile.TemporaryDirectory(prefix="karta-image-") as context:
        root = Path(context)
        for name in recipe.files:
            source = sources[name]
            if source.is_dir():
                shutil.copytree(source, root / name, symlinks=True)
            else:
                shutil.copy2(source, root / name)
        (root / "Dockerfile").write_text(recipe.dockerfile)
        environment = {**os.environ, "DOCKER_BUILDKIT": "0"}
        with open(log, "a") as output:
            completed = subprocess.run(
                [docker, "build", "--label", f"{images.INPUTS_LABEL}={key}", "-t", recipe.tag, str(root)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
                check=False,
            )
        if completed.returncode != 0:
            tail = " / ".join(log.read_text().strip().splitlines()[-3:])
            raise EnvironmentProblem(f"building image {recipe.tag} failed (log: {log}): {tail}")
        for extra in recipe.extra_tags:
            _run([docker, "tag", recipe.tag, extra], log)
    return Built(recipe.tag, key, False, time.monotonic() - started, size_of(recipe.tag))


# -- the images -------------------------------------------------------------------------------------


def rootfs() -> Built:
    """A minimal Debian rootfs from ``debootstrap``, imported as an image."""
    started = time.monotonic()
    key = images.rootfs_key()
    tag = images.rootfs_tag()
    if label_of(tag) == key:
        return Built(tag, key, True, 0.0, size_of(tag))
    if shutil.which("debootstrap") is None:
        if os.geteuid() != 0:
            raise EnvironmentProblem(
                "the Debian base image needs `debootstrap` (apt-get install debootstrap)"
            )
        with step("Installing debootstrap (Debian package)"):
            _run(["apt-get", "install", "-y", "-q", "debootstrap"], _log("debootstrap"))
    if os.geteuid() != 0:
        raise EnvironmentProblem("debootstrap needs root to make the Debian base image")
    log = _log(tag)
    log.write_text("")
    with (
        step(f"Making the Debian {images.DEBIAN_SUITE} base image (debootstrap)"),
        tempfile.TemporaryDirectory(prefix="karta-rootfs-") as target,
    ):
        _run(images.debootstrap(target), log)
        tar = subprocess.Popen(["tar", "-C", target, "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        try:
            _run(images.docker_import(_docker(), key), log, stdin=tar.stdout.fileno() if tar.stdout else None)
        finally:
            if tar.stdout:
                tar.stdout.close()
            tar.wait()
    return Built(tag, key, False, time.monotonic() - started, size_of(tag))


def runc_wrapper() -> str:
    """The runc wrapper this machine's engine uses (``docker-engine-up --print-wrapper``), else plain runc."""
    script = os.environ.get(ENGINE_SCRIPT_ENV)
    if not script:
        return PLAIN_WRAPPER
    if not Path(script).is_file():
        raise EnvironmentProblem(f"${ENGINE_SCRIPT_ENV} names no file", where=script)
    return _output(["bash", script, "--print-wrapper"])


def base(parent: Built, work: Path) -> Built:
    pins = versions.load()
    kind_version = pins.tools["kind"].version
    module = gomod.download(pins.tools["kind"].module, kind_version)
    files = work / "base-files"
    shutil.rmtree(files, ignore_errors=True)
    shutil.copytree(module / "images" / "base" / "files", files)
    for path in [files, *files.rglob("*")]:
        executable = path.is_dir() or path.parent.name == "bin"
        path.chmod(0o755 if executable else 0o644)
    config = files / "etc" / "containerd" / "config.toml"
    config.write_text(images.containerd_config(config.read_text()))
    wrapper = work / "runc-bounded"
    wrapper.write_text(runc_wrapper())
    wrapper.chmod(0o755)
    crictl = tools.ensure("crictl")  # kind's base image downloads it; built here from its Go module
    return docker_build(
        images.base_recipe(kind_version),
        {"files": files, "runc-bounded": wrapper, "crictl": crictl},
        parent.key,
    )


def components(parent: Built, work: Path) -> tuple[images.NodeImages, list[Built], Path]:
    """The images a node preloads, and the folder of kubelet/kubeadm/kubectl."""
    pins = versions.load()
    named = images.node_images_for(pins)
    control = build.build_kubernetes(pins.kubernetes, pins.staging)
    node_bin = build.build_kubernetes_node(pins.kubernetes, pins.staging)
    etcd = build.build_etcd(pins.etcd)
    coredns = build.build_coredns(named.coredns)
    pause = build.build_pause()
    script = work / "kind-cni"
    script.write_text(images.CNI_SCRIPT)
    sources = {
        "kube-apiserver": control / "kube-apiserver",
        "kube-controller-manager": control / "kube-controller-manager",
        "kube-scheduler": control / "kube-scheduler",
        "kube-proxy": node_bin / "kube-proxy",
        "etcd": etcd / "etcd",
        "coredns": coredns / "coredns",
        "pause": pause / "pause",
        "kind-cni": script,
    }
    built = [
        docker_build(
            recipe, sources, parent.key if "FROM " + images.rootfs_tag() in recipe.dockerfile else ""
        )
        for recipe in images.node_component_recipes(named)
    ]
    return named, built, node_bin


def _exec_stdin(container: str, path: str) -> list[str]:
    return [_docker(), "exec", "-i", container, "sh", "-c", f'mkdir -p "$(dirname {path})" && cat > {path}']


def _wait(what: str, probe: Iterable[str], seconds: float) -> None:
    """Poll ``probe`` until it exits 0 (bounded)."""
    argv = list(probe)
    retrying = Retrying(
        stop=stop_after_delay(seconds),
        wait=wait_fixed(0.5),
        retry=retry_if_result(lambda failed: bool(failed)),
    )
    try:
        retrying(lambda: subprocess.run(argv, capture_output=True, check=False).returncode != 0)
    except RetryError:
        raise EnvironmentProblem(f"{what} did not happen within {seconds:.0f} s ({' '.join(argv)})") from None


def node_image(
    base_image: Built, named: images.NodeImages, parts: list[Built], node_bin: Path, kubectl: Path
) -> Built:
    """Assemble the node image as ``kind build node-image`` does: a container of the base image gets the
    Kubernetes binaries, kind's manifests and the images (imported into its containerd), then is committed."""
    started = time.monotonic()
    tag = images.node_tag(named.kubernetes)
    binaries = {name: node_bin / name for name in ("kubelet", "kubeadm")} | {"kubectl": kubectl}
    manifests = {
        "/kind/version": named.kubernetes,
        "/kind/manifests/default-cni.yaml": images.cni_manifest(named),
        "/kind/manifests/default-storage.yaml": images.STORAGE_MANIFEST,
    }
    key = images.digest(
        base_image.key,
        [p.key for p in parts],
        {name: _file_digest(path) for name, path in binaries.items()},
        manifests,
    )
    if label_of(tag) == key:
        return Built(tag, key, True, 0.0, size_of(tag))
    docker = _docker()
    log = _log(tag)
    log.write_text("")
    with (
        step(f"Assembling the kind node image {tag}"),
        _build_container(base_image.tag, "node-build", log) as container,
    ):
        for name, binary in binaries.items():
            _run([docker, "cp", str(binary), f"{container}:/usr/bin/{name}"], log)
            _run([docker, "exec", container, "chmod", "0755", f"/usr/bin/{name}"], log)
        for target, text in manifests.items():
            completed = subprocess.run(
                _exec_stdin(container, target),
                input=text,
                text=True,
                capture_output=True,
                check=False,
            )
            if completed.returncode != 0:
                raise EnvironmentProblem(
                    f"writing {target} into the node image failed: {completed.stderr.strip()}"
                )
        groups = [[part.tag, *_extra_tags(named, part.tag)] for part in parts]
        _import_and_commit(container, groups, tag, key, log)
    return Built(tag, key, False, time.monotonic() - started, size_of(tag))


@contextmanager
def _build_container(image: str, purpose: str, log: Path) -> Iterator[str]:
    """A container of ``image`` that only sleeps (so files can be copied in and its containerd run),
    removed with its volumes on leaving, build failed or not."""
    docker = _docker()
    container = f"karta-{purpose}-{os.getpid()}"
    _run(
        [
            docker,
            "run",
            "-d",
            "--name",
            container,
            "--entrypoint=sleep",
            "--security-opt",
            "seccomp=unconfined",
            image,
            "infinity",
        ],
        log,
    )
    try:
        yield container
    finally:
        subprocess.run([docker, "rm", "-f", "-v", container], capture_output=True, check=False)


def _import_and_commit(container: str, groups: list[list[str]], tag: str, key: str, log: Path) -> None:
    """In a build container of a node image: start its containerd, import each group of Docker images
    (``docker save | ctr images import``, pinned), check they are listed, stop containerd, commit as ``tag``."""
    docker = _docker()
    _run(
        [
            docker,
            "exec",
            container,
            "bash",
            "-c",
            "nohup containerd > /var/log/containerd-build.log 2>&1 &",
        ],
        log,
    )
    _wait(
        "containerd answering in the build container",
        [docker, "exec", container, "ctr", "version"],
        60,
    )
    for tags in groups:
        say(f"  importing {', '.join(tags)}")
        save = subprocess.Popen([docker, "save", *tags], stdout=subprocess.PIPE)
        try:
            _run(
                images.import_image(docker, container),
                log,
                stdin=save.stdout.fileno() if save.stdout else None,
            )
        finally:
            if save.stdout:
                save.stdout.close()
            save.wait()
    listed = _output([docker, "exec", container, "ctr", "--namespace=k8s.io", "images", "list", "-q"])
    have = {_canonical(line) for line in listed.split()}
    missing = [t for tags in groups for t in tags if _canonical(t) not in have]
    if missing:
        raise EnvironmentProblem(f"the node image's containerd lacks {', '.join(missing)} after import")
    _run([docker, "exec", container, "pkill", "containerd"], log)
    _wait(
        "containerd stopping in the build container",
        # the build container's PID 1 (sleep) reaps nothing: a stopped containerd stays a zombie
        [docker, "exec", container, "sh", "-c", "! ps -C containerd -o stat= | grep -qv '^Z'"],
        60,
    )
    _run(
        [
            docker,
            "commit",
            "--change",
            'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]',
            "--change",
            f"LABEL {images.INPUTS_LABEL}={key}",
            container,
            tag,
        ],
        log,
    )


def _extra_tags(named: images.NodeImages, tag: str) -> list[str]:
    return list(named.pause_images[1:]) if tag == named.pause_images[0] else []


def _canonical(reference: str) -> str:
    """docker.io/library/x:t and x:t name the same image (containerd lists the long form)."""
    name = reference.split("@", 1)[0]
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return name


def operator(version: str) -> Built:
    pins = versions.load()
    binary, _crds = build.build_kuberay(version)
    return docker_build(
        images.operator_recipe(pins.kind_operator_image, version), {"ray-operator": binary / "ray-operator"}
    )


def host_ca_bundle() -> Path | None:
    """The CA bundle pip on this host trusts ($PIP_CERT, $SSL_CERT_FILE, else Debian's bundle)."""
    for candidate in (
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def ray(kuberay_version: str, parent: Built, work: Path) -> Built:
    """The Ray image, installed from the committed hash lock of its Ray version (as the local heads are)."""
    pins = versions.load()
    kuberay = pins.kuberay_version(kuberay_version)
    constraints = tuple(pins.ray_constraints)
    lock = locks.verified(
        kuberay.ray_version, constraints
    )  # missing or stale: exit 2, names scripts/lock-ray
    ca = host_ca_bundle()
    recipe = images.ray_recipe(
        kuberay.ray_image, kuberay.ray_version, constraints, True, host_ca=ca is not None
    )
    sources = {"requirements.txt": lock.path}
    if ca is not None:
        sources["host-ca.crt"] = ca
    return docker_build(recipe, sources, parent.key)


def redis(parent: Built, work: Path) -> Built:
    """The Redis image under its pinned official name (``versions.yaml`` ``redis_image``), from Debian."""
    pins = versions.load()
    entrypoint = work / images.REDIS_ENTRYPOINT
    entrypoint.write_text(images.REDIS_ENTRYPOINT_SCRIPT)
    entrypoint.chmod(0o755)
    recipe = images.redis_recipe(pins.redis_image, pins.redis_version)
    return docker_build(recipe, {images.REDIS_ENTRYPOINT: entrypoint}, parent.key)


def registry() -> Built:
    """The registry mirror's image: ``crane`` built from its pinned Go module (static)."""
    crane = tools.ensure("crane")
    tag = mirror.image_tag(versions.load().tools["crane"].version)
    return docker_build(images.registry_recipe(tag), {"crane": crane})


ELF_MAGIC = b"\x7fELF"
PT_INTERP = 3  # a program header naming the dynamic loader: a dynamically linked executable has one


def static_elf(path: Path) -> bool:
    """Whether ``path`` is an ELF executable that names no dynamic loader (no ``PT_INTERP`` program header):
    it runs ``FROM scratch``. Reads the ELF header and the program headers only."""
    with open(path, "rb") as handle:
        header = handle.read(64)
        if len(header) < 52 or header[:4] != ELF_MAGIC or header[4] not in (1, 2) or header[5] not in (1, 2):
            return False
        order: Literal["little", "big"] = "little" if header[5] == 1 else "big"
        wide = header[4] == 2  # ELFCLASS64

        def number(offset: int, size: int) -> int:
            return int.from_bytes(header[offset : offset + size], order)

        phoff = number(0x20, 8) if wide else number(0x1C, 4)
        entry_size, count = (number(0x36, 2), number(0x38, 2)) if wide else (number(0x2A, 2), number(0x2C, 2))
        handle.seek(phoff)
        table = handle.read(entry_size * count)
    if len(table) < entry_size * count:
        return False
    kinds = (int.from_bytes(table[i * entry_size : i * entry_size + 4], order) for i in range(count))
    return PT_INTERP not in kinds


def kueue() -> Built:
    """Kueue's image under its official name (``images.kueue_image``), its manager built from the pinned module
    (``build.build_kueue``: ``CGO_ENABLED=0``, as Kueue's own Dockerfile builds it), checked static. On demand
    (the first scenario that queues a workload), not by ``build_all``: only the kueue-admission feature runs it."""
    pinned = versions.load().kueue
    bin_dir, _crds = build.build_kueue(pinned.module, pinned.version)
    binary = bin_dir / "kueue"
    if not static_elf(binary):
        raise EnvironmentProblem(
            f"Kueue's manager {binary} is not a static executable (it names a dynamic loader): it cannot run "
            "FROM scratch; it is built with CGO_ENABLED=0 (toolchain/build.py _go)"
        )
    return docker_build(images.kueue_recipe(images.kueue_image(pinned.version)), {"kueue": binary})


def build_all(kuberay_versions: Sequence[str | None] = (None,), with_node: bool = True) -> list[Built]:
    """Every offline image: Debian rootfs, kind base, node components, node image, operator(s), Ray, Redis."""
    pins = versions.load()
    for version in kuberay_versions:  # a missing or stale Ray lock fails before the long builds
        locks.verified(pins.kuberay_version(version).ray_version, pins.ray_constraints)
    work = folder() / "work"
    work.mkdir(parents=True, exist_ok=True)
    results: list[Built] = []

    def record(item: Built) -> Built:
        state = "reused" if item.reused else f"built in {item.seconds:.0f} s"
        say(f"image {item.tag}: {state}, {item.size / 2**20:.0f} MiB")
        results.append(item)
        return item

    debian = record(rootfs())
    if with_node:
        base_image = record(base(debian, work))
        named, parts, node_bin = components(debian, work)
        for part in parts:
            record(part)
        control = build.build_kubernetes(pins.kubernetes, pins.staging)
        record(node_image(base_image, named, parts, node_bin, control / "kubectl"))
        record(registry())
    record(redis(debian, work))
    rays: dict[str, Built] = {}
    for version in kuberay_versions:
        kuberay = pins.kuberay_version(version)
        record(operator(kuberay.version))
        if kuberay.ray_image not in rays:
            rays[kuberay.ray_image] = record(ray(kuberay.version, debian, work))
    (folder() / "last-build.json").write_text(
        json.dumps([item.__dict__ for item in results], indent=2) + "\n"
    )
    return results


def wanted(kuberay_versions: Sequence[str | None]) -> list[str]:
    """The tags ``build_all`` makes for these KubeRay versions."""
    pins = versions.load()
    tags = [images.rootfs_tag(), images.base_tag(pins.tools["kind"].version)]
    named = images.node_images_for(pins)
    tags += [recipe.tag for recipe in images.node_component_recipes(named)]
    tags.append(images.node_tag(pins.kubernetes))
    tags.append(mirror.image_tag(pins.tools["crane"].version))
    tags.append(pins.redis_image)
    for version in kuberay_versions:
        kuberay = pins.kuberay_version(version)
        tags += [f"{pins.kind_operator_image}:{kuberay.version}", kuberay.ray_image]
    return list(dict.fromkeys(tags))


def listing(kuberay_versions: Sequence[str | None]) -> list[tuple[str, str]]:
    rows = []
    for tag in wanted(kuberay_versions):
        label = label_of(tag)
        rows.append(
            (
                tag,
                "missing"
                if label is None
                else f"present ({size_of(tag) / 2**20:.0f} MiB, inputs {label or '?'})",
            )
        )
    return rows
