"""A byte pipe from Unix sockets to TCP ports on this namespace's loopback.

Started inside a Ray head's network namespace:

    python -m conformance.backends.local.bridge SOCKET_DIR PORT [PORT ...]

listens on ``SOCKET_DIR/<port>.sock`` for each port and pipes every connection to
``127.0.0.1:<port>`` inside the namespace. The routing proxy, outside, connects to
those Unix sockets (the file system is shared; the network is not).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from pathlib import Path


def pipe(left: socket.socket, right: socket.socket) -> None:
    """Copy bytes both ways until both directions are closed."""

    def copy(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:  # a reset by either side ends the pipe; nothing to report
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=copy, args=(right, left), daemon=True)
    other.start()
    copy(left, right)
    other.join()
    left.close()
    right.close()


def serve(socket_dir: Path, port: int) -> None:
    path = socket_dir / f"{port}.sock"
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    while True:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()


def main(argv: list[str]) -> int:
    socket_dir = Path(argv[0])
    socket_dir.mkdir(parents=True, exist_ok=True)
    ports = [int(p) for p in argv[1:]]
    for port in ports:
        threading.Thread(target=serve, args=(socket_dir, port), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
