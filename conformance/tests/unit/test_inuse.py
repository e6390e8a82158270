"""One harness process per cluster name (conformance.backends.inuse), and what the backends do with it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance.backends.inuse import ClusterClaim
from conformance.errors import EnvironmentProblem

pytestmark = pytest.mark.unit


def test_a_second_claim_on_the_same_name_is_refused_naming_the_holder(tmp_path: Path) -> None:
    first = ClusterClaim(tmp_path / "kind-karta.claim", "the kind cluster 'karta'", "use --cluster-name")
    first.acquire()
    assert first.held
    second = ClusterClaim(tmp_path / "kind-karta.claim", "the kind cluster 'karta'", "use --cluster-name")
    with pytest.raises(EnvironmentProblem) as refused:
        second.acquire()
    assert str(refused.value).startswith(f"the kind cluster 'karta' is in use by pid {os.getpid()} (")
    assert str(refused.value).endswith(": use --cluster-name")
    assert not second.held
    first.release()
    second.acquire()  # free again once the holder let go
    assert second.held
    second.release()


def test_another_name_is_another_claim(tmp_path: Path) -> None:
    one = ClusterClaim(tmp_path / "a.claim", "a", "")
    other = ClusterClaim(tmp_path / "b.claim", "b", "")
    one.acquire()
    other.acquire()
    assert one.held and other.held
    one.release()
    other.release()
