"""Run by test_sigterm_unwinds_pytest (a pytest in a subprocess, under the suite's conftest): a session
fixture whose teardown must run when the process gets SIGTERM, as a live cluster's does."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def cluster() -> Iterator[None]:
    yield
    Path(os.environ["SLEEPER_TORN_DOWN"]).write_text("torn down")


def test_waits(cluster: None) -> None:
    Path(os.environ["SLEEPER_READY"]).write_text("ready")
    threading.Event().wait(60)  # until the signal (a bounded wait: the outer test fails on its own deadline)
