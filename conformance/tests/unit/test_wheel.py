"""The harness as a user who ran ``pip install`` gets it: a wheel built from this checkout, installed into a
fresh virtualenv in a temporary folder, run there on copies of the definitions, far from any checkout; and
its pytest plugin gating a sample downstream repository's definitions there (``pytest --karta-definitions``).

The wheel carries what the harness reads at run time (fixtures, the oracle's Go sources, locks, inventory,
CRDs); nothing it runs reads a folder beside a checkout unless a variable names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from conformance.pytest_plugin import mode_claims
from conformance.tests.helpers import DEFINITIONS, REPO

pytestmark = pytest.mark.static

DATA = Path(__file__).resolve().parents[1] / "data"


def _run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_wheel_installed_outside_the_checkout_checks_definitions_there(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(REPO)],
        tmp_path,
        dict(os.environ),
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = dist.glob("karta_conformance-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "conformance/_fixtures/rayservice.yaml",
        "conformance/_fixtures/app/karta_fixture_app.py",
        "conformance/_fixtures/patches/rayservice-upgrade.yaml",
        "conformance/oracle/karta/main.go",
        "conformance/oracle/karta/go.mod",
        "conformance/inventory.yaml",
        "conformance/versions.yaml",
        "conformance/backends/local/shim/sitecustomize.py",
    ):
        assert needed in shipped, needed
    assert any(name.startswith("conformance/locks/ray-") for name in shipped)
    # the pytest plugin and its entry point; not the sample downstream repository its test uses
    assert "conformance/pytest_plugin.py" in shipped
    (entry_points,) = [n for n in shipped if n.endswith(".dist-info/entry_points.txt")]
    plugins = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "karta_conformance = conformance.pytest_plugin" in plugins
    assert not [n for n in shipped if n.startswith("conformance/tests/data/downstream/")]
    recorded = sorted(
        n.split("/")[2] for n in shipped if n.startswith("conformance/corpus/") and n.endswith("/corpus.json")
    )
    assert recorded, "no corpus in the wheel"  # what `check --replay` judges on

    work = tmp_path / "elsewhere"  # no checkout here, and nothing beside it
    work.mkdir()
    venv = work / "venv"
    # A fresh venv filled by this pip, with the pytest plugin's extra: no pip of its own to install first and
    # nothing compiled ahead (each saves 6-12 s of the test), the same packages.
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, dict(os.environ))
    assert made.returncode == 0, made.stderr[-2000:]
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-compile"]
    installed = _run([*pip, f"{wheel}[pytest]"], work, dict(os.environ))
    assert installed.returncode == 0, installed.stderr[-2000:]
    definitions = work / "my-definitions"
    shutil.copytree(DEFINITIONS, definitions, ignore=shutil.ignore_patterns("variants", "upstream"))
    shutil.copytree(DATA / "flows", work / "flows")
    (work / "snapshots").mkdir()
    shutil.copy(DATA / "gcs-fault-tolerance" / "redis-cleanup.json", work / "snapshots" / "01.json")
    # No variable names a source folder: what the harness reads comes from the wheel and the cache only.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("KARTA_SOURCE", "KARTA_CONFORMANCE_KUBERAY"))
    }
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    command = str(venv / "bin" / "karta-conformance")
    static = _run([command, "check", "--static", str(definitions)], work, env)
    assert static.returncode == 0, static.stdout[-2000:] + static.stderr[-2000:]
    assert static.stdout.rstrip().splitlines()[-1].startswith(f"{definitions}: ")
    assert "gate passes" in static.stdout.rstrip().splitlines()[-1]
    # a RayCluster being deleted with GCS fault tolerance, recorded live: the RayCluster definition's claims
    snapshots = _run(
        [command, "check", "--snapshots", str(work / "snapshots"), str(definitions / "raycluster.yaml")],
        work,
        env,
    )
    assert snapshots.returncode == 0, snapshots.stdout[-2000:] + snapshots.stderr[-2000:]
    flows = _run([command, "check", "--flows", str(work / "flows"), str(definitions)], work, env)
    assert flows.returncode == 0, flows.stdout[-2000:] + flows.stderr[-2000:]
    assert "frames: raycluster: 17 frames, status right on 17 (1 one reconcile late)" in flows.stdout
    # the corpus shipped in the package, one version (every version: test_replay.py)
    replayed = _run(
        [command, "check", "--replay", "--kuberay-version", recorded[0], str(definitions)], work, env
    )
    assert replayed.returncode == 0, replayed.stdout[-2000:] + replayed.stderr[-2000:]
    assert replayed.stdout.startswith(
        f"karta-conformance replay of the recorded corpus: KubeRay {recorded[0]} ("
    )
    assert "gate passes" in replayed.stdout.rstrip().splitlines()[-1]

    # A downstream repository gating its definitions with the plugin: an item per definition x claim.
    downstream = work / "downstream"
    shutil.copytree(DATA / "downstream", downstream)
    gated = _run(
        [str(venv / "bin" / "pytest"), "--karta-definitions", "definitions/", "--junitxml", "karta.xml"],
        downstream,
        env,
    )
    assert gated.returncode == 0, gated.stdout[-3000:] + gated.stderr[-2000:]
    cases: dict[str, list[str]] = {}
    for case in ET.parse(downstream / "karta.xml").getroot().iter("testcase"):
        cases.setdefault(case.attrib["classname"], []).append(case.attrib["name"])
    claims = mode_claims("static")
    assert cases == {"definitions.raycluster.yaml": claims, "definitions.rayjob.yaml": claims}
