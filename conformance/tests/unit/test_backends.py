"""Backends declare their optional capabilities; the API switches serve `existing` and the local runtime."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conformance.backends.base import Capability, Unsupported
from conformance.backends.existing import OPERATOR_SELECTOR, ExistingProvider
from conformance.backends.fixture_app import GATE_KEY, HEALTH_KEY
from conformance.backends.kind.provider import KindProvider
from conformance.backends.local.httpproxy import Router, Unroutable
from conformance.backends.local.provider import LocalProvider
from conformance.backends.local.rayheads import SERVE_PORT, HeadKey, HeadManager, RayHead
from conformance.backends.local.readiness import ServeReadiness, is_ready, readiness_status, serve_workers
from conformance.backends.switches import NO_SERVE_SWITCH
from conformance.errors import EnvironmentProblem

pytestmark = pytest.mark.unit


def _existing(
    tmp_path: Path, deployments: list[dict[str, Any]], nodes: list[dict[str, Any]] | None = None
) -> tuple[ExistingProvider, list[tuple[str, ...]]]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    provider = ExistingProvider(str(kubeconfig), "v1.6.2")
    calls: list[tuple[str, ...]] = []

    def kubectl(*args: str, input: str | None = None) -> str:
        calls.append(args)
        if args[:2] == ("get", "nodes"):
            return json.dumps({"items": nodes if nodes is not None else [{"metadata": {"name": "node-1"}}]})
        return json.dumps({"items": deployments}) if args[:2] == ("get", "deployments") else ""

    provider.kubectl = kubectl  # type: ignore[method-assign]
    provider.switches.kubectl = kubectl
    return provider, calls


def test_kind_declares_every_capability_and_local_all_but_the_ray_node_list() -> None:
    assert KindProvider.capabilities == frozenset(Capability)
    assert LocalProvider.capabilities == frozenset(Capability) - {
        Capability.RAY_NODES,
        Capability.RUN_CONTAINERS,
    }
    assert {str(c) for c in Capability} == {
        "hold-new-heads",
        "restart-operator",
        "set-app-unhealthy",
        "drop-serve-endpoints",
        "list-ray-nodes",
        "submit-ray-job",
        "run-every-container",
    }
    kind = KindProvider("v1.6.2")
    assert kind.lacks(Capability.GATE) == kind.lacks(Capability.SERVE_UNREADY) == ""
    local = LocalProvider("v1.6.2", name="capabilities-test")
    assert "kwok" in local.lacks(Capability.RAY_NODES) and local.lacks(Capability.GATE) == ""
    with pytest.raises(Unsupported, match="cannot list-ray-nodes"):
        local.ray_nodes("ns", "head", "ray-head")


def test_kind_and_existing_list_ray_nodes_by_a_driver_on_the_head(tmp_path: Path) -> None:
    from conformance.backends.raynodes import NODES_MARK

    provider, calls = _existing(tmp_path, [])

    def kubectl(*args: str, input: str | None = None) -> str:
        calls.append(args)
        return f'noise\n{NODES_MARK}["10.0.0.9", "10.0.0.3"]\n'

    provider.kubectl = kubectl  # type: ignore[method-assign]
    assert Capability.RAY_NODES in provider.capabilities
    assert provider.ray_nodes("ns", "rc-head-x", "ray-head") == ["10.0.0.3", "10.0.0.9"]
    assert calls[-1][:8] == ("-n", "ns", "exec", "rc-head-x", "-c", "ray-head", "--", "python")


def _ray_pod(name: str, node: str, cid: str, running: bool = True) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "ray-head"}, {"name": "sidecar"}]},
        "status": {
            "containerStatuses": [
                {"name": "sidecar", "containerID": "containerd://side", "state": {"running": {}}},
                {"name": "ray-head", "containerID": f"containerd://{cid}",
                 "state": {"running": {}} if running else {"waiting": {}}},
            ]
        },
    }  # fmt: skip


class _Run:
    """Records kind's docker commands; ``ctr task ls`` answers from ``tasks``."""

    def __init__(self, tasks: dict[str, str]) -> None:
        self.tasks = tasks
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str], input: str | None = None) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        listing = self.tasks.get(command[2], "") if "ctr" in command else ""
        return subprocess.CompletedProcess(list(command), 0, listing, "")


def test_kind_closes_ray_serves_port_in_each_ray_pod_and_reopens_exactly_those() -> None:
    run = _Run(
        {
            "n1": "TASK  PID  STATUS\naaa  101  RUNNING\nside  7  RUNNING\n",
            "n2": "TASK  PID  STATUS\nbbb  202  RUNNING\n",
        }
    )
    kind = KindProvider("v1.6.2", runner=run)
    kind._docker = "/t/docker"
    pods = {"items": [_ray_pod("head", "n1", "aaa"), _ray_pod("worker", "n2", "bbb")]}
    now: dict[str, dict[str, Any]] = {}  # a Pod as read again by name (gone when absent)

    def kubectl(*args: str, input: str | None = None) -> str:
        if args[2:4] == ("get", "pod"):
            return json.dumps(now[args[4]]) if args[4] in now else ""
        return json.dumps(pods)

    kind.kubectl = kubectl  # type: ignore[method-assign]
    kind.set_serve_unready("ns1", True)
    rule = ["INPUT", "-p", "tcp", "--dport", "8000", "-j", "REJECT", "--reject-with", "tcp-reset"]
    assert [c for c in run.commands if "nsenter" in c] == [
        ["/t/docker", "exec", "n1", "nsenter", "--target=101", "--net", "iptables", "-I", *rule],
        ["/t/docker", "exec", "n2", "nsenter", "--target=202", "--net", "iptables", "-I", *rule],
    ]
    run.commands.clear()
    kind.set_serve_unready("ns1", False)
    assert run.commands == [
        ["/t/docker", "exec", "n1", "nsenter", "--target=101", "--net", "iptables", "-D", *rule],
        ["/t/docker", "exec", "n2", "nsenter", "--target=202", "--net", "iptables", "-D", *rule],
    ]
    run.commands.clear()
    kind.set_serve_unready("ns1", False)  # nothing closed any more: nothing to reopen
    assert run.commands == []
    pods["items"] = [_ray_pod("head", "n1", "zzz", running=False)]
    with pytest.raises(EnvironmentProblem, match="no running Ray container in ns1"):
        kind.set_serve_unready("ns1", True)
    pods["items"] = [_ray_pod("head", "n1", "gone")]
    now["head"] = pods["items"][0]  # still there, not being deleted: its container should have run
    with pytest.raises(EnvironmentProblem, match="head: its Ray container is not running on n1"):
        kind.set_serve_unready("ns1", True)
    # A Pod deleted between the listing and the rule (the superseded RayCluster's, during KubeRay's
    # deletion delay) is passed over; the others are still closed.
    pods["items"] = [_ray_pod("old-head", "n1", "gone"), _ray_pod("head", "n1", "aaa")]
    now["old-head"] = {**pods["items"][0], "metadata": {"name": "old-head", "deletionTimestamp": "t"}}
    run.commands.clear()
    kind.set_serve_unready("ns1", True)
    assert [c for c in run.commands if "nsenter" in c] == [
        ["/t/docker", "exec", "n1", "nsenter", "--target=101", "--net", "iptables", "-I", *rule]
    ]
    del now["old-head"]  # gone altogether: the same
    kind.set_serve_unready("ns1", False)
    kind.set_serve_unready("ns1", True)
    assert kind._serve_closed["ns1"] == [("n1", 101)]
    # A rule that fails on a Pod that is still there is an error, with iptables' words.
    failing = _Run({"n1": "TASK  PID  STATUS\naaa  101  RUNNING\n"})
    failing_kind = KindProvider(
        "v1.6.2",
        runner=lambda c, input=None: (
            failing(c) if "ctr" in c else subprocess.CompletedProcess(list(c), 1, "", "iptables: no chain")
        ),
    )
    failing_kind._docker = "/t/docker"
    failing_kind.kubectl = kubectl  # type: ignore[method-assign]
    pods["items"] = [_ray_pod("head", "n1", "aaa")]
    with pytest.raises(
        EnvironmentProblem,
        match="closing Ray Serve's port in Pod ns1/head failed \\(exit 1\\): iptables: no chain",
    ):
        failing_kind.set_serve_unready("ns1", True)


def test_existing_drives_the_gate_through_the_api_and_restarts_the_operators_deployment(
    tmp_path: Path,
) -> None:
    operator = {"metadata": {"namespace": "ray-system", "name": "kuberay-operator"}}
    provider, calls = _existing(tmp_path, [operator])
    provider.start()
    assert provider.capabilities == frozenset(Capability) - {Capability.SERVE_UNREADY}
    assert provider.lacks(Capability.SERVE_UNREADY) == NO_SERVE_SWITCH
    assert "no way into an existing cluster's nodes" in NO_SERVE_SWITCH
    provider.hold_new_heads("ns1")  # no longer refused: the ConfigMap switch, as on kind
    assert calls[-1][:5] == ("-n", "ns1", "patch", "configmap", "karta-fixture-app")
    assert json.loads(calls[-1][-1]) == {"data": {GATE_KEY: "on"}}
    provider.restart_operator()
    assert calls[-2] == ("-n", "ray-system", "rollout", "restart", "deployment/kuberay-operator")


def test_existing_without_an_operator_deployment_lacks_only_the_restart(tmp_path: Path) -> None:
    provider, calls = _existing(tmp_path, [])
    provider.start()
    assert calls == [
        ("get", "nodes", "-o", "json"),
        ("get", "deployments", "-A", "-l", OPERATOR_SELECTOR, "-o", "json"),
    ]
    assert provider.capabilities == frozenset(
        {
            Capability.GATE,
            Capability.APP_UNHEALTHY,
            Capability.RAY_NODES,
            Capability.SUBMIT_RAY_JOB,
            Capability.RUN_CONTAINERS,
        }
    )
    assert provider.lacks(Capability.GATE) == ""
    assert "the cluster has 0" in provider.lacks(Capability.RESTART_OPERATOR)
    with pytest.raises(Unsupported) as raised:
        provider.restart_operator()
    assert raised.value.exit_code == 2
    assert str(raised.value).startswith("the existing backend cannot restart-operator: ")


def test_kind_without_pytest_kind_is_one_line_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pytest_kind", None)  # as if the dev extra were not installed
    with pytest.raises(EnvironmentProblem) as raised:
        KindProvider("v1.6.2")._kind_cluster({"kind": "kind", "kubectl": "kubectl"})
    assert raised.value.exit_code == 2
    assert "\n" not in str(raised.value) and "pytest-kind" in str(raised.value)


def test_local_runtime_follows_the_configmap_switches(tmp_path: Path) -> None:
    heads = HeadManager(tmp_path / "ray", tmp_path / "logs")
    head = RayHead(
        HeadKey("ns1", "head-0", "uid-switches-test"), "rc", "10.0.0.1", tmp_path / "ray", tmp_path
    )
    heads.heads["uid-switches-test"] = head
    head.socket_dir.mkdir(parents=True, exist_ok=True)
    flag = head.socket_dir / "unhealthy"
    try:
        heads.follow_switches({"ns1": {GATE_KEY: "off", HEALTH_KEY: "off"}})
        assert heads.held == set() and not flag.exists()
        heads.follow_switches({"ns1": {GATE_KEY: "on", HEALTH_KEY: "off"}})
        assert heads.held == {"ns1"}
        head.held = True
        head.gate_file.write_text("held\n")
        heads.follow_switches({"ns1": {GATE_KEY: "off", HEALTH_KEY: "on"}})
        assert heads.held == set() and not head.held and not head.gate_file.exists()
        assert flag.exists()
        heads.follow_switches({"ns1": {GATE_KEY: "off", HEALTH_KEY: "off"}})
        assert not flag.exists()
        heads.hold("ns2")  # the control API (the local provider) is not undone by an unchanged ConfigMap
        heads.follow_switches({"ns1": {GATE_KEY: "off"}, "ns2": {GATE_KEY: "off"}})
        assert heads.held == {"ns2"}
    finally:
        head.gate_file.unlink(missing_ok=True)
        flag.unlink(missing_ok=True)
        head.socket_dir.rmdir()


def test_no_scenario_probes_a_provider_with_hasattr() -> None:
    folder = Path(__file__).parents[2] / "live" / "scenarios"
    sources = {p.name: p.read_text() for p in folder.glob("*.py")}
    assert "context.py" in sources and "rayservice.py" in sources
    assert [name for name, text in sources.items() if "hasattr(" in text] == []


def _pod(
    name: str, node_type: str, serve: str | None = "true", ready: bool = True, **status: Any
) -> dict[str, Any]:
    labels = {"ray.io/node-type": node_type, "ray.io/cluster": "rc"}
    if serve is not None:
        labels["ray.io/serve"] = serve
    return {
        "metadata": {"name": name, "namespace": "ns1", "uid": f"uid-{name}", "labels": labels},
        "spec": {"containers": [{"name": "ray-worker"}]},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "t0"},
                {
                    "type": "ContainersReady",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": "t0",
                },
                {"type": "PodScheduled", "status": "True"},
            ],
            "containerStatuses": [{"name": "ray-worker", "ready": ready, "restartCount": 0}],
            **status,
        },
    }


def test_serve_workers_are_the_running_rayservice_workers() -> None:
    worker = _pod("w", "worker")
    head = _pod("h", "head")
    plain = _pod("plain", "worker", serve=None)  # a RayCluster's worker: in no RayService's serve Service
    pending = _pod("p", "worker", phase="Pending")
    deleting = _pod("d", "worker")
    deleting["metadata"]["deletionTimestamp"] = "now"
    assert serve_workers([worker, head, plain, pending, deleting]) == [worker]


def test_readiness_status_turns_a_pod_not_ready_and_back_keeping_the_rest() -> None:
    pod = _pod("w", "worker")
    down = readiness_status(pod, False, "t1")["status"]
    by_type = {c["type"]: c for c in down["conditions"]}
    assert [c["type"] for c in down["conditions"]] == [
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert by_type["Ready"] == {
        "type": "Ready",
        "status": "False",
        "lastTransitionTime": "t1",
        "reason": "ContainersNotReady",
        "message": "containers with unready status: [ray-worker]",
    }
    assert by_type["ContainersReady"]["status"] == "False"
    assert by_type["Initialized"] == {"type": "Initialized", "status": "True"}
    assert down["containerStatuses"] == [{"name": "ray-worker", "ready": False, "restartCount": 0}]
    assert not is_ready({"status": down})
    up = readiness_status({**pod, "status": {**pod["status"], **down}}, True, "t2")["status"]
    assert {c["type"]: c for c in up["conditions"]}["Ready"] == {
        "type": "Ready",
        "status": "True",
        "lastTransitionTime": "t2",
    }
    assert is_ready({"status": up})
    # unchanged value: the transition time stays
    again = readiness_status(pod, True, "t3")["status"]
    assert {c["type"]: c for c in again["conditions"]}["Ready"]["lastTransitionTime"] == "t0"


def test_serve_readiness_keeps_workers_not_ready_while_down_and_restores_only_its_own() -> None:
    pods = {"w1": _pod("w1", "worker"), "w2": _pod("w2", "worker", ready=False), "h": _pod("h", "head")}
    down: set[str] = set()
    patched: list[tuple[str, bool]] = []

    def patch(namespace: str, name: str, body: dict[str, Any]) -> None:
        pods[name] = {**pods[name], "status": {**pods[name]["status"], **body["status"]}}
        patched.append((name, is_ready(pods[name])))

    readiness = ServeReadiness(lambda: set(down), lambda namespace: list(pods.values()), patch)
    readiness.reconcile()
    assert patched == []  # nothing is down: nothing touched (w2 stays NotReady, not ours)
    down.add("ns1")
    readiness.reconcile()
    assert patched == [("w1", False)]
    pods["w3"] = _pod("w3", "worker")  # a worker made while the fault is on turns NotReady too
    readiness.reconcile()
    assert patched == [("w1", False), ("w3", False)]
    down.clear()
    readiness.reconcile()
    assert sorted(patched[2:]) == [("w1", True), ("w3", True)]  # w2 was NotReady before: left so
    assert not is_ready(pods["w2"]) and readiness.flipped == {}
    readiness.reconcile()
    assert len(patched) == 4


def test_router_refuses_the_serving_port_of_heads_whose_serve_proxies_are_down(tmp_path: Path) -> None:
    heads = HeadManager(tmp_path / "ray", tmp_path / "logs")
    head = RayHead(HeadKey("ns1", "head-0", "uid-router-test"), "rc", "10.0.0.1", tmp_path / "ray", tmp_path)
    other = RayHead(
        HeadKey("ns2", "head-0", "uid-router-other"), "rc", "10.0.0.2", tmp_path / "ray", tmp_path
    )
    heads.heads = {"uid-router-test": head, "uid-router-other": other}
    router = Router(heads, lambda name, namespace: None, lambda namespace: [])
    assert router.route("10.0.0.1", SERVE_PORT) == (head, SERVE_PORT)
    heads.set_serve_down("ns1", True)
    with pytest.raises(Unroutable, match="drop-serve-endpoints") as raised:
        router.route("10.0.0.1", SERVE_PORT)
    assert raised.value.status == 503
    assert router.route("10.0.0.1", 8265) == (
        head,
        8265,
    )  # the dashboard still answers: the app stays RUNNING
    assert router.route("10.0.0.2", SERVE_PORT) == (other, SERVE_PORT)  # another namespace is not touched
    heads.set_serve_down("ns1", False)
    assert router.route("10.0.0.1", SERVE_PORT) == (head, SERVE_PORT)


def test_existing_ray_submit_names_the_submission_id(tmp_path: Path) -> None:
    provider, calls = _existing(tmp_path, [])
    assert Capability.SUBMIT_RAY_JOB in provider.capabilities
    provider.ray_submit("ns", "rc-head-x", "ray-head", ["python", "-c", "print(1)"], "interactive-1")
    assert calls[-1][-6:] == ("--submission-id", "interactive-1", "--", "python", "-c", "print(1)")
    provider.ray_submit("ns", "rc-head-x", "ray-head", ["true"])
    assert "--submission-id" not in calls[-1]


def test_local_submit_posts_the_job_to_the_heads_pod_ip_through_the_routing_proxy() -> None:
    """RuntimeControl.submit: the head found by the control API, the job POSTed in absolute form (the
    proxy routes by the Pod IP), the submission id in the body; a refusal is one EnvironmentProblem."""
    import http.server
    import threading

    from conformance.backends.local.control import RuntimeControl

    seen: list[tuple[str, str, dict[str, Any]]] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            heads = [
                {"namespace": "ns", "pod": "rc-head-x", "cluster": "rc", "ip": "10.0.0.7", "alive": "True"}
            ]
            self._answer(200, {"heads": heads})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(("POST", self.path, body))
            self._answer(400 if body.get("submission_id") == "taken" else 200, {"submission_id": "x"})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        control = RuntimeControl(server.server_address[1])
        assert "submission_id" in control.submit("ns", "rc-head-x", "python -c 'print(1)'", "interactive-1")
        assert seen[-1] == (
            "POST",
            "http://10.0.0.7:8265/api/jobs/",
            {"entrypoint": "python -c 'print(1)'", "submission_id": "interactive-1"},
        )
        with pytest.raises(EnvironmentProblem, match="refused the job \\(400\\)"):
            control.submit("ns", "rc-head-x", "true", "taken")
        with pytest.raises(EnvironmentProblem, match="no running Ray head for Pod ns/other"):
            control.submit("ns", "other", "true")
    finally:
        server.shutdown()


def test_existing_on_kwok_nodes_lacks_every_capability_that_runs_a_container(tmp_path: Path) -> None:
    """`--cluster existing` pointed at a running local-backend cluster: its nodes are kwok's, so the probe
    that asks a head's GCS for its nodes (kubectl exec) cannot run; the phases that need it are UNVERIFIED
    with this reason, not ERROR."""
    kwok = [
        {"metadata": {"name": f"kwok-{i}", "annotations": {"kwok.x-k8s.io/node": "fake"}}} for i in range(3)
    ]
    provider, _ = _existing(tmp_path, [], kwok)
    provider.start()
    assert provider.capabilities == frozenset({Capability.GATE, Capability.APP_UNHEALTHY})
    for capability in (Capability.RAY_NODES, Capability.SUBMIT_RAY_JOB, Capability.RUN_CONTAINERS):
        assert "simulated by kwok (annotation kwok.x-k8s.io/node)" in provider.lacks(capability)
