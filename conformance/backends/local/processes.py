"""Start, find and stop the local processes a cluster runs, through pid files."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)
from tenacity.stop import stop_base


def kubectl(
    binary: Path, kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = 120
) -> str:
    """``kubectl --kubeconfig <kubeconfig> <args>``, its output; bounded, one line on failure."""
    from conformance.errors import EnvironmentProblem

    try:
        completed = subprocess.run(
            [str(binary), "--kubeconfig", str(kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(
            f"kubectl {' '.join(args[:3])} did not finish within {timeout:.0f} s"
        ) from None
    if completed.returncode != 0:
        raise EnvironmentProblem(f"kubectl {' '.join(args[:3])} failed: {completed.stderr.strip()[-600:]}")
    return completed.stdout


def python_env(package_parent: Path) -> dict[str, str]:
    """The environment of a harness module run as its own Python process (``python -m conformance...``):
    the package importable from ``package_parent``, no HTTP proxy (it talks to the cluster on loopback)."""
    env = dict(os.environ, PYTHONPATH=str(package_parent))
    for key in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        env.pop(key, None)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); look at its state.
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields and fields[0] == "Z":
            return False
    return True


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def start(
    name: str, argv: list[str], env: dict[str, str], log: Path, pid_dir: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session, output to ``log``, pid in ``pid_dir/<name>.pid``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            argv,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
        )
    (pid_dir / f"{name}.pid").write_text(f"{process.pid}\n")
    return process


def stop(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the process group of ``pid`` (falling back to the pid), then SIGKILL after ``grace``."""
    if not alive(pid):
        return
    _signal(pid, signal.SIGTERM)
    if _gone_within(pid, grace):
        return
    _signal(pid, signal.SIGKILL)
    _gone_within(pid, 5.0)


def stop_many(pids: list[int], grace: float = 10.0) -> None:
    """``stop`` for several processes at once: all signalled together, one ``grace`` for them all (a
    teardown of N processes takes the slowest one's time, not the sum)."""
    living = [pid for pid in pids if alive(pid)]
    for pid in living:
        _signal(pid, signal.SIGTERM)
    left = _all_gone(living, grace)
    for pid in left:
        _signal(pid, signal.SIGKILL)
    _all_gone(left, 5.0)


def _all_gone(pids: list[int], seconds: float) -> list[int]:
    """Bounded poll (reaping our own children) until every one of ``pids`` is gone: those still there."""

    def still_there() -> list[int]:
        for pid in pids:
            _reap(pid)
        return [pid for pid in pids if alive(pid)]

    poll = Retrying(stop=stop_after_delay(seconds), wait=wait_fixed(0.1), retry=retry_if_result(bool))
    try:
        left: list[int] = poll(still_there)
        return left
    except RetryError:
        return still_there()


def _gone_within(pid: int, seconds: float) -> bool:
    """Bounded poll (reaping our own children) until ``pid`` is gone; False if it outlived ``seconds``."""

    def still_there() -> bool:
        _reap(pid)
        return alive(pid)

    poll = Retrying(stop=stop_after_delay(seconds), wait=wait_fixed(0.1), retry=retry_if_result(bool))
    try:
        return not poll(still_there)
    except RetryError:
        return False


def stop_all(pid_dir: Path, grace: float = 10.0) -> list[str]:
    """Stop every process with a pid file in ``pid_dir``; return the names stopped."""
    stopped = []
    for pid_file in sorted(pid_dir.glob("*.pid")):
        pid = read_pid(pid_file)
        if pid is not None and alive(pid):
            stop(pid, grace)
            stopped.append(pid_file.stem)
        pid_file.unlink(missing_ok=True)
    return stopped


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return
    try:
        if group == pid:
            os.killpg(group, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_http_ok(url: str, deadline: float, while_alive: int | None = None) -> bool:
    """Poll ``url`` (loopback only; an https one with the cluster's self-signed certificate, unverified)
    until it answers 200, for at most ``deadline`` seconds, and no longer than process ``while_alive``
    lives when given."""
    context = ssl._create_unverified_context() if url.startswith("https:") else None

    def attempt() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    class _Gone(stop_base):
        def __call__(self, retry_state: RetryCallState) -> bool:
            return while_alive is not None and not alive(while_alive)

    poll = retry(
        stop=stop_after_delay(deadline) | _Gone(),
        wait=wait_fixed(0.25),
        retry=retry_if_result(lambda ok: not ok),
    )
    try:
        return bool(poll(attempt)())
    except RetryError:
        return False
