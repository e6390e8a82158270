"""The Ray heads' venv honours the pinned pip constraints (protobuf<7 for Ray 2.52's Serve)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import versions
from conformance.toolchain import build

pytestmark = pytest.mark.unit


class _Pip:
    """Records the install commands; the venv step makes the files build_ray looks for."""

    def __init__(self, violation: str = "") -> None:
        self.calls: list[list[str]] = []
        self.violation = violation

    def __call__(self, argv: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append([str(a) for a in argv])
        if argv[1:3] == ["-m", "venv"]:
            bin_dir = Path(argv[3]) / "bin"
            bin_dir.mkdir(parents=True)
            (bin_dir / "ray").write_text("")
        if len(argv) > 2 and argv[1] == "-c" and self.violation:
            return subprocess.CompletedProcess(argv, 1, stdout=self.violation, stderr="")
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")


def test_pip_gets_the_pinned_constraints_and_they_key_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path))
    pip = _Pip()
    monkeypatch.setattr(subprocess, "run", pip)
    pins = versions.load()
    assert "protobuf<7" in pins.ray_constraints
    venv = build.build_ray(pins.ray, pins.ray_constraints)
    install = next(c for c in pip.calls if "install" in c)
    constraint_file = Path(install[install.index("-c") + 1])
    assert constraint_file.read_text().splitlines() == list(pins.ray_constraints)
    assert install[-1] == f"ray[serve]=={pins.ray}"
    check = next(c for c in pip.calls if c[1] == "-c")
    assert check[0] == str(venv / "bin" / "python") and check[3:] == list(pins.ray_constraints)
    # A venv made without the constraints (what older builds left in the cache) is a different folder.
    assert venv != build.build_ray(pins.ray, ())
    assert venv.parent.name.startswith(f"{pins.ray}-c")


def test_a_violated_constraint_fails_the_build_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path))
    monkeypatch.setattr(subprocess, "run", _Pip(violation="protobuf 7.0.0 violates protobuf<7"))
    with pytest.raises(
        build.BuildFailed, match=r"breaks its pinned constraints: protobuf 7\.0\.0 violates protobuf<7"
    ):
        build.build_ray("2.52.1", ("protobuf<7",))


def test_the_constraint_check_reads_installed_versions() -> None:
    """The check script itself, run for real on this interpreter (pytest is installed here)."""
    bad = subprocess.run(
        [sys.executable, "-c", build._CHECK_CONSTRAINTS, "pytest<1", "not-installed-at-all<1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and bad.stdout.startswith("pytest ") and "violates pytest<1" in bad.stdout
    good = subprocess.run(
        [sys.executable, "-c", build._CHECK_CONSTRAINTS, "pytest>=1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stdout + good.stderr
