"""Every Python environment the harness creates is installed from a committed hash lock.

The Ray heads' venv (toolchain.build.build_ray) and the kind Ray image install
conformance/locks/ray-<version>.txt with ``pip install --require-hashes -r``; a missing lock or one
that does not match versions.yaml (Ray version, constraints such as protobuf<7) is refused with
one line naming scripts/lock-ray, exit 2.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from conformance import versions
from conformance.backends.kind import imagebuild, images
from conformance.errors import UserError
from conformance.toolchain import build, gomod, locks

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


def _fake_lock(
    folder: Path, version: str, constraints: tuple[str, ...], protobuf: str = "6.33.6", extra: str = ""
) -> Path:
    """A lock as scripts/lock-ray writes it (header, pinned requirements with hashes, annotations)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = locks.path_of(version, folder)
    path.write_text(
        locks.header(version, constraints)
        + f"protobuf=={protobuf} \\\n    --hash=sha256:{'a' * 64} \\\n    --hash=sha256:{'b' * 64}\n"
        + "    # via\n    #   -c constraints.txt\n    #   ray\n"
        + f"ray=={version} \\\n    --hash=sha256:{'c' * 64}\n    # via -r ray-{version}.in\n"
        + extra
    )
    return path


# -- the committed locks ----------------------------------------------------------------------------


def test_every_pinned_ray_version_has_a_committed_lock_matching_the_pins() -> None:
    pins = versions.load()
    expected = sorted({pins.ray, *(k.ray_version for k in pins.kuberay.values())})
    checked = locks.verify_all(pins)
    assert sorted(item.version for item in checked) == expected
    assert locks.strays(pins) == []
    assert "protobuf<7" in pins.ray_constraints
    for item in checked:
        assert item.path == locks.FOLDER / f"ray-{item.version}.txt"
        assert item.pins["ray"] == item.version
        assert Requirement("protobuf<7").specifier.contains(item.pins["protobuf"])
        # ray[serve]'s own dependencies are in it, each pinned with hashes (checked by verified)
        assert {"fastapi", "uvicorn", "starlette"} <= set(item.pins)
        assert "--hash=sha256:" in item.path.read_text()


def test_the_lock_check_is_what_scripts_lock_ray_check_runs() -> None:
    script = Path(__file__).resolve().parents[3] / "scripts" / "lock-ray"
    completed = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False, timeout=60
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"conformance/locks/ray-{versions.load().ray}.txt: ray {versions.load().ray}," in completed.stdout


# -- build_ray --------------------------------------------------------------------------------------


def test_build_ray_installs_the_committed_lock_with_require_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path))
    pip = _Pip()
    monkeypatch.setattr(subprocess, "run", pip)
    pins = versions.load()
    venv = build.build_ray(pins.ray, pins.ray_constraints)
    install = next(c for c in pip.calls if "install" in c)
    assert install[0] == str(venv / "bin" / "pip")
    assert "--require-hashes" in install and "--only-binary=:all:" in install
    requirements = Path(install[install.index("-r") + 1])
    assert requirements.read_bytes() == locks.path_of(pins.ray).read_bytes()
    # nothing but the lock is asked for: no unhashed `ray[serve]==...` or -c on the command line
    assert not any(a.startswith("ray") for a in install) and "-c" not in install
    check = next(c for c in pip.calls if c[1] == "-c")
    assert check[0] == str(venv / "bin" / "python") and check[3:] == list(pins.ray_constraints)
    assert venv.parent.name == f"{pins.ray}-l{locks.verified(pins.ray, pins.ray_constraints).digest[:16]}"
    # the stamp says which lock the venv came from; a second call reuses it without pip
    assert '"lock_sha256": ' in (venv / build.STAMP).read_text()
    calls = len(pip.calls)
    assert build.build_ray(pins.ray, pins.ray_constraints) == venv and len(pip.calls) == calls


def test_the_cache_key_changes_with_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locks, "FOLDER", tmp_path / "locks")
    monkeypatch.setattr(subprocess, "run", _Pip())
    _fake_lock(tmp_path / "locks", "2.52.1", ("protobuf<7",))
    first = build.build_ray("2.52.1", ("protobuf<7",))
    _fake_lock(tmp_path / "locks", "2.52.1", ("protobuf<7",), protobuf="6.33.5")
    second = build.build_ray("2.52.1", ("protobuf<7",))
    assert first != second and first.parent.parent == second.parent.parent
    assert (second.parent / "requirements.txt").read_text().count("protobuf==6.33.5") == 1


@pytest.mark.parametrize(
    ("lock_for", "protobuf", "asked", "reason"),
    [
        (None, "6.33.6", ("protobuf<7",), r"for Ray 2\.52\.1 \(pinned in versions\.yaml\) is missing"),
        ("2.52.0", "6.33.6", ("protobuf<7",), r"is stale: made for ray '2\.52\.0' \(pinned: '2\.52\.1'\)"),
        (
            "2.52.1",
            "6.33.6",
            ("protobuf<6",),
            r"is stale: made for constraints \['protobuf<7'\] \(pinned: \['protobuf<6'\]\)",
        ),
        (
            "2.52.1",
            "7.0.1",
            ("protobuf<7",),
            r"is stale: it pins protobuf 7\.0\.1, which violates protobuf<7",
        ),
    ],
    ids=["missing", "other-ray-version", "other-constraints", "pin-violates-constraint"],
)
def test_a_missing_or_stale_lock_is_refused_before_pip_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lock_for: str | None,
    protobuf: str,
    asked: tuple[str, ...],
    reason: str,
) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locks, "FOLDER", tmp_path / "locks")
    pip = _Pip()
    monkeypatch.setattr(subprocess, "run", pip)
    (tmp_path / "locks").mkdir()
    if lock_for is not None:
        written = _fake_lock(tmp_path / "locks", lock_for, ("protobuf<7",), protobuf=protobuf)
        written.rename(locks.path_of("2.52.1", tmp_path / "locks"))  # a lock left from other pins
    with pytest.raises(locks.StaleLock, match=reason) as raised:
        build.build_ray("2.52.1", asked)
    message = str(raised.value)
    assert isinstance(raised.value, UserError) and raised.value.exit_code == 2
    assert "\n" not in message and message.endswith("run scripts/lock-ray (and commit the lock)")
    assert pip.calls == [] and not (tmp_path / "cache").exists()


def test_a_lock_with_an_unhashed_or_loose_requirement_is_refused(tmp_path: Path) -> None:
    _fake_lock(tmp_path, "2.52.1", ("protobuf<7",), extra="requests>=2\n")
    with pytest.raises(locks.StaleLock, match=r"does not pin requests to one version with hashes"):
        locks.verified("2.52.1", ("protobuf<7",), tmp_path)
    _fake_lock(tmp_path, "2.52.1", ("protobuf<7",), extra="--index-url https://elsewhere.invalid/simple\n")
    with pytest.raises(locks.StaleLock, match=r"has an option line '--index-url'"):
        locks.verified("2.52.1", ("protobuf<7",), tmp_path)


def test_a_violated_constraint_fails_the_build_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locks, "FOLDER", tmp_path / "locks")
    _fake_lock(tmp_path / "locks", "2.52.1", ("protobuf<7",))
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


# -- the kind Ray image -----------------------------------------------------------------------------


def test_the_kind_ray_image_installs_the_same_lock_with_require_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[tuple[images.Recipe, dict[str, Path]]] = []

    def docker_build(
        recipe: images.Recipe, sources: dict[str, Path], parent_key: str = ""
    ) -> imagebuild.Built:
        built.append((recipe, sources))
        return imagebuild.Built(recipe.tag, "key", False, 0.0, 0)

    monkeypatch.setattr(imagebuild, "docker_build", docker_build)
    monkeypatch.setattr(imagebuild, "host_ca_bundle", lambda: None)
    pins = versions.load()
    parent = imagebuild.Built("rootfs", "parent", True, 0.0, 0)
    for kuberay in pins.kuberay.values():
        imagebuild.ray(kuberay.version, parent, tmp_path)
        recipe, sources = built[-1]
        assert recipe.tag == kuberay.ray_image
        assert sources == {"requirements.txt": locks.path_of(kuberay.ray_version)}
        assert recipe.files == ("requirements.txt",)
        assert "--require-hashes -r /tmp/requirements.txt" in recipe.dockerfile
        assert "constraints.txt" not in recipe.dockerfile and "ray[serve]==" not in recipe.dockerfile


def test_the_kind_ray_image_refuses_a_stale_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "FOLDER", tmp_path)
    monkeypatch.setattr(imagebuild, "docker_build", lambda *_a, **_k: pytest.fail("docker build ran"))
    pins = versions.load()
    kuberay = pins.kuberay_version(None)
    written = _fake_lock(tmp_path, "2.41.0", pins.ray_constraints)
    written.rename(locks.path_of(kuberay.ray_version, tmp_path))
    with pytest.raises(
        locks.StaleLock, match=rf"ray-{kuberay.ray_version}\.txt is stale: made for ray '2\.41\.0'"
    ):
        imagebuild.ray(kuberay.version, imagebuild.Built("rootfs", "parent", True, 0.0, 0), tmp_path)


# -- what the user sees ----------------------------------------------------------------------------


def test_a_missing_lock_stops_images_build_with_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conformance import cli

    monkeypatch.setattr(locks, "FOLDER", tmp_path)
    monkeypatch.setattr(imagebuild, "rootfs", lambda: pytest.fail("a build started before the lock check"))
    ray_version = versions.load().kuberay_version("v1.5.1").ray_version
    assert cli.main(["images", "build", "--kuberay-version", "v1.5.1"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"karta-conformance: Ray lock {tmp_path}/ray-{ray_version}.txt for Ray {ray_version}"
        " (pinned in versions.yaml) is missing: run scripts/lock-ray (and commit the lock)\n"
    )


def test_a_stale_lock_stops_the_local_build_before_any_go_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pins = versions.load()
    monkeypatch.setattr(locks, "FOLDER", tmp_path)
    monkeypatch.setattr(gomod, "go_binary", lambda: pytest.fail("the Go builds started"))
    _fake_lock(tmp_path, pins.ray, ("protobuf<8",))
    with pytest.raises(locks.StaleLock, match=r"is stale: made for constraints \['protobuf<8'\]"):
        build.build_all()
