"""KubeRay versions the module proxy refuses come from a local source folder, or fail naming where it looked."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.toolchain import gomod

pytestmark = pytest.mark.unit

MODULE = "github.com/ray-project/kuberay/ray-operator"


def _refuse(module: str, version: str) -> Path:
    raise gomod.ModuleUnavailable(f"{module}@{version}: 403 Forbidden")


def test_a_refused_version_is_read_from_the_source_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gomod, "download", _refuse)
    folder = tmp_path / "v9.9.9" / "ray-operator"
    folder.mkdir(parents=True)
    (folder / "go.mod").write_text(f"module {MODULE}\n\ngo 1.24\n")
    monkeypatch.setenv(gomod.SOURCE_ENV, str(tmp_path))
    assert gomod.kuberay_module(MODULE, "v9.9.9") == (folder, True)


def test_a_folder_of_another_module_is_not_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gomod, "download", _refuse)
    folder = tmp_path / "v9.9.9" / "ray-operator"
    folder.mkdir(parents=True)
    (folder / "go.mod").write_text("module example.com/other\n")
    monkeypatch.setenv(gomod.SOURCE_ENV, str(tmp_path))
    with pytest.raises(
        gomod.ModuleUnavailable,
        match=r"403 Forbidden; no local source either \(looked in .*v9\.9\.9/ray-operator",
    ):
        gomod.kuberay_module(MODULE, "v9.9.9")


def test_the_proxy_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gomod, "download", lambda module, version: tmp_path)
    assert gomod.kuberay_module(MODULE, "v1.6.2") == (tmp_path, False)
