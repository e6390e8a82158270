"""Thin pytest wiring: options, the live cluster (session) and a namespace per test.

Live tests never skip silently: when the cluster cannot be brought up they fail with
the reason. Deselect them explicitly with ``-m "not live"``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.backends.base import Provider
from conformance.errors import UserError
from conformance.k8s.client import Kube
from conformance.live.session import LiveSession


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
    group.addoption(
        "--parallel",
        type=int,
        default=None,
        help="live: scenarios side by side (default: the backend's; see karta-conformance check --parallel)",
    )


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (CI cancelling the job, `kill`) unwinds like Ctrl-C, as in the CLI: the session's fixtures
    tear down, so the live cluster's processes and Ray heads stop instead of being left running."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)


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


def _cluster_name(pytestconfig: pytest.Config, cluster: str) -> str:
    """kind: --cluster-name when given (and always with --keep-cluster, to reuse it), else one per run, so
    two pytest sessions never share pytest-kind's default cluster; local: one per run."""
    if cluster != "kind":
        return f"pytest-{os.getpid()}"
    name: str = pytestconfig.getoption("cluster_name")
    if name == "pytest-kind" and not pytestconfig.getoption("keep_cluster"):  # pytest-kind's default
        return f"pytest-kind-{os.getpid()}"
    return name


@pytest.fixture(scope="session")
def session(pytestconfig: pytest.Config, artifacts: Path) -> Iterator[LiveSession]:
    """The live session (conformance.live.session, as the CLI runs it) for the whole pytest session;
    torn down at the end (also on failure and Ctrl-C)."""
    # --kubeconfig, --kind-image, --keep-cluster and --cluster-name are pytest-kind's options;
    # kind clusters take --cluster-name, so --keep-cluster can reuse one.
    cluster = pytestconfig.getoption("cluster")
    try:
        live = LiveSession.for_cluster(
            cluster,
            pytestconfig.getoption("kuberay_version"),
            pytestconfig.getoption("kubeconfig"),
            artifacts,
            name=_cluster_name(pytestconfig, cluster),
            node_image=pytestconfig.getoption("kind_image"),
            keep=pytestconfig.getoption("keep_cluster"),
            parallel=pytestconfig.getoption("parallel"),
        )
        live.start()
    except UserError as error:
        pytest.fail(f"live tests cannot run: {error}", pytrace=False)
    print(f"\n{live.header}")
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="session")
def provider(session: LiveSession) -> Provider:
    return session.provider


@pytest.fixture(scope="session")
def kube(session: LiveSession) -> Kube:
    return session.kube


@pytest.fixture
def namespace(request: pytest.FixtureRequest, session: LiveSession) -> Iterator[str]:
    """A fresh namespace per test (the session's); diagnostics are collected if the test fails."""
    with session.namespace(request.node.name) as made:
        yield made.name
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            folder = made.diagnose("test-failed", str(report.longrepr)[-4000:])
            print(f"\ndiagnostics: {folder}")
