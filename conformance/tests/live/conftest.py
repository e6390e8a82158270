"""The live tests' shared run: the scenarios run once per session (``live``), as ``check --live`` runs
them; every live test module reads its snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.definition import Definition, load_definitions, load_path
from conformance.live.session import LiveResult, LiveSession
from conformance.tests.helpers import DEFINITIONS


@pytest.fixture(scope="session")
def given(pytestconfig: pytest.Config) -> list[Definition]:
    """``--definitions PATH...`` (default: definitions/ and the RayService modeling variants)."""
    paths = pytestconfig.getoption("definitions")
    return load_definitions(paths) if paths else _definitions()


@pytest.fixture(scope="session")
def live(session: LiveSession, artifacts: Path, given: list[Definition]) -> LiveResult:
    """The scenarios run once, as ``check --live`` runs them: snapshots and reports in ``--artifacts``.
    The default run includes the two cheap feature scenarios that show the shipped definitions'
    Suspended mappings (a RayCluster and a RayJob suspended; about 15 s on the local backend)."""
    run = session.run(given)
    run.write_reports(artifacts / "live-report.json", markdown_path=artifacts / "live-summary.md")
    return run.result


def _definitions() -> list[Definition]:
    return load_path(DEFINITIONS) + load_path(DEFINITIONS / "variants")
