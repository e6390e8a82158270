"""Kueue on the kind backend: installed from its own manifests, its image built here.

Installed on first use, when a scenario needs Kueue (``KindProvider.start_kueue``), never otherwise:

1. **the image**, under Kueue's official name (``images.kueue_image``: ``registry.k8s.io/kueue/kueue:<version>``,
   the version pinned in ``versions.yaml`` ``kueue``): with the registry mirror (``mirror.py``), the manager built
   from the pinned module (``toolchain/build.build_kueue``, static) as ``/manager`` (``images.kueue_recipe``) and
   published in the mirror under its official path (``kueue/kueue`` for ``registry.k8s.io``), so the nodes pull it
   by its official name; without the mirror (a hosted runner), the nodes pull the official image from its registry;
2. **the manifests**: the module's ``config/default`` rendered with ``kubectl kustomize`` (what Kueue's release
   ``manifests.yaml`` is made from), then edited (``render``): the manager's image set to the official name, the
   ``Configuration`` in ConfigMap ``kueue-manager-config`` running the Ray frameworks (``FRAMEWORKS``, added to
   the frameworks it ships with where missing: Kueue v0.17.0 shipped all three) in the Deployment's namespace,
   and the visibility API off (feature gate ``VisibilityOnDemand: false``, its
   APIServices left out), as on the local backend. No scenario reads it, and served it broke the runs: its
   two resources of one kind (``PendingWorkloadsSummary``) in one group version make the Python client's
   lookup of that kind's ``ResourceList`` fail while the snapshots walk every served kind; and the API
   server's aggregator keeps the connections it opens to an APIService's Service, so one opened before the
   Service had an endpoint (here, answered by a transparent proxy) gave 404 for good. Everything else is as
   Kueue ships it (internal certificate management, no cert-manager, leader election);
3. **applied** with server-side apply in two steps: first with every webhook failing open (``starting``) while the
   manager starts, then, once its Deployment is available, exactly as rendered (``failurePolicy: Fail``, as
   Kueue ships them). Kueue's webhooks take every RayCluster, and every Pod outside ``kube-system`` and
   ``kueue-system``: scenarios side by side would be refused while no manager answers (and the manager's
   certificate bootstrap needs the webhook configurations to exist, so they cannot wait);
4. **waited for**, each a bounded poll that names the last thing it saw on timeout: the CRDs Established, the
   Deployment available (its Pod's state in the message), a server-side dry-run create of a ResourceFlavor
   passing Kueue's webhooks.

Nothing to stop: Kueue goes with the kind cluster. The pure part (what is rendered and checked) is
unit-tested in ``conformance/tests/unit/test_kind_kueue.py``.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import yaml
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from conformance import versions
from conformance.backends.kind import images
from conformance.errors import EnvironmentProblem
from conformance.model import kueue_states
from conformance.progress import say, step
from conformance.toolchain import gomod

NAMESPACE = "kueue-system"  # config/default's namespace
DEPLOYMENT = "kueue-controller-manager"
CONTAINER = "manager"
CONFIGMAP = "kueue-manager-config"
CONFIG_KEY = "controller_manager_config.yaml"
SELECTOR = "control-plane=controller-manager"  # config/default's label on the manager's Pods
CONFIG_DEFAULT = ("config", "default")  # in the module: the kustomization Kueue's release manifests come from
# The frameworks the scenarios need (the local backend runs these alone). The shipped list stays: Kueue serves a
# no-op webhook for an integration turned off, and v0.17.0's panics (nil queue manager in
# jobframework.ApplyDefaultLocalQueue), so with batch/job off every Job (KubeRay's RayJob submitters) is refused.
FRAMEWORKS = ("ray.io/rayjob", "ray.io/raycluster", "ray.io/rayservice")
# The visibility API server (an aggregated API): off as on the local backend, its APIServices left out.
VISIBILITY_GATE = "VisibilityOnDemand"
API_SERVICE = "APIService"

CRD_TIMEOUT = 60.0  # seconds until every CRD is Established
# seconds until the Deployment is available: the image pulled, the manager's certificate bootstrap (the kubelet
# refreshing the Secret's volume takes up to a minute) and its caches synced
DEPLOYMENT_TIMEOUT = 300.0
WEBHOOK_TIMEOUT = 60.0  # seconds until the API server reaches the webhooks through their Service
POLL = 2.0  # seconds between two looks


# --- the pure part: what is rendered and what is seen ------------------------------------------------------


def config_default(module_dir: Path) -> Path:
    return module_dir.joinpath(*CONFIG_DEFAULT)


def parse(rendered: str) -> list[dict[str, Any]]:
    """``kubectl kustomize`` output as objects (empty documents dropped)."""
    return [doc for doc in yaml.safe_load_all(rendered) if isinstance(doc, dict)]


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d.get("kind") == kind and d.get("metadata", {}).get("name") == name]
    if len(found) != 1:
        raise EnvironmentProblem(
            f"Kueue's {'/'.join(CONFIG_DEFAULT)} renders {len(found)} {kind} {name}, not one"
        )
    return found[0]


def configuration(text: str, namespace: str) -> dict[str, Any]:
    """Kueue's ``Configuration`` (``config.kueue.x-k8s.io/v1beta2``) as shipped, its frameworks with the Ray ones
    (``FRAMEWORKS``) among them, in ``namespace``, the visibility API server off."""
    config = yaml.safe_load(text) or {}
    if config.get("kind") != "Configuration":
        raise EnvironmentProblem(f"Kueue's ConfigMap {CONFIGMAP} holds no Configuration in {CONFIG_KEY}")
    config["namespace"] = namespace
    integrations = config.get("integrations") or {}
    shipped = [str(f) for f in integrations.get("frameworks") or []]
    config["integrations"] = {
        **integrations,
        "frameworks": shipped + [f for f in FRAMEWORKS if f not in shipped],
    }
    config["featureGates"] = {**(config.get("featureGates") or {}), VISIBILITY_GATE: False}
    return dict(config)


def render(docs: list[dict[str, Any]], image: str) -> list[dict[str, Any]]:
    """A copy of config/default's objects with the manager's image ``image``, the Ray frameworks on and the
    visibility API off (its APIServices left out)."""
    edited = copy.deepcopy([d for d in docs if d.get("kind") != API_SERVICE])
    deployment = _one(edited, "Deployment", DEPLOYMENT)
    namespace = str(deployment["metadata"].get("namespace") or NAMESPACE)
    containers = [
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c.get("name") == CONTAINER
    ]
    if len(containers) != 1:
        raise EnvironmentProblem(f"Kueue's Deployment {DEPLOYMENT} has no container {CONTAINER}")
    containers[0]["image"] = image
    configmap = _one(edited, "ConfigMap", CONFIGMAP)
    data = configmap.setdefault("data", {})
    data[CONFIG_KEY] = yaml.safe_dump(
        configuration(str(data.get(CONFIG_KEY) or ""), namespace), sort_keys=False
    )
    return edited


WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def starting(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What is applied while the manager starts: a copy whose admission webhooks ignore a manager that does not
    answer (``failurePolicy: Ignore``)."""
    edited = copy.deepcopy(docs)
    for doc in edited:
        if doc.get("kind") in WEBHOOK_KINDS:
            for webhook in doc.get("webhooks") or []:
                webhook["failurePolicy"] = "Ignore"
    return edited


def crd_names(docs: list[dict[str, Any]]) -> list[str]:
    return [str(d["metadata"]["name"]) for d in docs if d.get("kind") == "CustomResourceDefinition"]


def manager_image(docs: list[dict[str, Any]]) -> str:
    spec = _one(docs, "Deployment", DEPLOYMENT)["spec"]["template"]["spec"]
    return str(next(c["image"] for c in spec["containers"] if c.get("name") == CONTAINER))


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), {})


def crds_established(listing: dict[str, Any], names: list[str]) -> tuple[bool, str]:
    """Whether every CRD of ``names`` is Established in ``kubectl get crd -o json``, and what is not."""
    seen = {str(i["metadata"]["name"]): _condition(i, "Established") for i in listing.get("items") or []}
    waiting = []
    for name in names:
        condition = seen.get(name)
        if condition is None:
            waiting.append(f"{name} (not listed)")
        elif condition.get("status") != "True":
            reason = condition.get("reason") or condition.get("message") or "no Established condition yet"
            waiting.append(f"{name} ({reason})")
    return not waiting, "not Established: " + ", ".join(waiting) if waiting else "every CRD Established"


def pod_state(pod: dict[str, Any]) -> str:
    """One Pod in a few words: its phase, and each container not ready with why."""
    status = pod.get("status") or {}
    words = [f"Pod {pod['metadata']['name']} {status.get('phase') or 'unknown'}"]
    for container in status.get("containerStatuses") or []:
        if container.get("ready"):
            continue
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated") or {}
        if waiting:
            why = f"waiting {waiting.get('reason')}: {waiting.get('message') or ''}".strip().rstrip(":")
        elif terminated:
            why = f"terminated {terminated.get('reason')} (exit {terminated.get('exitCode')})"
        else:
            why = "running, not ready"
        restarts = container.get("restartCount") or 0
        words.append(
            f"container {container.get('name')} {why}" + (f", {restarts} restarts" if restarts else "")
        )
    scheduled = _condition(pod, "PodScheduled")
    if scheduled.get("status") == "False":
        words.append(f"unscheduled: {scheduled.get('message') or scheduled.get('reason')}")
    return "; ".join(words)


def deployment_available(deployment: dict[str, Any] | None, pods: list[dict[str, Any]]) -> tuple[bool, str]:
    """Whether the manager's Deployment is available (its current Pod ready), and what was seen."""
    if deployment is None:
        return False, f"no Deployment {DEPLOYMENT}"
    status = deployment.get("status") or {}
    available = _condition(deployment, "Available")
    generation = (deployment.get("metadata") or {}).get("generation")
    done = (
        available.get("status") == "True"
        and status.get("observedGeneration") == generation
        and int(status.get("updatedReplicas") or 0) >= 1
        and int(status.get("readyReplicas") or 0) >= 1
    )
    seen = (
        f"Deployment {DEPLOYMENT}: Available={available.get('status', 'unknown')}"
        f" ({available.get('reason') or 'no reason'}), {status.get('readyReplicas') or 0} ready"
    )
    states = [pod_state(p) for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    return done, "; ".join([seen, *states]) if states else f"{seen}; no Pod yet"


def probe_flavor() -> str:
    """A ResourceFlavor for a server-side dry-run create: it passes Kueue's webhooks or fails there."""
    return yaml.safe_dump(
        {
            "apiVersion": kueue_states.API_VERSION,
            "kind": "ResourceFlavor",
            "metadata": {"name": "karta-probe"},
        }
    )


def poll(what: str, look: Callable[[], tuple[bool, str]], seconds: float, every: float | None = None) -> str:
    """``look`` until it says done, every ``every`` seconds (default ``POLL``) for at most ``seconds``; on
    timeout an EnvironmentProblem naming what it saw last (an EnvironmentProblem raised by ``look`` is a look
    that saw that). Returns what it saw."""
    last = ["nothing seen yet"]

    def attempt() -> bool:
        try:
            done, last[0] = look()
        except EnvironmentProblem as error:
            done, last[0] = False, str(error)
        return done

    retrying = Retrying(
        stop=stop_after_delay(seconds),
        wait=wait_fixed(POLL if every is None else every),
        retry=retry_if_result(lambda done: not done),
    )
    try:
        retrying(attempt)
    except RetryError:
        raise EnvironmentProblem(f"Kueue: {what} not within {seconds:.0f} s; last seen: {last[0]}") from None
    return last[0]


# --- the install ------------------------------------------------------------------------------------------


class Kubectl(Protocol):
    def __call__(self, *args: str, input: str | None = None) -> str: ...


class KindKueue:
    """Kueue of one kind cluster: installed once (``start``), by whichever scenario asks first."""

    def __init__(self, kubectl: Kubectl) -> None:
        self.kubectl = kubectl
        self.lock = threading.Lock()  # scenarios side by side asking at once: one installs, the others wait
        self.version = ""
        self.origin = ""
        self.failed = ""  # why the install failed: the scenarios asking next fail at once with it

    def described(self) -> str:
        """What the backend's report header says of Kueue: its version and how it runs, once installed."""
        if not self.version:
            return ""
        pinned = versions.load().kueue
        return (
            f"; Kueue {self.version} (real: {images.kueue_image(self.version)}, {self.origin}; installed from "
            f"{pinned.module} {'/'.join(CONFIG_DEFAULT)} (kubectl kustomize): its frameworks ({', '.join(FRAMEWORKS)} "
            "among them), webhooks and internal certificates as shipped, the visibility API off; installed for "
            "the scenarios that queue workloads)"
        )

    def start(self, publish: Callable[[str], str] | None) -> str:
        """Kueue installed (or the one installed already): its version. ``publish(image)`` makes the image
        reachable by its official name and says how (the registry mirror); None: the nodes pull it from its
        registry."""
        with self.lock:
            if self.version:
                return self.version
            if self.failed:
                raise EnvironmentProblem(f"Kueue's install failed earlier in this run: {self.failed}")
            pinned = versions.load().kueue
            image = images.kueue_image(pinned.version)
            try:
                origin = publish(image) if publish is not None else "pulled from its registry"
                with step(f"Installing Kueue {pinned.version} ({image}; manifests from {pinned.module})"):
                    self._install(pinned, image)
            except EnvironmentProblem as error:
                self.failed = str(error)
                raise
            self.version, self.origin = pinned.version, origin
            return self.version

    def _install(self, pinned: versions.GoModule, image: str) -> None:
        try:
            module_dir = gomod.download(pinned.module, pinned.version)
        except gomod.ModuleUnavailable as error:
            raise EnvironmentProblem(f"Kueue {pinned.version}'s manifests: {error}") from None
        docs = render(parse(self.kubectl("kustomize", str(config_default(module_dir)))), image)
        self._apply(starting(docs))
        names = crd_names(docs)
        poll(
            "its CRDs Established",
            lambda: crds_established(json.loads(self.kubectl("get", "crd", *names, "-o", "json")), names),
            CRD_TIMEOUT,
        )
        try:
            poll("its Deployment available", self._deployment, DEPLOYMENT_TIMEOUT)
        except EnvironmentProblem as error:
            raise EnvironmentProblem(f"{error}; its log ends: {self._log_tail()}") from None
        self._apply(docs)  # the webhooks as shipped: failurePolicy Fail
        probe = probe_flavor()
        poll("its webhooks answering", lambda: self._dry_run(probe), WEBHOOK_TIMEOUT)
        say(f"Kueue {pinned.version} runs: Deployment {NAMESPACE}/{DEPLOYMENT}, image {manager_image(docs)}")

    def _apply(self, docs: list[dict[str, Any]]) -> None:
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=yaml.safe_dump_all(docs))

    def _deployment(self) -> tuple[bool, str]:
        text = self.kubectl(
            "-n", NAMESPACE, "get", "deployment", DEPLOYMENT, "-o", "json", "--ignore-not-found"
        )
        pods = json.loads(self.kubectl("-n", NAMESPACE, "get", "pods", "-l", SELECTOR, "-o", "json"))
        return deployment_available(json.loads(text) if text.strip() else None, pods.get("items") or [])

    def _dry_run(self, probe: str) -> tuple[bool, str]:
        self.kubectl("create", "--dry-run=server", "-f", "-", input=probe)
        return True, "a ResourceFlavor passed its webhooks (dry run)"

    def _log_tail(self) -> str:
        try:
            text = self.kubectl("-n", NAMESPACE, "logs", f"deployment/{DEPLOYMENT}", "--tail=3")
        except EnvironmentProblem as error:
            return f"(no log: {error})"
        return " / ".join(text.strip().splitlines())[-600:] or "(empty)"

    def manager_log(self) -> str:
        """The manager's log (for the diagnostics), or why not."""
        try:
            return self.kubectl(
                "-n", NAMESPACE, "logs", f"deployment/{DEPLOYMENT}", "--all-containers", "--tail=-1"
            )
        except EnvironmentProblem as error:
            return f"could not read Kueue's manager log: {error}\n"
