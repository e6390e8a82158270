"""The hostile corpus (conformance/tests/hostile/manifest.yaml): every case ends in bounded time with
its exit code and first line, never a traceback, a leaked secret or a forged workflow command."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.static

HERE = Path(__file__).parents[1] / "hostile"
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "manifest.yaml").read_text())
SECRET = "hunter2-karta-hostile"
CASE_SECONDS = 15
CASE_MEMORY = 3 << 30


def _setup(kind: str | None, tmp: Path) -> None:
    definition = (HERE / "definitions" / "formats.yaml").read_text()
    if kind == "fifo":
        os.mkfifo(tmp / "fifo.yaml")
    elif kind == "fifo-in-folder":
        (tmp / "definitions").mkdir()
        os.mkfifo(tmp / "definitions" / "x.yaml")
    elif kind == "symlink-out":
        (tmp / "definitions").mkdir()
        (tmp / "outside").mkdir()
        (tmp / "outside" / "secret.yaml").write_text(f"token: {SECRET}\n")
        (tmp / "definitions" / "evil.yaml").symlink_to(tmp / "outside" / "secret.yaml")
    elif kind == "dangling":
        (tmp / "definitions").mkdir()
        (tmp / "definitions" / "gone.yaml").symlink_to(tmp / "nowhere.yaml")
    elif kind == "too-big":
        (tmp / "big.yaml").write_text(definition + "#" * (2 << 20) + "\n")
    elif kind == "not-utf8":
        (tmp / "latin1.yaml").write_bytes(b"# caf\xe9\n" + definition.encode())
    elif kind == "not-utf8-fixture":
        (tmp / "fixtures").mkdir()
        (tmp / "fixtures" / "raycluster.yaml").write_bytes(b"\xff\xfe kind: RayCluster\n")
    elif kind == "report-folder":
        (tmp / "report").mkdir()
    elif kind == "report-fifo":
        os.mkfifo(tmp / "summary.md")
    else:
        assert kind is None, f"unknown setup {kind!r}"


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CASE_MEMORY, CASE_MEMORY))


def _first_line(code: int, out: str, err: str) -> str:
    if code == 2:
        return err.splitlines()[0] if err else ""
    lines = out.splitlines()
    if "" in lines:
        after = lines[lines.index("") + 1 :]
        if after and after[0]:
            return after[0]
    return lines[-1] if lines else ""


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_case(case: dict[str, Any], tmp_path: Path) -> None:
    tmp = tmp_path.resolve()
    _setup(case.get("setup"), tmp)
    args = [str(a).replace("{tmp}", str(tmp)) for a in case["args"]]
    summary = tmp / "step-summary.md"
    env = {**os.environ, "KARTA_HOSTILE_SECRET": SECRET, "GITHUB_STEP_SUMMARY": str(summary)}
    command = [sys.executable, "-m", "conformance", "check", "--static", "--kuberay-version", "v1.6.2", *args]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=HERE,
            env=env,
            capture_output=True,
            text=True,
            timeout=CASE_SECONDS,
            preexec_fn=_bounded,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case['name']}: still running after {CASE_SECONDS} s")
    seconds = time.monotonic() - started
    published = done.stdout + done.stderr + (summary.read_text() if summary.is_file() else "")
    assert "Traceback" not in published, done.stderr
    assert SECRET not in published
    for line in published.splitlines():
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line
    assert done.returncode == case["exit"], done.stdout + done.stderr
    if done.returncode == 2:
        assert len(done.stderr.splitlines()) == 1, done.stderr
    expected = str(case["first"]).replace("{tmp}", str(tmp))
    assert _first_line(done.returncode, done.stdout, done.stderr).startswith(expected), (
        done.stdout + done.stderr
    )
    assert seconds < CASE_SECONDS
