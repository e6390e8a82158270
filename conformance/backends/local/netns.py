"""Network namespaces for Ray heads: each head gets its own loopback, so every head uses Ray's default ports.

Nothing is routed in or out of these namespaces: they have only a loopback interface.
The routing proxy reaches a head through Unix sockets (see :mod:`conformance.backends.local.bridge`),
so no packet ever leaves a loopback interface.
"""

from __future__ import annotations

import shutil
import subprocess

from conformance.errors import EnvironmentProblem

PREFIX = "karta-"


def _ip() -> str:
    found = shutil.which("ip")
    if found is None:
        raise EnvironmentProblem(
            "the `ip` command (iproute2) is missing: install it (e.g. `apt-get install iproute2`)"
        )
    return found


def create(name: str) -> None:
    """Create namespace ``name`` with its loopback up (idempotent)."""
    ip = _ip()
    if name not in existing():
        completed = subprocess.run([ip, "netns", "add", name], capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise EnvironmentProblem(
                f"cannot create network namespace {name} (needs root or CAP_SYS_ADMIN): {completed.stderr.strip()}"
            )
    subprocess.run(
        [ip, "netns", "exec", name, ip, "link", "set", "lo", "up"], capture_output=True, check=True
    )


def delete(name: str) -> None:
    subprocess.run([_ip(), "netns", "delete", name], capture_output=True, check=False)


def existing() -> list[str]:
    completed = subprocess.run([_ip(), "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in completed.stdout.splitlines() if line.strip()]


def exec_argv(name: str, argv: list[str]) -> list[str]:
    """``argv`` run inside namespace ``name``."""
    return [_ip(), "netns", "exec", name, *argv]
