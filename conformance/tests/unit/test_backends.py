"""Backends declare their optional capabilities; the API switches serve `existing` and the local runtime."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.backends.base import Capability, Unsupported
from conformance.backends.existing import OPERATOR_SELECTOR, ExistingProvider
from conformance.backends.fixture_app import GATE_KEY, HEALTH_KEY
from conformance.backends.kind.provider import KindProvider
from conformance.backends.local.provider import LocalProvider
from conformance.backends.local.rayheads import HeadKey, HeadManager, RayHead
from conformance.errors import EnvironmentProblem

pytestmark = pytest.mark.unit


def _existing(
    tmp_path: Path, deployments: list[dict[str, Any]]
) -> tuple[ExistingProvider, list[tuple[str, ...]]]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    provider = ExistingProvider(str(kubeconfig), "v1.6.2")
    calls: list[tuple[str, ...]] = []

    def kubectl(*args: str, input: str | None = None) -> str:
        calls.append(args)
        return json.dumps({"items": deployments}) if args[:2] == ("get", "deployments") else ""

    provider.kubectl = kubectl  # type: ignore[method-assign]
    provider.switches.kubectl = kubectl
    return provider, calls


def test_local_and_kind_declare_every_capability() -> None:
    assert LocalProvider.capabilities == frozenset(Capability) == KindProvider.capabilities
    assert {str(c) for c in Capability} == {"hold-new-heads", "restart-operator", "set-app-unhealthy"}


def test_existing_drives_the_gate_through_the_api_and_restarts_the_operators_deployment(
    tmp_path: Path,
) -> None:
    operator = {"metadata": {"namespace": "ray-system", "name": "kuberay-operator"}}
    provider, calls = _existing(tmp_path, [operator])
    provider.start()
    assert provider.capabilities == frozenset(Capability)
    provider.hold_new_heads("ns1")  # no longer refused: the ConfigMap switch, as on kind
    assert calls[-1][:5] == ("-n", "ns1", "patch", "configmap", "karta-fixture-app")
    assert json.loads(calls[-1][-1]) == {"data": {GATE_KEY: "on"}}
    provider.restart_operator()
    assert calls[-2] == ("-n", "ray-system", "rollout", "restart", "deployment/kuberay-operator")


def test_existing_without_an_operator_deployment_lacks_only_the_restart(tmp_path: Path) -> None:
    provider, calls = _existing(tmp_path, [])
    provider.start()
    assert calls == [("get", "deployments", "-A", "-l", OPERATOR_SELECTOR, "-o", "json")]
    assert provider.capabilities == frozenset({Capability.GATE, Capability.APP_UNHEALTHY})
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
    source = (Path(__file__).parents[2] / "live" / "scenarios.py").read_text()
    assert "hasattr(" not in source
