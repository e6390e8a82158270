"""conformance/k8s/client.py: a bounded wait says what it saw last, and the API error behind it.

The probe stands in for a call to the API server that fails (the edge under test is the wait loop's
bookkeeping, not Kubernetes); the same message on a real API server is checked in
tests/live/test_live_capture.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from conformance.k8s.client import WaitTimeout, describe_error, wait_until

pytestmark = pytest.mark.unit


def _unavailable() -> ApiException:
    error = ApiException(status=503, reason="Service Unavailable")
    error.body = json.dumps({"kind": "Status", "message": "etcdserver: leader changed"})
    return error


def test_a_timeout_after_api_errors_names_the_last_error() -> None:
    def probe() -> Any:
        raise _unavailable()

    with pytest.raises(WaitTimeout) as caught:
        wait_until("the RayCluster to be ready", probe, 0.3)
    assert caught.value.last is None
    assert isinstance(caught.value.error, ApiException)
    assert str(caught.value) == (
        "timed out after 0 s waiting for the RayCluster to be ready; last seen: None; "
        "last API error: 503 Service Unavailable: etcdserver: leader changed"
    )


def test_a_timeout_keeps_the_last_value_seen_before_the_api_failed() -> None:
    answers: list[Any] = [{"state": "pending"}]

    def probe() -> Any:
        if answers:
            answers.pop()
            return False  # not yet: the value seen is recorded, then the API fails
        raise _unavailable()

    with pytest.raises(WaitTimeout) as caught:
        wait_until("ready", probe, 0.3)
    assert caught.value.last is False
    assert "last seen: False; last API error: 503 Service Unavailable" in str(caught.value)


def test_a_timeout_without_api_errors_says_only_the_last_value() -> None:
    with pytest.raises(WaitTimeout) as caught:
        wait_until("ready", lambda: None, 0.2)
    assert caught.value.error is None
    assert str(caught.value).endswith(
        "waiting for ready; last seen: None (no API error; the condition never held)"
    )


def test_a_value_ends_the_wait() -> None:
    calls: list[int] = []

    def probe() -> str | None:
        calls.append(1)
        if len(calls) == 1:
            raise _unavailable()
        return "ready" if len(calls) == 3 else None

    assert wait_until("ready", probe, 10) == "ready"
    assert len(calls) == 3


def test_an_api_error_reads_as_one_line() -> None:
    error = ApiException(status=500, reason="Internal Server Error")
    error.body = "not\njson\n  at all"
    assert describe_error(error) == "500 Internal Server Error: not json at all"
    assert describe_error(ApiException(status=403, reason="Forbidden")) == "403 Forbidden"
    assert describe_error(ConnectionResetError("reset\nby peer")) == "ConnectionResetError: reset by peer"
