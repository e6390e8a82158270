"""The harness's side of the Ray runtime's control API (loopback HTTP, never through a proxy)."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

from conformance.errors import EnvironmentProblem

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# The runtime answers once its reconcile loop lets go of the heads (it holds them while it starts new
# Ray heads, which on a loaded machine, several heads at once, took more than 10 s: a RayCronJob's two
# clusters starting beside the RayService's).
CONTROL_TIMEOUT = 60.0


class RuntimeControl:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}/_karta"

    def _call(self, method: str, action: str, **query: str) -> dict[str, Any]:
        url = f"{self.base}/{action}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
        try:
            with _DIRECT.open(request, timeout=CONTROL_TIMEOUT) as response:
                result: dict[str, Any] = json.loads(response.read() or b"{}")
                return result
        except OSError as error:
            raise EnvironmentProblem(
                f"the Ray runtime's control API did not answer {action}: {error}"
            ) from None

    def hold(self, namespace: str) -> None:
        """Close the gate: Ray heads that start in ``namespace`` from now on hold their Serve app."""
        self._call("POST", "hold", namespace=namespace)

    def release(self, namespace: str) -> None:
        self._call("POST", "release", namespace=namespace)

    def unhealthy(self, namespace: str, pod: str, value: bool = True) -> None:
        self._call("POST", "unhealthy", namespace=namespace, pod=pod, value="1" if value else "0")

    def serve_unready(self, namespace: str, value: bool = True) -> None:
        """The Serve proxies of ``namespace`` go down (``value``) or come back."""
        self._call("POST", "serve-unready", namespace=namespace, value="1" if value else "0")
