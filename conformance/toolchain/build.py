"""Build the local backend's binaries from Go modules, cached by version outside the repo.

    <cache>/kubernetes/<v>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
    <cache>/etcd/<v>/bin/etcd
    <cache>/kwok/<v>/bin/{kwok,kwokctl}
    <cache>/kuberay/<v>/bin/ray-operator

Nothing prebuilt is downloaded: every binary is compiled here by the Go toolchain
from modules fetched through the Go module proxy. k8s.io/kubernetes and the
KubeRay operator are built from small wrapper modules (their own go.mod files
carry replace directives, which ``go install module@version`` refuses).
Each build is idempotent (a ``.complete`` stamp) and locked against concurrent runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conformance import versions
from conformance.errors import EnvironmentProblem
from conformance.progress import say, step
from conformance.toolchain import cache, gomod, locks

KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
# What a kind node adds to the control plane commands (the offline node image).
KUBE_NODE_COMMANDS = ("kubelet", "kubeadm", "kube-proxy")
STAMP = ".complete"


class BuildFailed(EnvironmentProblem):
    """A Go build failed; the message names its log."""


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    etcd: Path
    kwok: Path
    kwokctl: Path
    ray_operator: Path
    crds: Path  # config/crd/bases of the KubeRay module
    ray: Path  # the `ray` command of a venv with ray[serve] (for the real Ray heads)
    kwok_stages: Path  # kustomize/stage of the kwok module (the default Stage manifests)


def build_all(kuberay_version: str | None = None) -> Binaries:
    """Every binary the local backend needs, built on first use."""
    pins = versions.load()
    kuberay = pins.kuberay_version(kuberay_version)
    locks.verified(pins.ray, pins.ray_constraints)  # a missing or stale lock fails before the Go builds
    gomod.go_binary()
    kube_bin = build_kubernetes(pins.kubernetes, pins.staging)
    etcd_bin = build_etcd(pins.etcd)
    kwok_bin = build_kwok(pins.kwok)
    operator_bin, crds = build_kuberay(kuberay.version)
    ray_venv = build_ray(pins.ray, pins.ray_constraints)
    return Binaries(
        kube_apiserver=kube_bin / "kube-apiserver",
        kube_controller_manager=kube_bin / "kube-controller-manager",
        kube_scheduler=kube_bin / "kube-scheduler",
        kubectl=kube_bin / "kubectl",
        etcd=etcd_bin / "etcd",
        kwok=kwok_bin / "kwok",
        kwokctl=kwok_bin / "kwokctl",
        ray_operator=operator_bin / "ray-operator",
        crds=crds,
        ray=ray_venv / "bin" / "ray",
        kwok_stages=gomod.download("sigs.k8s.io/kwok", pins.kwok) / "kustomize" / "stage",
    )


# ---------------------------------------------------------------------------


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _done(bin_dir: Path, names: tuple[str, ...]) -> bool:
    return (bin_dir / STAMP).exists() and all((bin_dir / n).exists() for n in names)


def _go(args: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
    environment = dict(os.environ)
    environment.update({"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"})
    environment.update(env or {})
    with open(log, "a") as output:
        output.write(f"\n$ go {' '.join(args)}\n")
        output.flush()
        completed = subprocess.run(
            [gomod.go_binary(), *args],
            cwd=cwd,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if completed.returncode != 0:
        tail = log.read_text().strip().splitlines()[-3:]
        raise BuildFailed(f"go {args[0]} failed in {cwd} (log: {log}): {' / '.join(tail)}")


def _stamp(bin_dir: Path, what: dict[str, str], started: float) -> None:
    what = {**what, "seconds": f"{time.monotonic() - started:.0f}"}
    (bin_dir / STAMP).write_text(json.dumps(what, indent=2) + "\n")


def _module_file(module: str, version: str) -> str:
    """The go.mod text of ``module@version`` (downloads only the .mod file's module)."""
    folder = gomod.download(module, version)
    return (folder / "go.mod").read_text()


def _remote_replaces(go_mod: str) -> list[str]:
    """A go.mod's replace directives that point at other modules (not local folders)."""
    lines: list[str] = []
    block = False
    for raw in go_mod.splitlines():
        line = raw.split("//")[0].strip()
        if line.startswith("replace ("):
            block = True
            continue
        if block and line == ")":
            block = False
            continue
        body = line[len("replace ") :] if line.startswith("replace ") else (line if block else "")
        if "=>" in body and not body.split("=>")[1].strip().startswith("."):
            lines.append(body)
    return lines


# ---------------------------------------------------------------------------


def build_kubernetes(version: str, staging: str) -> Path:
    """kube-apiserver, kube-controller-manager, kube-scheduler and kubectl of ``version``."""
    return _build_kubernetes(version, staging, KUBE_COMMANDS, "bin", "src")


def build_kubernetes_node(version: str, staging: str) -> Path:
    """kubelet, kubeadm and kube-proxy of ``version`` (for the kind node image), beside ``bin/``.

    Same lock as ``build_kubernetes`` (one Kubernetes build at a time shares the Go build cache)."""
    return _build_kubernetes(version, staging, KUBE_NODE_COMMANDS, "node-bin", "node-src")


_KUBE_PACKAGES = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver/app",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager/app",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler/app",
    "kubectl": "k8s.io/kubectl/pkg/cmd",
    "kubelet": "k8s.io/kubernetes/cmd/kubelet/app",
    "kubeadm": "k8s.io/kubernetes/cmd/kubeadm/app",
    "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy/app",
}


def _build_kubernetes(
    version: str, staging: str, commands: tuple[str, ...], bin_name: str, src_name: str
) -> Path:
    folder = cache.component_dir("kubernetes", version)
    bin_dir = folder / bin_name
    with _locked(folder):
        if _done(bin_dir, commands):
            return bin_dir
        started = time.monotonic()
        source = folder / src_name
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        log = folder / f"build-{bin_name}.log" if bin_name != "bin" else folder / "build.log"
        with step(f"Building Kubernetes {version} ({', '.join(commands)})"):
            upstream = _module_file("k8s.io/kubernetes", version)
            staged = sorted(
                set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", upstream, re.MULTILINE))
            )
            if not staged:
                raise BuildFailed(
                    f"k8s.io/kubernetes@{version}: no staging replace directives found in its go.mod"
                )
            replaces = "\n".join(f"\t{m} => {m} {staging}" for m in staged)
            (source / "go.mod").write_text(
                "module kartaconformance.local/kubebuild\n\ngo 1.24.0\n\n"
                f"require k8s.io/kubernetes {version}\n\nreplace (\n{replaces}\n)\n"
            )
            imports = "".join(f'\t_ "{_KUBE_PACKAGES[name]}"\n' for name in commands)
            (source / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n")
            _go(["mod", "tidy"], source, log)
            minor = version.removeprefix("v").split(".")[1]
            ldflags = " ".join(
                [
                    "-s -w",
                    f"-X k8s.io/component-base/version.gitVersion={version}",
                    "-X k8s.io/component-base/version.gitMajor=1",
                    f"-X k8s.io/component-base/version.gitMinor={minor}",
                    "-X k8s.io/component-base/version.gitTreeState=clean",
                    f"-X k8s.io/client-go/pkg/version.gitVersion={version}",
                ]
            )
            bin_dir.mkdir(parents=True, exist_ok=True)
            _go(
                ["build", "-trimpath", f"-ldflags={ldflags}", "-o", str(bin_dir) + "/"]
                + [f"k8s.io/kubernetes/cmd/{name}" for name in commands],
                source,
                log,
            )
        _stamp(bin_dir, {"kubernetes": version, "staging": staging}, started)
        return bin_dir


def build_etcd(version: str) -> Path:
    # etcd's own main package lives in a module with local replace directives;
    # this two-line main calls the same entry point the etcd binary uses.
    return _build_main(
        "etcd",
        version,
        "etcd",
        f"Building etcd {version}",
        {
            "go.mod": f"module kartaconformance.local/etcdbuild\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 {version}\n",
            "main.go": 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\n'
            "func main() { etcdmain.Main(os.Args) }\n",
        },
        {"etcd": version},
    )


def _build_main(
    component: str,
    version: str,
    binary: str,
    title: str,
    files: dict[str, str],
    stamp: dict[str, str],
    tidy: bool = True,
) -> Path:
    """``go build`` of a main package written here (``files``: its go.mod and main.go) into
    ``<cache>/<component>/<version>/bin/<binary>``, once; locked, stamped with ``stamp``."""
    folder = cache.component_dir(component, version)
    bin_dir = folder / "bin"
    with _locked(folder):
        if _done(bin_dir, (binary,)):
            return bin_dir
        started = time.monotonic()
        source, log = _fresh_build(folder)
        with step(title):
            for name, text in files.items():
                (source / name).write_text(text)
            if tidy:
                _go(["mod", "tidy"], source, log)
            bin_dir.mkdir(parents=True, exist_ok=True)
            _go(["build", "-trimpath", "-ldflags=-s -w", "-o", str(bin_dir / binary), "."], source, log)
        _stamp(bin_dir, stamp, started)
        return bin_dir


def go_install(component: str, version: str, packages: list[str], names: tuple[str, ...]) -> Path:
    """``go install package@version...`` into ``<cache>/<component>/<version>/bin`` (once; locked)."""
    folder = cache.component_dir(component, version)
    bin_dir = folder / "bin"
    with _locked(folder):
        if _done(bin_dir, names):
            return bin_dir
        started = time.monotonic()
        log = folder / "build.log"
        bin_dir.mkdir(parents=True, exist_ok=True)
        with step(f"Building {' and '.join(names)} {version} from Go modules"):
            _go(
                ["install", "-trimpath", "-ldflags=-s -w", *(f"{p}@{version}" for p in packages)],
                folder,
                log,
                env={"GOBIN": str(bin_dir), "GOFLAGS": ""},
            )
        _stamp(bin_dir, {component: version}, started)
        return bin_dir


def build_kwok(version: str) -> Path:
    return go_install(
        "kwok",
        version,
        ["sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/cmd/kwokctl"],
        ("kwok", "kwokctl"),
    )


def build_kuberay(version: str) -> tuple[Path, Path]:
    """The KubeRay operator of ``version`` and its CRD folder."""
    pins = versions.load()
    folder = cache.component_dir("kuberay", version)
    bin_dir = folder / "bin"
    with _locked(folder):
        try:
            module_dir, local = gomod.kuberay_module(pins.kuberay_module, version)
        except gomod.ModuleUnavailable as error:
            raise EnvironmentProblem(f"KubeRay {version} cannot be built here: {error}") from None
        crds = module_dir / "config" / "crd" / "bases"
        if _done(bin_dir, ("ray-operator",)):
            return bin_dir, crds
        started = time.monotonic()
        source, log = _fresh_build(folder)
        with step(f"Building the KubeRay operator {version}"):
            replaces = _remote_replaces((module_dir / "go.mod").read_text())
            if local:  # a source folder, not a module the proxy serves
                replaces.append(f"{pins.kuberay_module} => {module_dir}")
            replace_block = (
                ("\nreplace (\n" + "\n".join(f"\t{r}" for r in replaces) + "\n)\n") if replaces else ""
            )
            (source / "go.mod").write_text(
                "module kartaconformance.local/kuberaybuild\n\ngo 1.24.0\n\n"
                f"require {pins.kuberay_module} {version}\n{replace_block}"
            )
            (source / "tools.go").write_text(
                f'//go:build tools\n\npackage tools\n\nimport _ "{pins.kuberay_module}/controllers/ray"\n'
            )
            _go(["mod", "tidy"], source, log)
            bin_dir.mkdir(parents=True, exist_ok=True)
            _go(
                [
                    "build",
                    "-trimpath",
                    "-ldflags=-s -w",
                    "-o",
                    str(bin_dir / "ray-operator"),
                    pins.kuberay_module,
                ],
                source,
                log,
            )
        _stamp(bin_dir, {"kuberay": version}, started)
        say(f"KubeRay operator {version} built in {time.monotonic() - started:.0f} s")
        return bin_dir, crds


KUEUE_COMMAND = "cmd/kueue"  # Kueue's manager, in its module (what its image runs as /manager)
KUEUE_CRDS = ("config", "components", "crd", "bases")  # the CRDs in its module, without kustomize's patches


def kueue_build_inputs(module: str, version: str, go_version: str, replaces: list[str]) -> dict[str, str]:
    """Every input of a Kueue build: the wrapper module's files, the build's arguments and the Go
    toolchain's version. Their digest keys the cache folder, so a change to any of them is a new build."""
    replace_block = ("\nreplace (\n" + "\n".join(f"\t{r}" for r in replaces) + "\n)\n") if replaces else ""
    ldflags = f"-s -w -X {module}/pkg/version.GitVersion={version}"
    return {
        "go.mod": f"module kartaconformance.local/kueuebuild\n\ngo 1.25.0\n\nrequire {module} {version}\n{replace_block}",
        # a build-tagged import keeps the command's module in go.mod through `go mod tidy`
        "tools.go": f'//go:build tools\n\npackage tools\n\nimport _ "{module}/{KUEUE_COMMAND}"\n',
        "build": f"go build -trimpath -ldflags={ldflags} {module}/{KUEUE_COMMAND}",
        "ldflags": ldflags,
        "go": go_version,
    }


def _go_version() -> str:
    completed = subprocess.run(
        [gomod.go_binary(), "env", "GOVERSION"], capture_output=True, text=True, check=False, timeout=60
    )
    return completed.stdout.strip() or "unknown"


def _fresh_build(folder: Path) -> tuple[Path, Path]:
    """A build's empty source folder ``<folder>/src`` (what an interrupted build left is removed) and its log."""
    source = folder / "src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    return source, folder / "build.log"


def build_kueue(module: str, version: str) -> tuple[Path, Path]:
    """Kueue's manager ``<cache>/kueue/<version>-<inputs digest>/bin/kueue``, built from ``module@version``
    (its ``cmd/kueue``) on first use, and the module's CRD folder. A cold build takes minutes (about 5 on two
    cores); the step prints a heartbeat meanwhile."""
    try:
        module_dir = gomod.download(module, version)
    except gomod.ModuleUnavailable as error:
        raise EnvironmentProblem(f"Kueue {version} cannot be built here: {error}") from None
    crds = module_dir.joinpath(*KUEUE_CRDS)
    inputs = kueue_build_inputs(
        module, version, _go_version(), _remote_replaces((module_dir / "go.mod").read_text())
    )
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:12]
    folder = cache.component_dir("kueue", f"{version}-{digest}")
    bin_dir = folder / "bin"
    with _locked(folder):
        if _done(bin_dir, ("kueue",)):
            return bin_dir, crds
        started = time.monotonic()
        source, log = _fresh_build(folder)
        with step(f"Building Kueue {version} ({module}/{KUEUE_COMMAND}; minutes on a cold cache, log {log})"):
            (source / "go.mod").write_text(inputs["go.mod"])
            (source / "tools.go").write_text(inputs["tools.go"])
            _go(["mod", "tidy"], source, log)
            bin_dir.mkdir(parents=True, exist_ok=True)
            _go(
                [
                    "build",
                    "-trimpath",
                    f"-ldflags={inputs['ldflags']}",
                    "-o",
                    str(bin_dir / "kueue"),
                    f"{module}/{KUEUE_COMMAND}",
                ],
                source,
                log,
            )
        _stamp(bin_dir, {"kueue": version, "inputs": digest}, started)
        return bin_dir, crds


def _ray_key(version: str, lock_digest: str) -> str:
    """The cache key of a Ray venv: its version and the digest of the lock it is installed from."""
    return f"{version}-l{lock_digest[:16]}"


# Run with the venv's own interpreter: every constraint must hold for what pip installed.
_CHECK_CONSTRAINTS = """
import sys
from importlib import metadata
from packaging.requirements import Requirement
broken = []
for line in sys.argv[1:]:
    req = Requirement(line)
    try:
        have = metadata.version(req.name)
    except metadata.PackageNotFoundError:
        continue
    if not req.specifier.contains(have, prereleases=True):
        broken.append(f"{req.name} {have} violates {line}")
print("; ".join(broken))
sys.exit(1 if broken else 0)
"""


def _ray_python() -> str:
    """An interpreter of the Python the Ray locks are resolved for (this one, else pythonX.Y on PATH)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == locks.PYTHON:
        return sys.executable
    found = shutil.which(f"python{locks.PYTHON}")
    if found is None:
        raise EnvironmentProblem(
            f"the Ray heads' venv is locked for Python {locks.PYTHON} (conformance/locks/);"
            f" this is Python {sys.version_info.major}.{sys.version_info.minor} and no"
            f" python{locks.PYTHON} is on PATH"
        )
    return found


def build_ray(version: str, constraints: tuple[str, ...] = ()) -> Path:
    """A virtualenv with PyPI ``ray[serve]==version`` for the real Ray heads (wheels, nothing compiled).

    Installed from the committed lock ``conformance/locks/ray-<version>.txt`` with
    ``pip install --require-hashes``; a missing lock, or one not made for ``version`` and
    ``constraints`` (e.g. ``protobuf<7``), is refused naming ``scripts/lock-ray`` (exit 2). The
    lock's digest keys the cache, so a venv installed from another lock is never reused; the
    constraints are checked again against what pip installed.
    """
    lock = locks.verified(version, constraints)
    folder = cache.component_dir("ray", _ray_key(version, lock.digest))
    venv = folder / "venv"
    with _locked(folder):
        if (venv / STAMP).exists() and (venv / "bin" / "ray").exists():
            return venv
        started = time.monotonic()
        shutil.rmtree(venv, ignore_errors=True)
        log = folder / "build.log"
        requirements = folder / "requirements.txt"  # the exact lock this venv is installed from
        shutil.copyfile(lock.path, requirements)
        python = str(venv / "bin" / "python")
        with step(f"Installing Ray {version} (PyPI ray[serve], {locks.shown(lock.path)}) for the Ray heads"):
            for argv in (
                [_ray_python(), "-m", "venv", str(venv)],
                [
                    str(venv / "bin" / "pip"),
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--require-hashes",
                    "--only-binary=:all:",
                    "-r",
                    str(requirements),
                ],
            ):
                with open(log, "a") as output:
                    completed = subprocess.run(argv, stdout=output, stderr=subprocess.STDOUT, check=False)
                if completed.returncode != 0:
                    tail = " / ".join(log.read_text().strip().splitlines()[-3:])
                    raise BuildFailed(f"installing Ray {version} failed (log: {log}): {tail}")
            if constraints:
                checked = subprocess.run(
                    [python, "-c", _CHECK_CONSTRAINTS, *constraints],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if checked.returncode != 0:
                    reason = checked.stdout.strip() or checked.stderr.strip().splitlines()[-1:]
                    raise BuildFailed(f"Ray {version} venv at {venv} breaks its pinned constraints: {reason}")
        (venv / STAMP).write_text(
            json.dumps(
                {
                    "ray": version,
                    "constraints": list(constraints),
                    "lock": locks.shown(lock.path),
                    "lock_sha256": lock.digest,
                    "seconds": f"{time.monotonic() - started:.0f}",
                }
            )
            + "\n"
        )
        return venv


# -- binaries of the offline kind node image ------------------------------------------------------

# CoreDNS with the plugins kubeadm's Corefile uses (and log), not the full plugin set:
# a smaller build with the same server (coremain) and the same plugin code.
COREDNS_PLUGINS = (
    "cache",
    "errors",
    "forward",
    "health",
    "kubernetes",
    "loadbalance",
    "log",
    "loop",
    "metrics",
    "ready",
    "reload",
)


def build_coredns(version: str) -> Path:
    """``coredns`` of ``github.com/coredns/coredns@version`` with ``COREDNS_PLUGINS``."""
    plugins = "".join(f'\t_ "github.com/coredns/coredns/plugin/{name}"\n' for name in COREDNS_PLUGINS)
    return _build_main(
        "coredns",
        version,
        "coredns",
        f"Building CoreDNS {version} ({len(COREDNS_PLUGINS)} plugins)",
        {
            "go.mod": "module kartaconformance.local/corednsbuild\n\ngo 1.24.0\n\n"
            f"require github.com/coredns/coredns {version}\n",
            "main.go": "package main\n\nimport (\n"
            '\t"github.com/coredns/coredns/coremain"\n'
            '\t_ "github.com/coredns/caddy/onevent"\n'
            f"{plugins})\n\nfunc main() {{ coremain.Run() }}\n",
        },
        {"coredns": version, "plugins": ",".join(COREDNS_PLUGINS)},
    )


# The Pod sandbox's process: sleep until SIGINT/SIGTERM, reaping children (what pause does).
_PAUSE_MAIN = """package main

import (
\t"os"
\t"os/signal"
\t"syscall"
)

func main() {
\tstop := make(chan os.Signal, 1)
\tsignal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
\tchildren := make(chan os.Signal, 16)
\tsignal.Notify(children, syscall.SIGCHLD)
\tfor {
\t\tselect {
\t\tcase <-stop:
\t\t\tos.Exit(0)
\t\tcase <-children:
\t\t\tfor {
\t\t\t\tvar status syscall.WaitStatus
\t\t\t\tpid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
\t\t\t\tif pid <= 0 || err != nil {
\t\t\t\t\tbreak
\t\t\t\t}
\t\t\t}
\t\t}
\t}
}
"""


def build_pause() -> Path:
    """A static ``pause`` (the Pod sandbox process), from the Go source above (no dependencies)."""
    key = hashlib.sha256(_PAUSE_MAIN.encode()).hexdigest()[:12]
    return _build_main(
        "pause",
        key,
        "pause",
        "Building pause",
        {"go.mod": "module kartaconformance.local/pause\n\ngo 1.24.0\n", "main.go": _PAUSE_MAIN},
        {"pause": key},
        tidy=False,
    )
