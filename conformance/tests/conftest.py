"""Thin pytest wiring: options, the live cluster (session) and a namespace per test.

Live tests never skip silently: when the cluster cannot be brought up they fail with
the reason. Deselect them explicitly with ``-m "not live"``.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.backends.base import Provider
from conformance.backends.registry import make_provider
from conformance.errors import UserError
from conformance.k8s import diagnostics
from conformance.k8s.client import Kube


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("karta-conformance")
    group.addoption(
        "--cluster",
        default="auto",
        help="live backend: auto (default: kind when a Docker daemon answers, else local), local, kind or existing",
    )
    group.addoption(
        "--kuberay-version", default=None, help="KubeRay version for live tests (default: pinned default)"
    )
    group.addoption(
        "--definitions",
        action="append",
        default=None,
        help="definition files or folders (default: definitions/)",
    )
    group.addoption("--artifacts", default="artifacts", help="folder for diagnostics and reports")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def artifacts(pytestconfig: pytest.Config) -> Path:
    folder = Path(pytestconfig.getoption("artifacts")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def provider(pytestconfig: pytest.Config) -> Iterator[Provider]:
    """The live cluster for the whole session; torn down at the end (also on failure and Ctrl-C)."""
    # --kubeconfig, --kind-image, --keep-cluster and --cluster-name are pytest-kind's options;
    # kind clusters take --cluster-name, so --keep-cluster can reuse one.
    cluster = pytestconfig.getoption("cluster")
    name = pytestconfig.getoption("cluster_name") if cluster == "kind" else f"pytest-{os.getpid()}"
    try:
        chosen = make_provider(
            cluster,
            pytestconfig.getoption("kuberay_version"),
            pytestconfig.getoption("kubeconfig"),
            name=name,
            node_image=pytestconfig.getoption("kind_image"),
            keep=pytestconfig.getoption("keep_cluster"),
        )
    except UserError as error:
        pytest.fail(f"live tests cannot run: {error}", pytrace=False)
    try:
        chosen.start()
    except (UserError, OSError, subprocess.CalledProcessError) as error:
        chosen.stop()
        pytest.fail(f"live tests cannot run: the {chosen.name} cluster did not start: {error}", pytrace=False)
    print(f"\n{chosen.describe()}")
    try:
        yield chosen
    finally:
        chosen.stop()


@pytest.fixture(scope="session")
def kube(provider: Provider) -> Kube:
    return Kube(provider.kubeconfig)


@pytest.fixture
def namespace(
    request: pytest.FixtureRequest, kube: Kube, provider: Provider, artifacts: Path
) -> Iterator[str]:
    """A fresh namespace per test; diagnostics are collected if the test fails; always deleted."""
    slug = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:30].strip("-")
    name = f"kc-{slug}-{uuid.uuid4().hex[:5]}"
    kube.create_namespace(name, {"app.kubernetes.io/part-of": "karta-conformance"})
    try:
        provider.prepare_namespace(name)
        yield name
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            folder = artifacts / "diagnostics" / f"{name}-{int(time.time())}"
            diagnostics.collect(kube, name, folder, provider.logs(), note=str(report.longrepr)[-4000:])
            print(f"\ndiagnostics: {folder}")
        kube.delete_namespace(name)
