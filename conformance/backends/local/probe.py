"""Readiness probes of the local backend's own processes (loopback HTTP only)."""

from __future__ import annotations

import urllib.error
import urllib.request

from tenacity import RetryError, retry, retry_if_result, stop_after_delay, wait_fixed


def wait_http_ok(url: str, deadline: float) -> bool:
    """Poll ``url`` (loopback only) until it answers 200, for at most ``deadline`` seconds."""

    def attempt() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    poll = retry(
        stop=stop_after_delay(deadline), wait=wait_fixed(0.25), retry=retry_if_result(lambda ok: not ok)
    )
    try:
        return bool(poll(attempt)())
    except RetryError:
        return False
