"""Kueue on the kind backend (backends/kind/kueue.py): its image under the official name (kind/images.py
``kueue_recipe``, kind/imagebuild.py ``static_elf``), the edits to the manifests rendered from the module's
config/default, what the install waits for and says when it times out, and the order of its steps."""

from __future__ import annotations

import copy
import json
import struct
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import versions
from conformance.backends.kind import imagebuild, images
from conformance.backends.kind import kueue as kind_kueue
from conformance.backends.kind import mirror as kind_mirror
from conformance.backends.kind.kueue import KindKueue
from conformance.backends.local import kueue as local_kueue
from conformance.errors import EnvironmentProblem
from conformance.toolchain import build, gomod

pytestmark = pytest.mark.unit


# --- the image --------------------------------------------------------------------------------------------


def test_the_image_has_kueues_official_name_at_the_pinned_version_and_runs_manager() -> None:
    pinned = versions.load().kueue
    image = images.kueue_image(pinned.version)
    assert image == f"registry.k8s.io/kueue/kueue:{pinned.version}"
    recipe = images.kueue_recipe(image)
    assert recipe.tag == image and recipe.files == ("kueue",) and recipe.extra_tags == ()
    assert (
        recipe.dockerfile == 'FROM scratch\nCOPY kueue /manager\nUSER 65532:65532\nENTRYPOINT ["/manager"]\n'
    )
    # the cache key follows the binary's content
    assert recipe.key({"kueue": "a"}) != recipe.key({"kueue": "b"})


def test_the_image_is_published_under_its_official_path_in_the_mirror() -> None:
    image = images.kueue_image("v0.17.0")
    reference = kind_mirror.Reference.parse(image)
    assert (reference.host, reference.path, reference.tag) == ("registry.k8s.io", "kueue/kueue", "v0.17.0")
    assert reference.host in kind_mirror.UPSTREAM  # the nodes ask the mirror for registry.k8s.io
    assert kind_mirror.push("docker", image, 5110) == [
        ["docker", "tag", image, "127.0.0.1:5110/kueue/kueue:v0.17.0"],
        ["docker", "push", "--quiet", "127.0.0.1:5110/kueue/kueue:v0.17.0"],
        ["docker", "rmi", "127.0.0.1:5110/kueue/kueue:v0.17.0"],
    ]


def _elf(wide: bool, little: bool, program_types: list[int]) -> bytes:
    """A minimal ELF file: its header and a program header table of ``program_types``."""
    order = "<" if little else ">"
    if wide:
        entry = 56
        header = b"\x7fELF" + bytes([2, 1 if little else 2, 1]) + bytes(9)
        header += struct.pack(
            order + "HHIQQQIHHHHHH", 2, 62, 1, 0x400000, 64, 0, 0, 64, entry, len(program_types), 64, 0, 0
        )
        table = b"".join(struct.pack(order + "II", t, 5) + bytes(entry - 8) for t in program_types)
    else:
        entry = 32
        header = b"\x7fELF" + bytes([1, 1 if little else 2, 1]) + bytes(9)
        header += struct.pack(
            order + "HHIIIIIHHHHHH", 2, 3, 1, 0x8048000, 52, 0, 0, 52, entry, len(program_types), 40, 0, 0
        )
        table = b"".join(struct.pack(order + "I", t) + bytes(entry - 4) for t in program_types)
    return header + table  # fmt: skip


@pytest.mark.parametrize(("wide", "little"), [(True, True), (True, False), (False, True), (False, False)])
def test_a_static_executable_names_no_dynamic_loader(tmp_path: Path, wide: bool, little: bool) -> None:
    binary = tmp_path / "binary"
    binary.write_bytes(_elf(wide, little, [1, 1, 4]))  # PT_LOAD, PT_LOAD, PT_NOTE
    assert imagebuild.static_elf(binary)
    binary.write_bytes(_elf(wide, little, [6, 3, 1, 2]))  # PT_PHDR, PT_INTERP, PT_LOAD, PT_DYNAMIC
    assert not imagebuild.static_elf(binary)


def test_what_is_not_a_whole_elf_executable_is_not_static(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\nexec true\n" * 10)
    assert not imagebuild.static_elf(script)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(_elf(True, True, [1, 1])[:80])  # the header, half the table
    assert not imagebuild.static_elf(truncated)


def test_a_dynamic_kueue_manager_is_refused_before_any_image_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kueue").write_bytes(_elf(True, True, [3, 1]))
    monkeypatch.setattr(build, "build_kueue", lambda module, version: (tmp_path, tmp_path))
    monkeypatch.setattr(imagebuild, "docker_build", lambda *a, **k: pytest.fail("built a dynamic manager"))
    with pytest.raises(EnvironmentProblem, match="not a static executable"):
        imagebuild.kueue()


# --- the manifests ----------------------------------------------------------------------------------------

CONFIG = """apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
health:
  healthProbeBindAddress: :8081
webhook:
  port: 9443
leaderElection:
  leaderElect: true
#internalCertManagement:
#  enable: false
integrations:
  frameworks:
  - "batch/job"
  - "ray.io/rayjob"
  - "pod"
"""


def rendered() -> list[dict[str, Any]]:
    """What ``kubectl kustomize config/default`` gives, cut down to the objects the edits touch."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kueue-system"}},
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "workloads.kueue.x-k8s.io"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kueue-manager-config", "namespace": "kueue-system"},
            "data": {"controller_manager_config.yaml": CONFIG},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "kueue-controller-manager", "namespace": "kueue-system"},
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "manager",
                                "command": ["/manager"],
                                "image": "us-central1-docker.pkg.dev/k8s-staging-images/kueue/kueue:main",
                            },
                            {"name": "sidecar", "image": "example.com/sidecar:1"},
                        ]
                    }
                }
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "kueue-mutating-webhook-configuration"},
            "webhooks": [
                {"name": "mrayjob.kb.io", "failurePolicy": "Fail"},
                {"name": "mpod.kb.io", "failurePolicy": "Fail"},
            ],
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "kueue-validating-webhook-configuration"},
            "webhooks": [{"name": "vrayjob.kb.io", "failurePolicy": "Fail"}],
        },
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": "v1beta2.visibility.kueue.x-k8s.io"},
            "spec": {
                "group": "visibility.kueue.x-k8s.io",
                "version": "v1beta2",
                "insecureSkipTLSVerify": True,
                "service": {"name": "kueue-visibility-server", "namespace": "kueue-system"},
            },
        },
    ]


def _named(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind]
    return found


def test_the_manager_runs_the_official_image_and_only_its_container_changes() -> None:
    docs = rendered()
    before = copy.deepcopy(docs)
    edited = kind_kueue.render(docs, "registry.k8s.io/kueue/kueue:v0.17.0")
    assert docs == before  # a copy: the rendered objects are untouched
    assert [d["kind"] for d in edited] == [d["kind"] for d in docs if d["kind"] != "APIService"]
    containers = _named(edited, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert containers[0] == {
        "name": "manager",
        "command": ["/manager"],
        "image": "registry.k8s.io/kueue/kueue:v0.17.0",
    }
    assert containers[1] == {"name": "sidecar", "image": "example.com/sidecar:1"}
    assert kind_kueue.manager_image(edited) == "registry.k8s.io/kueue/kueue:v0.17.0"
    unchanged = [d for d in edited if d["kind"] not in ("Deployment", "ConfigMap")]
    assert unchanged == [d for d in before if d["kind"] not in ("Deployment", "ConfigMap", "APIService")]


def test_the_configuration_runs_the_ray_frameworks_in_the_deployments_namespace_and_keeps_the_rest() -> None:
    """The Ray frameworks in the Deployment's namespace, the visibility API off; the rest as shipped."""
    docs = rendered()
    _named(docs, "Deployment")["metadata"]["namespace"] = "queues"
    edited = kind_kueue.render(docs, "registry.k8s.io/kueue/kueue:v0.17.0")
    config = yaml.safe_load(_named(edited, "ConfigMap")["data"]["controller_manager_config.yaml"])
    # the shipped frameworks kept (a framework turned off gets a no-op webhook, which panics in v0.17.0), the
    # Ray ones added where missing
    assert config["integrations"] == {
        "frameworks": ["batch/job", "ray.io/rayjob", "pod", "ray.io/raycluster", "ray.io/rayservice"]
    }
    assert config["namespace"] == "queues"
    assert config["featureGates"] == {"VisibilityOnDemand": False}  # its APIServices are left out too
    # as Kueue ships it otherwise: internal certificates (not turned off), leader election, its ports
    assert "internalCertManagement" not in config
    assert config["leaderElection"] == {"leaderElect": True}
    assert config["webhook"] == {"port": 9443}
    assert config["health"] == {"healthProbeBindAddress": ":8081"}
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2" and config["kind"] == "Configuration"


def test_the_local_backends_frameworks_are_on_and_its_feature_gates_the_same() -> None:
    assert kind_kueue.FRAMEWORKS == local_kueue.FRAMEWORKS
    local = local_kueue.configuration(1, 2, Path("/certs"))
    kind = kind_kueue.configuration(CONFIG, "kueue-system")
    assert set(local["integrations"]["frameworks"]) <= set(kind["integrations"]["frameworks"])
    assert kind["featureGates"] == local["featureGates"]
    shipped = CONFIG + "featureGates:\n  PartialAdmission: true\n"
    gates = kind_kueue.configuration(shipped, "kueue-system")["featureGates"]
    assert gates == {"PartialAdmission": True, "VisibilityOnDemand": False}  # the others kept


def test_manifests_without_the_manager_or_its_configuration_are_refused() -> None:
    docs = [d for d in rendered() if d["kind"] != "Deployment"]
    with pytest.raises(EnvironmentProblem, match="renders 0 Deployment kueue-controller-manager, not one"):
        kind_kueue.render(docs, "x")
    docs = rendered()
    _named(docs, "ConfigMap")["data"]["controller_manager_config.yaml"] = "kind: Other\n"
    with pytest.raises(EnvironmentProblem, match="holds no Configuration"):
        kind_kueue.render(docs, "x")


def test_while_the_manager_starts_every_webhook_fails_open() -> None:
    docs = kind_kueue.render(rendered(), "x")
    before = copy.deepcopy(docs)
    opened = kind_kueue.starting(docs)
    assert docs == before  # a copy: what is applied once the manager runs is as shipped
    policies = [
        w["failurePolicy"]
        for d in opened
        if d["kind"].endswith("WebhookConfiguration")
        for w in d["webhooks"]
    ]
    assert policies == ["Ignore", "Ignore", "Ignore"]
    assert [w["failurePolicy"] for d in docs if "webhooks" in d for w in d["webhooks"]] == ["Fail"] * 3
    assert [d for d in opened if "webhooks" not in d] == [d for d in docs if "webhooks" not in d]
    assert kind_kueue.crd_names(docs) == ["workloads.kueue.x-k8s.io"]


def test_the_names_are_those_of_the_modules_config_default() -> None:
    """The Deployment, its container and command, the ConfigMap and its key, the namespace and the Pods' label,
    read from the pinned module's kustomization (the module proxy, as every Kueue run needs it)."""
    pinned = versions.load().kueue
    default = kind_kueue.config_default(gomod.download(pinned.module, pinned.version))
    kustomization = yaml.safe_load((default / "kustomization.yaml").read_text())
    prefix, namespace = kustomization["namePrefix"], kustomization["namespace"]
    assert namespace == kind_kueue.NAMESPACE
    components = default.parent / "components" / "manager"
    manager = [
        d for d in yaml.safe_load_all((components / "manager.yaml").read_text()) if d["kind"] == "Deployment"
    ]
    assert prefix + manager[0]["metadata"]["name"] == kind_kueue.DEPLOYMENT
    (container,) = manager[0]["spec"]["template"]["spec"]["containers"]
    assert (container["name"], container["command"]) == (
        kind_kueue.CONTAINER,
        ["/manager"],
    )  # the image's path
    generator = yaml.safe_load((components / "kustomization.yaml").read_text())["configMapGenerator"][0]
    assert prefix + generator["name"] == kind_kueue.CONFIGMAP and generator["files"] == [
        kind_kueue.CONFIG_KEY
    ]
    (pairs,) = [label["pairs"] for label in kustomization["labels"] if label.get("includeSelectors")]
    assert ",".join(f"{key}={value}" for key, value in pairs.items()) == kind_kueue.SELECTOR
    shipped = (components / kind_kueue.CONFIG_KEY).read_text()
    frameworks = yaml.safe_load(shipped)["integrations"]["frameworks"]
    assert set(kind_kueue.FRAMEWORKS) <= set(frameworks)  # shipped on: the list stays as it is
    assert kind_kueue.configuration(shipped, namespace)["integrations"]["frameworks"] == frameworks
    patch = yaml.safe_load((default / "manager_config_patch.yaml").read_text())
    args = patch["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--config=/{kind_kueue.CONFIG_KEY}" in args


# --- what the install waits for ---------------------------------------------------------------------------


def _crd(name: str, status: str, reason: str = "") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {"conditions": [{"type": "Established", "status": status, "reason": reason}]},
    }


def test_crds_are_waited_for_until_every_one_is_established() -> None:
    names = ["a.kueue.x-k8s.io", "b.kueue.x-k8s.io", "c.kueue.x-k8s.io"]
    listing = {"items": [_crd(names[0], "True"), _crd(names[1], "False", "Installing")]}
    assert kind_kueue.crds_established(listing, names) == (
        False,
        "not Established: b.kueue.x-k8s.io (Installing), c.kueue.x-k8s.io (not listed)",
    )
    listing = {"items": [_crd(n, "True") for n in names]}
    assert kind_kueue.crds_established(listing, names) == (True, "every CRD Established")


def _deployment(available: str, ready: int, generation: int = 2, observed: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": 1,
            "readyReplicas": ready,
            "conditions": [{"type": "Available", "status": available, "reason": "MinimumReplicasAvailable"}],
        },
    }


def _pod(name: str, phase: str, state: dict[str, Any], ready: bool = False, **extra: Any) -> dict[str, Any]:
    status = {
        "phase": phase,
        "containerStatuses": [{"name": "manager", "ready": ready, "state": state, **extra}],
    }
    return {"metadata": {"name": name}, "status": status}


def test_the_deployment_is_available_once_its_current_pod_is_ready_and_says_what_it_saw() -> None:
    pulling = _pod("m-1", "Pending", {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}})
    assert kind_kueue.deployment_available(_deployment("False", 0), [pulling]) == (
        False,
        "Deployment kueue-controller-manager: Available=False (MinimumReplicasAvailable), 0 ready; "
        "Pod m-1 Pending; container manager waiting ImagePullBackOff: not found",
    )
    crashing = _pod("m-1", "Running", {"terminated": {"reason": "Error", "exitCode": 1}}, restartCount=3)
    assert kind_kueue.deployment_available(_deployment("False", 0), [crashing])[1].endswith(
        "Pod m-1 Running; container manager terminated Error (exit 1), 3 restarts"
    )
    starting = _pod("m-1", "Running", {"running": {}})
    assert kind_kueue.deployment_available(_deployment("False", 0), [starting])[1].endswith(
        "container manager running, not ready"
    )
    ready = _pod("m-1", "Running", {"running": {}}, ready=True)
    assert kind_kueue.deployment_available(_deployment("True", 1), [ready]) == (
        True,
        "Deployment kueue-controller-manager: Available=True (MinimumReplicasAvailable), 1 ready; Pod m-1 Running",
    )
    # a status of an older generation is not this Deployment's
    assert not kind_kueue.deployment_available(_deployment("True", 1, observed=1), [ready])[0]
    assert kind_kueue.deployment_available(None, []) == (False, "no Deployment kueue-controller-manager")
    unscheduled = {
        "metadata": {"name": "m-2"},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available"}],
        },
    }
    assert kind_kueue.deployment_available(_deployment("False", 0), [unscheduled])[1].endswith(
        "Pod m-2 Pending; unscheduled: 0/3 nodes are available"
    )


def test_a_poll_that_times_out_names_the_last_thing_it_saw() -> None:
    seen = iter(["first", "second"] + ["third"] * 1000)
    with pytest.raises(EnvironmentProblem, match=r"Kueue: its thing not within 0 s; last seen: third$"):
        kind_kueue.poll("its thing", lambda: (False, next(seen)), 0.05, every=0.01)

    def refused() -> tuple[bool, str]:
        raise EnvironmentProblem("kubectl create failed: connection refused")

    with pytest.raises(EnvironmentProblem, match="last seen: kubectl create failed: connection refused"):
        kind_kueue.poll("its webhooks answering", refused, 0.05, every=0.01)
    answers = iter([(False, "not yet"), (True, "there")])
    assert kind_kueue.poll("it", lambda: next(answers), 5, every=0.01) == "there"


# --- the install, its commands recorded ---------------------------------------------------------------------


class FakeKubectl:
    """Answers the install's kubectl calls like a cluster where everything is ready at once."""

    def __init__(self, webhook_refusals: int = 0) -> None:
        self.calls: list[tuple[tuple[str, ...], str | None]] = []
        self.refusals = webhook_refusals
        self.lock = threading.Lock()

    def __call__(self, *args: str, input: str | None = None) -> str:
        with self.lock:
            self.calls.append((args, input))
        if args[0] == "kustomize":
            return yaml.safe_dump_all(rendered())
        if args[:2] == ("get", "crd"):
            return json.dumps({"items": [_crd(n, "True") for n in args[2:-2]]})
        if "deployment" in args and "get" in args:
            return json.dumps(_deployment("True", 1))
        if "pods" in args:
            return json.dumps({"items": [_pod("m-1", "Running", {"running": {}}, ready=True)]})
        if args[0] == "create" and self.refusals:
            self.refusals -= 1
            raise EnvironmentProblem("kubectl create --dry-run=server - failed: no endpoints available")
        return ""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(gomod, "download", lambda module, version: tmp_path / "kueue@v")
    monkeypatch.setattr(kind_kueue, "POLL", 0.01)
    return tmp_path / "kueue@v"


def _policies(manifest: str | None) -> list[str]:
    return [
        w["failurePolicy"]
        for d in yaml.safe_load_all(manifest or "")
        if d and "webhooks" in d
        for w in d["webhooks"]
    ]


def test_the_install_renders_applies_failing_open_waits_applies_as_shipped_and_probes(module: Path) -> None:
    kubectl = FakeKubectl(webhook_refusals=2)
    published: list[str] = []
    kueue = KindKueue(kubectl)
    assert kueue.described() == ""

    def publish(image: str) -> str:
        published.append(image)
        return "built here, through the mirror"

    assert kueue.start(publish) == "v0.17.0"
    assert published == ["registry.k8s.io/kueue/kueue:v0.17.0"]
    calls = [args for args, _ in kubectl.calls]
    assert calls[0] == ("kustomize", str(module / "config" / "default"))
    applies = [i for i, args in enumerate(calls) if args[0] == "apply"]
    assert [calls[i] for i in applies] == [("apply", "--server-side", "--force-conflicts", "-f", "-")] * 2
    first, second = (kubectl.calls[i][1] for i in applies)
    assert _policies(first) == ["Ignore"] * 3 and _policies(second) == ["Fail"] * 3
    kinds = [[d["kind"] for d in yaml.safe_load_all(m or "") if d] for m in (first, second)]
    assert kinds[0] == kinds[1] and "APIService" not in kinds[0]
    assert calls[applies[0] + 1] == ("get", "crd", "workloads.kueue.x-k8s.io", "-o", "json")
    assert (
        "-n",
        "kueue-system",
        "get",
        "deployment",
        "kueue-controller-manager",
        "-o",
        "json",
        "--ignore-not-found",
    ) in calls[applies[0] : applies[1]]
    probes = calls[applies[1] + 1 :]
    assert probes == [("create", "--dry-run=server", "-f", "-")] * 3  # refused twice, then through
    assert yaml.safe_load(kubectl.calls[-1][1] or "") == {
        "apiVersion": "kueue.x-k8s.io/v1beta2",
        "kind": "ResourceFlavor",
        "metadata": {"name": "karta-probe"},
    }
    for manifest in (first, second):
        (deployment,) = [d for d in yaml.safe_load_all(manifest or "") if d and d["kind"] == "Deployment"]
        assert (
            deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            == "registry.k8s.io/kueue/kueue:v0.17.0"
        )
    line = kueue.described()
    assert line.startswith(
        "; Kueue v0.17.0 (real: registry.k8s.io/kueue/kueue:v0.17.0, built here, through the mirror;"
    )
    assert "sigs.k8s.io/kueue config/default (kubectl kustomize)" in line
    assert "its frameworks (ray.io/rayjob, ray.io/raycluster, ray.io/rayservice among them)" in line
    count = len(kubectl.calls)
    assert kueue.start(publish) == "v0.17.0" and len(kubectl.calls) == count  # once per cluster


def test_scenarios_asking_at_once_install_kueue_once(module: Path) -> None:
    kubectl = FakeKubectl()
    kueue = KindKueue(kubectl)
    versions_seen: list[str] = []
    threads = [threading.Thread(target=lambda: versions_seen.append(kueue.start(None))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert versions_seen == ["v0.17.0"] * 4
    assert [args[0] for args, _ in kubectl.calls].count("kustomize") == 1
    assert "registry.k8s.io/kueue/kueue:v0.17.0, pulled from its registry;" in kueue.described()


def test_a_failed_install_is_not_tried_again_by_the_next_scenario(
    module: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kind_kueue, "WEBHOOK_TIMEOUT", 0.05)
    kubectl = FakeKubectl(webhook_refusals=10**6)
    kueue = KindKueue(kubectl)
    with pytest.raises(
        EnvironmentProblem, match=r"its webhooks answering not within 0 s; last seen: .*no endpoints"
    ):
        kueue.start(None)
    count = len(kubectl.calls)
    with pytest.raises(
        EnvironmentProblem, match=r"Kueue's install failed earlier in this run: .*no endpoints"
    ):
        kueue.start(None)
    assert len(kubectl.calls) == count and kueue.described() == ""
