"""The harness's side of the Ray runtime's control API (loopback HTTP, never through a proxy)."""

from __future__ import annotations

import json
import urllib.error
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

    def heads(self) -> list[dict[str, str]]:
        """The Ray heads the runtime runs: namespace, pod, cluster, ip, alive."""
        return list(self._call("GET", "heads").get("heads") or [])

    def submit(self, namespace: str, pod: str, entrypoint: str, submission_id: str = "") -> str:
        """POST a Ray job to the dashboard of head Pod ``pod`` through the routing proxy (as the operator
        and the submitters reach it: by the Pod's IP); the dashboard's answer."""
        found = [h for h in self.heads() if (h.get("namespace"), h.get("pod")) == (namespace, pod)]
        if not found or found[0].get("alive") != "True":
            raise EnvironmentProblem(f"no running Ray head for Pod {namespace}/{pod} (heads: {self.heads()})")
        body: dict[str, Any] = {"entrypoint": entrypoint}
        if submission_id:
            body["submission_id"] = submission_id
        proxy = self.base.removesuffix("/_karta")
        request = urllib.request.Request(
            f"http://{found[0]['ip']}:8265/api/jobs/",
            method="POST",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
        try:
            with opener.open(request, timeout=CONTROL_TIMEOUT) as response:
                return bytes(response.read()).decode(errors="replace")
        except urllib.error.HTTPError as error:
            answer = error.read().decode(errors="replace")[-300:]
            raise EnvironmentProblem(
                f"the Ray dashboard of {namespace}/{pod} refused the job ({error.code}): {answer}"
            ) from None
        except OSError as error:
            raise EnvironmentProblem(f"submitting a Ray job to {namespace}/{pod} failed: {error}") from None

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
