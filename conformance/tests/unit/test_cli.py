"""conformance/cli.py: bad input and a missing toolchain are one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import versions
from conformance.cli import main

pytestmark = pytest.mark.unit


def test_unknown_kuberay_version_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "up", "--provider", "local", "--kuberay-version", "v0.0.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"supported: {', '.join(versions.load().kuberay)}" in err


def test_missing_go_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    assert main(["cluster", "up", "--provider", "local", "--name", "no-go"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the Go toolchain is missing: install Go" in err[0]


def test_sigterm_unwinds_like_ctrl_c() -> None:
    """A cancelled CI job (SIGTERM) runs every cleanup, as Ctrl-C does: clusters are stopped."""
    import signal

    from conformance import cli

    previous = signal.getsignal(signal.SIGTERM)
    try:
        assert cli.main(["ci", "matrix"]) == 0
        assert signal.getsignal(signal.SIGTERM) is cli._terminated
        with pytest.raises(KeyboardInterrupt):
            cli._terminated(signal.SIGTERM, None)
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--live", "--parallel", "0"], "--parallel takes 1 to 8 (scenarios at a time), not 0"),
        (["--live", "--parallel", "9"], "--parallel takes 1 to 8 (scenarios at a time), not 9"),
        (["--static", "--parallel", "2"], "--parallel needs --live"),
    ],
)
def test_a_parallel_out_of_range_or_without_live_is_one_line_before_any_cluster_work(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert (
        main(
            ["check", *argv, "--cluster", "existing", "--kubeconfig", str(tmp_path / "none"), "definitions/"]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err
