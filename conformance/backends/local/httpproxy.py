"""The routing HTTP proxy the KubeRay operator uses as HTTP_PROXY, and the harness's control API.

The operator (and RayJob submitters) ask for ``http://<service>.<namespace>.svc.<domain>:<port>/...``
or ``http://<pod IP>:<port>/...``. The proxy finds the Ray head behind that name — Service
selector -> Pods -> the head Pod's Ray process, or Pod IP -> head Pod — and forwards the
request unchanged over that head's Unix socket. It never connects to a Pod IP: Pod IPs are
only names here. Requests for something without a Ray process (a worker Pod, a held head)
get 502/503, as a connection failure would look to the operator.

Control API (origin-form requests to the proxy itself, loopback only):
    GET  /_karta/healthz
    GET  /_karta/heads
    POST /_karta/hold?namespace=NS         the gate: heads that start from now on in NS hold their Serve app
                                           (replicas do not finish starting, the app stays DEPLOYING)
    POST /_karta/release?namespace=NS      open the gate: held apps finish deploying
    POST /_karta/kill-ray?namespace=NS&pod=POD
    POST /_karta/unhealthy?namespace=NS&pod=POD&value=1|0   the Serve app's health check fails / recovers
    POST /_karta/serve-unready?namespace=NS&value=1|0   the Serve proxies of NS go down / come back: the
                                           heads refuse their serving port (503 here), the worker Pods
                                           turn NotReady (runtime.ServeReadiness)
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conformance.backends.local.bridge import pipe
from conformance.backends.local.rayheads import HeadManager, RayHead

MAX_HEAD = 65536


class Unroutable(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        super().__init__(reason)


class Router:
    """Names and Pod IPs -> (Ray head, port)."""

    def __init__(
        self, heads: HeadManager, get_service: Callable[[str, str], Any], list_pods: Callable[[str], Any]
    ):
        self.heads = heads
        self.get_service = get_service
        self.list_pods = list_pods

    def route(self, host: str, port: int) -> tuple[RayHead, int]:
        head, target = self._route(host, port)
        if self.heads.serving_cut(head, target):
            raise Unroutable(
                503,
                f"the Serve proxy of {head.key.namespace}/{head.key.pod} does not answer on port {target} "
                "(the harness's drop-serve-endpoints fault)",
            )
        return head, target

    def _route(self, host: str, port: int) -> tuple[RayHead, int]:
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host)
            head = self.heads.by_pod_ip(host)
            if head is None:
                raise Unroutable(502, f"no Ray process behind Pod IP {host} (not a running head)")
            return head, port
        parts = host.split(".")
        name, namespace = parts[0], (parts[1] if len(parts) > 1 else "default")
        service = self.get_service(name, namespace)
        if service is None:
            raise Unroutable(502, f"no Service {namespace}/{name}")
        selector = (service.get("spec") or {}).get("selector") or {}
        target: Any = port
        for entry in (service.get("spec") or {}).get("ports") or []:
            if entry.get("port") == port:
                target = entry.get("targetPort", port)
        if not selector:
            raise Unroutable(502, f"Service {namespace}/{name} has no selector")
        for pod in self.list_pods(namespace):
            labels = pod["metadata"].get("labels") or {}
            if all(labels.get(k) == v for k, v in selector.items()):
                head = self.heads.by_pod(namespace, pod["metadata"]["name"])
                if head is not None and head.alive():
                    return head, _container_port(pod, target)
        raise Unroutable(503, f"no running Ray head behind Service {namespace}/{name}")


def _container_port(pod: dict[str, Any], target: Any) -> int:
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for container in pod.get("spec", {}).get("containers", []):
        for entry in container.get("ports") or []:
            if entry.get("name") == target:
                return int(entry["containerPort"])
    raise Unroutable(502, f"no container port named {target!r}")


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """(head up to and including the blank line, bytes read past it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_HEAD:
            break
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _respond(sock: socket.socket, status: int, body: dict[str, Any] | str) -> None:
    payload = (json.dumps(body) if isinstance(body, dict) else body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 502: "Bad Gateway", 503: "Service Unavailable"}
    sock.sendall(
        f"HTTP/1.1 {status} {reason.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )


def _without(headers: list[str], names: tuple[str, ...]) -> list[str]:
    return [h for h in headers if h.split(":", 1)[0].strip().lower() not in names]


class RoutingProxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        port: int,
        router: Router,
        control: Callable[[str, str, dict[str, str]], tuple[int, Any]],
        log: Path,
    ):
        self.router = router
        self.control = control
        self.log_path = log
        self.log_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def note(self, line: str) -> None:
        with self.log_lock, open(self.log_path, "a") as output:
            output.write(f"{time.strftime('%H:%M:%S')} {line}\n")


class _Handler(socketserver.BaseRequestHandler):
    server: RoutingProxy

    def handle(self) -> None:
        try:
            self._handle()
        except OSError as error:  # a peer went away mid-request: the operator retries
            self.server.note(f"connection dropped: {error}")
            with contextlib.suppress(OSError):
                self.request.close()

    def _handle(self) -> None:
        client: socket.socket = self.request
        head, rest = _read_head(client)
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            _respond(client, 400, {"error": "bad request line"})
            return
        headers = [line for line in lines[1:] if line]
        if target.startswith("/_karta/"):
            url = urlsplit(target)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, body = self.server.control(method, url.path, query)
            _respond(client, status, body if isinstance(body, dict) else {"result": body})
            return
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            path = ""
        else:
            url = urlsplit(target)
            host, port_text = url.hostname or "", str(url.port or 80)
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            ray_head, port = self.server.router.route(host, int(port_text))
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.settimeout(10)
            upstream.connect(str(ray_head.socket(port)))
            upstream.settimeout(None)
        except Unroutable as error:
            self.server.note(f"{method} {target} -> {error.status} {error}")
            _respond(client, error.status, {"error": str(error)})
            return
        except OSError as error:
            self.server.note(f"{method} {target} -> 502 {error}")
            _respond(client, 502, {"error": f"Ray head not answering on port {port_text}: {error}"})
            return
        self.server.note(f"{method} {target} -> {ray_head.key.namespace}/{ray_head.key.pod}:{port}")
        if method == "CONNECT":
            client.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            pipe(client, upstream)
            return
        upgrade = any(h.lower().startswith("upgrade:") for h in headers)
        kept = _without(headers, ("proxy-connection", "proxy-authorization", "keep-alive"))
        if not upgrade:
            kept = [*_without(kept, ("connection",)), "Connection: close"]
        upstream.sendall(
            f"{method} {path} {version}\r\n".encode() + "\r\n".join(kept).encode() + b"\r\n\r\n" + rest
        )
        forward = threading.Thread(target=_copy, args=(client, upstream), daemon=True)
        forward.start()
        response, body = _read_head(upstream)
        if response == b"\r\n\r\n":
            self.server.note(f"{method} {target} -> 502 empty answer from the Ray head")
            with contextlib.suppress(OSError):
                _respond(client, 502, {"error": "the Ray head closed the connection without answering"})
            client.close()
            upstream.close()
            return
        if not upgrade:
            status_line, *response_headers = [x for x in response.decode("latin-1").split("\r\n") if x]
            response = (
                "\r\n".join(
                    [
                        status_line,
                        *_without(response_headers, ("connection", "keep-alive")),
                        "Connection: close",
                    ]
                )
                + "\r\n\r\n"
            ).encode("latin-1")
        with contextlib.suppress(OSError):
            client.sendall(response + body)
            _copy(upstream, client)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RDWR)
        client.close()
        upstream.close()


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
