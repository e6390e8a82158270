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


README = Path(__file__).resolve().parents[3] / "README.md"


def _check_options() -> dict[str, str]:
    """``check``'s options (the three modes aside) -> the default its help states."""
    import argparse
    import re

    from conformance.cli import _parser

    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    check = commands.choices["check"]
    found = {}
    for action in check._actions:
        flags = [f for f in action.option_strings if f.startswith("--")]
        if not flags or flags[0] in ("--help", "--static", "--live", "--snapshots", "--flows", "--replay"):
            continue
        said = re.search(r"[(;] ?default: (.*)\)$", " ".join((action.help or "").split()))
        assert said, f"{flags[0]}: its help must end with (default: ...)"
        found[flags[0]] = said.group(1)
    return found


def _readme_options() -> dict[str, str]:
    """The README's options table: flag (second column) -> default (third column)."""
    import re

    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Options")
    rows = {}
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        # cells split on the pipes that are not escaped (``IMAGE\|VERSION`` is one cell)
        cells = (
            [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])] if line.startswith("|") else []
        )
        if len(cells) >= 3 and cells[1].startswith("`--"):
            rows[cells[1].strip("`").split()[0]] = cells[2].replace("\\|", "|")
    return rows


def test_cli_help_and_readme_agree() -> None:
    """Every option of ``check`` is in the README's options table, with the default its --help states."""
    helped, documented = _check_options(), _readme_options()
    assert sorted(helped) == sorted(documented), "options in --help and in the README's table differ"
    differ = {flag: (helped[flag], documented[flag]) for flag in helped if helped[flag] != documented[flag]}
    assert differ == {}, "(--help's default, the README's default) differ"


def test_help_shows_the_overview_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "proves Karta workload definitions true against a real, running KubeRay" in out
    assert "Exit codes:" in out and "  2  bad input" in out and "check --live PATH..." in out
    assert "The ``karta-conformance`` command line" not in out
