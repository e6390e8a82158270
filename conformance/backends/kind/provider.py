"""The kind backend as a Provider: kind (through pytest-kind), the pinned KubeRay Helm chart, real Ray images.

It runs on machines with a Docker engine (laptops, GitHub Actions), not on the development
machine of this project; so this file only executes ``conformance.backends.kind.plan`` (what to run,
unit-tested exactly) and stays thin. Nothing is simulated but the GPUs: ``nvidia.com/gpu``
capacity is patched onto each node's status so GPU-shaped fixtures schedule.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from conformance import versions
from conformance.backends import gates, raynodes
from conformance.backends.base import Capability
from conformance.backends.docker import docker_answers
from conformance.backends.inuse import ClusterClaim
from conformance.backends.kind import chartrepo, imagebuild, mirror
from conformance.backends.kind import images as offline
from conformance.backends.kind.kueue import KindKueue
from conformance.backends.kind.plan import (
    CHART_ENV,
    FITTED,
    KindPlan,
    fit_fixture,
    inert_neighbour,
    ray_containers,
    task_pids,
)
from conformance.backends.switches import ApiSwitches
from conformance.errors import EnvironmentProblem, UserError
from conformance.progress import say, step
from conformance.toolchain import cache, tools


class Runner(Protocol):
    def __call__(
        self, command: Sequence[str], input: str | None = None
    ) -> subprocess.CompletedProcess[str]: ...


def run_command(command: Sequence[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, its output captured (the default Runner)."""
    return subprocess.run(list(command), input=input, capture_output=True, text=True, check=False)


REPOSITORY = Path(__file__).resolve().parents[3]

REQUIRED = {
    "docker": "install Docker and start its daemon",
    "kubectl": "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
    "kind": "run `make tools` (builds the pinned kind with Go) or install kind",
    "helm": "run `make tools` (builds the pinned Helm with Go) or install Helm 3",
}


class KindProvider:
    name = "kind"
    batch_scheduler = ""  # not offered here (registry.make_provider says why)
    timeout_scale = 2.0  # real containers start Ray in tens of seconds, not kwok's instant
    # Scenarios side by side: the default set's Pods (CPU requests fitted, neighbours without Ray) fit two
    # kind workers three scenarios at a time; most of a scenario's time is Ray starting in a container,
    # CPU-bound on a 2-core machine (measured: 4 side by side took 561 s for the kind leg, 3 took 514 s).
    parallel = 3
    # the switches through the API, the operator's Deployment, the nodes' containers (docker exec)
    capabilities = frozenset(Capability)

    def lacks(self, capability: Capability) -> str:
        return ""

    def __init__(
        self,
        kuberay_version: str | None,
        name: str = "karta",
        node_image: str | None = None,
        keep: bool = False,
        runner: Runner = run_command,
        chart_source: str | None = None,
    ) -> None:
        self.run = runner
        pins_plan = KindPlan.pinned(name, kuberay_version, node_image)
        # Images built here (``karta-conformance images build``) are used when the local Docker has them:
        # the offline node image, and the workloads' images, which the nodes then pull by their official
        # names through the registry mirror this backend runs (``mirror.py``).
        node = offline.node_tag(pins_plan.kubernetes_pinned())
        self.registry_image = mirror.image_tag(versions.load().tools["crane"].version)
        wanted = [node, *pins_plan.workload_images(), self.registry_image]
        self.local_images = {image for image in wanted if self._docker_has(image)}
        self.plan = KindPlan.pinned(
            name,
            kuberay_version,
            node_image,
            chart_source or os.environ.get(CHART_ENV) or None,  # None: the Helm repository
            built_node=node in self.local_images,
            mirror=all(image in self.local_images for image in pins_plan.workload_images()),
        )
        if self.plan.chart_source and not Path(self.plan.chart_source).exists():
            raise UserError(
                f"no such chart folder or archive (--chart / ${CHART_ENV})", where=self.plan.chart_source
            )
        self.keep = keep
        self.state = cache.cache_root() / "clusters" / f"kind-{name}"
        self.claim = ClusterClaim(
            self.state.with_name(f"kind-{name}.claim"),
            f"the kind cluster {name!r}",
            "wait for that run to end, or name this run's cluster otherwise (--cluster-name NAME)",
        )
        self._cluster: Any = None
        self.switches = ApiSwitches(self.kubectl)
        self._docker: str | None = None
        self._serve_closed: dict[str, list[tuple[str, int]]] = {}  # namespace -> (node, pid) closed
        self.kueue = KindKueue(self.kubectl)  # installed on a scenario's demand (start_kueue)

    # -- Provider ------------------------------------------------------------------

    @property
    def kubeconfig(self) -> str:
        return str(self.state / "kubeconfig")

    @property
    def kuberay_version(self) -> str:
        return self.plan.kuberay.version

    @property
    def kubernetes_version(self) -> str:
        return self.plan.kubernetes

    def describe(self) -> str:
        plan = self.plan
        origin = (
            f"built here, pulled by its official name through the registry mirror {mirror.endpoint()}"
            if plan.mirror
            else "pulled from its registry"
        )
        node = (
            "built here by `karta-conformance images build`, no workload image in it"
            if plan.built_node
            else "pinned upstream image"
        )
        return (
            f"backend kind: Kubernetes {plan.kubernetes} (node image {plan.node_image.split('@')[0]}, {node}; "
            f"real kubelets and containers), KubeRay operator {plan.kuberay.version} (chart kuberay-operator "
            f"{plan.kuberay.chart} from {plan.chart_origin()}; {plan.operator_image}, {origin}), "
            f"Ray {plan.kuberay.ray_version} ({plan.kuberay.ray_image}, {origin}) "
            f"in every Ray Pod; Redis for GCS fault tolerance ({plan.redis_image}, {origin}); "
            f"{FITTED}; "
            f"simulated: {plan.gpus_per_node} nvidia.com/gpu and {plan.gpus_per_node} rdma/hca per node (node status patch, no devices)"
            + gates.header(plan.kuberay.version)
            + self.kueue.described()
        )

    def adapt_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """A fixture as the scenarios create it here (``plan.fit_fixture``)."""
        return fit_fixture(manifest)

    def adapt_neighbour(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """A scenario's neighbour RayCluster here: KubeRay's Pods without Ray (``plan.inert_neighbour``)."""
        return inert_neighbour(manifest)

    def _docker_has(self, image: str) -> bool:
        try:
            return self.run(KindPlan.docker_has_image("docker", image)).returncode == 0
        except OSError:  # no docker command
            return False

    def start(self) -> None:
        binaries = self.binaries()
        if not docker_answers():
            raise EnvironmentProblem(
                "--cluster kind needs a running Docker daemon, and `docker info` fails here"
            )
        self.claim.acquire()  # before anything touches the cluster of that name
        try:
            self._start(binaries)
        except subprocess.CalledProcessError as error:  # raised by pytest-kind's kind and kubectl calls
            command = " ".join(str(part) for part in error.cmd[:4])
            detail = (error.stderr or "").strip()[-300:] if isinstance(error.stderr, str) else ""
            if not self.plan.built_node:  # kind pulls the upstream node image: no registry, no cluster
                detail += (
                    f" (the node image is the upstream {self.plan.node_image.split('@')[0]}, pulled from its "
                    "registry; where no registry is reachable, build the offline images first: `make images`)"
                )
            raise EnvironmentProblem(
                f"`{command} ...` failed (exit {error.returncode}) {detail}".strip()
            ) from None

    def _start(self, binaries: dict[str, str]) -> None:
        self._docker = binaries["docker"]
        self.state.mkdir(parents=True, exist_ok=True)
        if self.plan.mirror:
            self.start_mirror(binaries["docker"])
        config = self.state / "kind-config.yaml"
        config.write_text(yaml.safe_dump(self.plan.cluster_config(), sort_keys=False))
        say(f"kind cluster {self.plan.cluster} ({self.plan.node_image.split('@')[0]}) ...")
        self._cluster = self._kind_cluster(binaries)
        self._cluster.create(config_file=config)
        nodes = self.run(self.plan.list_kind_nodes(binaries["kind"])).stdout.split()
        if self.plan.mirror:
            self.attach_mirror(binaries["docker"], nodes)
        self.pull_on_workers(binaries, nodes)
        # the fake GPUs first: each kubelet copies the patched capacity to allocatable while Helm installs
        self.patch_gpus()
        self.install_operator(binaries["helm"])
        self.kubectl(*self.plan.wait_gpus())  # every node's allocatable shows them

    # -- the registry mirror -------------------------------------------------------------------

    def registry_port(self) -> int:
        text = os.environ.get(mirror.HOST_PORT_ENV, "").strip()
        if not text:
            return mirror.HOST_PORT
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise UserError(f"${mirror.HOST_PORT_ENV} must be a TCP port number", where=text)
        return int(text)

    def start_mirror(self, docker: str) -> None:
        """The registry running (started when it is not), then the images built here published in it
        under their official paths (pushing only layers it lacks)."""
        if self.registry_image not in self.local_images:
            raise EnvironmentProblem(
                f"the registry mirror needs the image {self.registry_image}: build it with `make images`"
            )
        port = self.registry_port()
        storage = cache.cache_root() / "registry"
        if not mirror.reusable(self.run(mirror.inspect_running(docker)).stdout, str(storage), port):
            # stopped, or another cache's or port's: this run's registry replaces it
            self.run(mirror.remove(docker))
            storage.mkdir(parents=True, exist_ok=True)
            user = f"{os.getuid()}:{os.getgid()}"
            with step(f"registry mirror {mirror.CONTAINER} (crane registry serve) on 127.0.0.1:{port}"):
                started = self.run(mirror.run(docker, self.registry_image, str(storage), port, user))
                if started.returncode != 0 and "already in use" not in started.stderr:
                    raise EnvironmentProblem(
                        f"starting the registry mirror failed (exit {started.returncode}): "
                        f"{started.stderr.strip()[-300:]} (another port: ${mirror.HOST_PORT_ENV})"
                    )
        self.wait_registry(port)
        for image in self.plan.workload_images():
            with step(f"publishing {image} in the registry mirror"):
                for command in mirror.push(docker, image, port):
                    self._checked(command)

    @staticmethod
    def wait_registry(port: int, seconds: float = 30.0) -> None:
        """Bounded poll of the registry's API root on loopback; on timeout, the last answer."""
        url = f"http://127.0.0.1:{port}/v2/"
        last = ["no answer yet"]

        def answered() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    last[0] = f"HTTP {answer.status}"
                    return bool(answer.status == 200)
            except (urllib.error.URLError, OSError) as error:
                last[0] = str(error)
                return False

        poll = Retrying(
            stop=stop_after_delay(seconds), wait=wait_fixed(0.5), retry=retry_if_result(lambda ok: not ok)
        )
        try:
            poll(answered)
        except RetryError:
            raise EnvironmentProblem(
                f"the registry mirror did not answer at {url} within {seconds:.0f} s: {last[0]}"
            ) from None

    def attach_mirror(self, docker: str, nodes: list[str]) -> None:
        """The registry on kind's network, and every node's containerd asking it first for each host."""
        joined = self.run(mirror.connect(docker))
        if joined.returncode != 0 and "already exists" not in joined.stderr:
            raise EnvironmentProblem(
                f"connecting the registry mirror to kind's network failed: {joined.stderr.strip()[-300:]}"
            )
        for node in nodes:
            for host in mirror.UPSTREAM:
                completed = self.run(mirror.write_hosts(docker, node, host), input=mirror.hosts_toml(host))
                if completed.returncode != 0:
                    raise EnvironmentProblem(
                        f"writing {mirror.HOSTS_DIR}/{host}/hosts.toml on {node} failed: "
                        f"{completed.stderr.strip()[-300:]}"
                    )

    # -- Kueue ---------------------------------------------------------------------------

    def start_kueue(self) -> str:
        """Kueue installed in this cluster on the first scenario's demand (``kind/kueue.py``): its version.
        With the registry mirror its image is built here and published under its official name first."""
        return self.kueue.start(self.publish_kueue if self.plan.mirror else None)

    def publish_kueue(self, image: str) -> str:
        """Kueue's image built here (on demand: only the kueue-admission feature runs it, so `make images`
        leaves it out) and published in the registry mirror under its official path; how the nodes get it."""
        say(
            f"Kueue's image {image}: made here on demand (only the kueue-admission feature runs it, "
            "`make images` leaves it out), then published in the registry mirror"
        )
        built = imagebuild.kueue()
        say(f"image {built.tag}: {'reused' if built.reused else f'built in {built.seconds:.0f} s'}")
        with step(f"publishing {image} in the registry mirror"):
            for command in mirror.push(self._docker or "docker", image, self.registry_port()):
                self._checked(command)
        return f"built here, pulled by its official name through the registry mirror {mirror.endpoint()}"

    def node_images(self, node: str) -> list[str]:
        """The image names a node's containerd holds (for the report: official names only)."""
        return mirror.image_names(self.run(mirror.node_images(self._docker or "docker", node)).stdout)

    def stop(self) -> None:
        if not self.claim.held:  # refused at start: the cluster of that name is another run's
            return
        try:
            if self._cluster is not None and not self.keep:
                self._cluster.delete()
                self._cluster = None
                # its kubeconfig and logs (diagnostics copied them into the artifacts already): a run per
                # name (pytest's kind clusters) must not leave a folder per run behind
                shutil.rmtree(self.state, ignore_errors=True)
        finally:
            self.claim.release()
            if not self.state.exists():
                self.claim.path.unlink(missing_ok=True)

    def logs(self) -> list[Path]:
        """The operator's log and ``kind export logs`` of the nodes, written now."""
        if self._cluster is None:
            return []
        folder = self.state / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            (folder / "kuberay-operator.log").write_text(self.kubectl(*self.plan.operator_logs()))
        except (subprocess.CalledProcessError, OSError) as error:
            (folder / "kuberay-operator.log").write_text(f"could not read the operator log: {error}\n")
        if self.kueue.version or self.kueue.failed:
            (folder / "kueue-manager.log").write_text(self.kueue.manager_log())
        self.run(
            [
                str(self._cluster.kind_path),
                "export",
                "logs",
                str(folder / "kind"),
                "--name",
                self.plan.cluster,
            ]
        )
        return [folder]

    def prepare_namespace(self, namespace: str) -> None:
        """The fixtures' Serve app (and its switches, off) as a ConfigMap the Ray Pods mount."""
        self.switches.prepare_namespace(namespace)

    def hold_new_heads(self, namespace: str) -> None:
        self.switches.hold_new_heads(namespace)

    def release_heads(self, namespace: str) -> None:
        self.switches.release_heads(namespace)

    def set_app_unhealthy(self, namespace: str, pod: str, value: bool = True) -> None:
        """Every replica's health check in ``namespace`` fails while the switch is on (``pod`` is not needed:
        the switch lives in the namespace's ConfigMap)."""
        self.switches.set_app_unhealthy(namespace, value)

    def set_serve_unready(self, namespace: str, value: bool = True) -> None:
        """Close (``value``) or reopen Ray Serve's port in every Ray Pod of ``namespace``, from its node
        (``plan.serve_port_rule``); reopening removes exactly the rules this closed."""
        docker = self._docker or "docker"
        if not value:
            for node, pid in self._serve_closed.pop(namespace, []):
                self.run(self.plan.serve_port_rule(docker, node, pid, on=False))  # gone with its Pod: fine
            return
        listed = json.loads(
            self.kubectl("-n", namespace, "get", "pods", "-l", "ray.io/is-ray-node=yes", "-o", "json")
        )
        targets = ray_containers(listed.get("items") or [])
        if not targets:
            raise EnvironmentProblem(f"no running Ray container in {namespace} to close Ray Serve's port in")
        tasks: dict[str, dict[str, int]] = {}
        closed = self._serve_closed.setdefault(namespace, [])
        for pod, node, container in targets:
            if node not in tasks:
                tasks[node] = task_pids(self.run(self.plan.container_tasks(docker, node)).stdout)
            task = tasks[node].get(container)
            completed = (
                None if task is None else self.run(self.plan.serve_port_rule(docker, node, task, on=True))
            )
            if task is not None and completed is not None and completed.returncode == 0:
                closed.append((node, task))
            elif self._leaving(namespace, pod):
                continue  # deleted since it was listed (a superseded RayCluster's Pod): nothing to close
            elif completed is None:
                raise EnvironmentProblem(f"Pod {namespace}/{pod}: its Ray container is not running on {node}")
            else:
                raise EnvironmentProblem(
                    f"closing Ray Serve's port in Pod {namespace}/{pod} failed (exit {completed.returncode}):"
                    f" {completed.stderr.strip()[-300:]}"
                )

    def _leaving(self, namespace: str, pod: str) -> bool:
        """Whether Pod ``pod`` is gone or being deleted."""
        text = self.kubectl("-n", namespace, "get", "pod", pod, "-o", "json", "--ignore-not-found").strip()
        return not text or bool(json.loads(text)["metadata"].get("deletionTimestamp"))

    def ray_nodes(self, namespace: str, pod: str, container: str) -> list[str]:
        return raynodes.alive_ray_nodes(self.kubectl, namespace, pod, container)

    def ray_submit(
        self, namespace: str, pod: str, container: str, entrypoint: Sequence[str], submission_id: str = ""
    ) -> str:
        return raynodes.submit_job(self.kubectl, namespace, pod, container, entrypoint, submission_id)

    def restart_operator(self) -> None:
        for command in self.plan.restart_operator():
            self.kubectl(*command)

    # -- steps ---------------------------------------------------------------------------

    def binaries(self) -> dict[str, str]:
        """docker from PATH; kind and helm pinned (built from their Go modules on first use when Go is
        here, else from PATH); kubectl of the pinned Kubernetes when the image build made it, else PATH."""
        found: dict[str, str] = {}
        for tool, hint in REQUIRED.items():
            path: Path | str | None
            if tool in ("kind", "helm"):
                path = tools.locate(tool)
                if path is None and shutil.which("go"):
                    path = tools.ensure(tool)
            elif tool == "kubectl":
                built = cache.component_dir("kubernetes", versions.load().kubernetes) / "bin" / "kubectl"
                path = built if built.is_file() else shutil.which(tool)
            else:
                path = shutil.which(tool)
            if path is None:
                raise EnvironmentProblem(f"--cluster kind needs `{tool}`: {hint}")
            found[tool] = str(path)
        return found

    def pull_on_workers(self, binaries: dict[str, str], nodes: list[str]) -> None:
        for image in self.plan.prepulled():
            for node in nodes:
                if self.plan.schedulable(node):
                    with step(f"pulling {image} on kind node {node}"):
                        self._checked(self.plan.pull_on_node(binaries["docker"], node, image))

    def install_operator(self, helm: str) -> None:
        if not self.plan.chart_source:
            return self._install_operator(helm)
        folder = self.state / "helm-repository"
        chartrepo.publish(Path(self.plan.chart_source), folder, helm, self._checked)
        with chartrepo.served(folder) as url:
            plan = self.plan
            self.plan = dataclasses.replace(plan, chart_repository=url)
            try:
                self._install_operator(helm)
            finally:
                self.plan = dataclasses.replace(self.plan, chart_repository=plan.chart_repository)

    def _install_operator(self, helm: str) -> None:
        kubeconfig = Path(self.kubeconfig)
        listed = self.run(self.plan.helm_list(helm, kubeconfig))
        releases = json.loads(listed.stdout or "[]") if listed.returncode == 0 else []
        installed = [r for r in releases if r.get("name") == "kuberay-operator"]
        if installed:
            chart = installed[0].get("chart")
            if chart != self.plan.chart_label():
                raise UserError(
                    f"kind cluster {self.plan.cluster!r} already runs {chart}, not {self.plan.chart_label()}; "
                    f"delete it (kind delete cluster --name {self.plan.cluster}) or pick another cluster name"
                )
            say(f"reusing {chart} in the kept kind cluster {self.plan.cluster}")
            wanted = gates.helm_values(self.plan.kuberay.version)
            got = self.run(self.plan.helm_get_values(helm, kubeconfig))
            if wanted and json.loads(got.stdout or "{}").get("featureGates") != wanted:
                say(
                    f"turning on feature gate(s) {', '.join(gates.changed(self.plan.kuberay.version))} (helm upgrade)"
                )
                for command in [
                    *self.plan.helm_repo(helm, kubeconfig),
                    self.plan.helm_upgrade_gates(helm, kubeconfig),
                ]:
                    self._checked(command)
            return
        say(f"helm install {self.plan.chart_label()} from {self.plan.chart_origin()} ...")
        for command in [*self.plan.helm_repo(helm, kubeconfig), self.plan.helm_install(helm, kubeconfig)]:
            self._checked(command)

    def patch_gpus(self) -> None:
        """Every node's status patched with the fake GPUs (their kubelets then copy them to allocatable)."""
        for node in self.kubectl(*self.plan.list_nodes()).split():
            self.kubectl(*self.plan.patch_gpus(node))

    # -- plumbing ------------------------------------------------------------------------

    def kubectl(self, *args: str, input: str | None = None) -> str:
        if self._cluster is None:
            raise EnvironmentProblem(f"the kind cluster {self.plan.cluster!r} is not up")
        try:
            output: str = self._cluster.kubectl(*args, input=input, stderr=subprocess.PIPE)
        except subprocess.CalledProcessError as error:
            raise EnvironmentProblem(
                f"kubectl {' '.join(args[:4])} failed: {(error.stderr or '').strip()[-300:]}"
            ) from None
        return output

    def _checked(self, command: Sequence[str]) -> None:
        completed = self.run(command)
        if completed.returncode != 0:
            raise EnvironmentProblem(
                f"{' '.join(command[:3])} failed (exit {completed.returncode}): {completed.stderr.strip()[-300:]}"
            )

    def _kind_cluster(self, binaries: dict[str, str]) -> Any:
        try:
            from pytest_kind import KindCluster
        except ImportError:
            raise EnvironmentProblem(
                "--cluster kind needs the Python package pytest-kind (a dev extra): "
                "pip install 'karta-conformance[dev]' (or `make venv`)"
            ) from None

        class PinnedKindCluster(KindCluster):  # type: ignore[misc]
            """pytest-kind's cluster, minus its downloads: kind and kubectl must already be here."""

            def ensure_kind(self) -> None:
                if not Path(self.kind_path).is_file():
                    raise EnvironmentProblem(
                        f"--cluster kind needs `kind` at {self.kind_path}: {REQUIRED['kind']}"
                    )

            def ensure_kubectl(self) -> None:
                if not Path(self.kubectl_path).is_file():
                    raise EnvironmentProblem(
                        f"--cluster kind needs `kubectl` at {self.kubectl_path}: {REQUIRED['kubectl']}"
                    )

        return PinnedKindCluster(
            self.plan.cluster,
            Path(self.kubeconfig),
            image=self.plan.node_image,
            kind_path=Path(binaries["kind"]),
            kubectl_path=Path(binaries["kubectl"]),
        )
