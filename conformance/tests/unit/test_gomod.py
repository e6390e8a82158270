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
        match=r"403 Forbidden; no .*v9\.9\.9/ray-operator under \$KARTA_CONFORMANCE_KUBERAY_SOURCE either",
    ):
        gomod.kuberay_module(MODULE, "v9.9.9")


def test_the_proxy_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gomod, "download", lambda module, version: tmp_path)
    assert gomod.kuberay_module(MODULE, "v1.6.2") == (tmp_path, False)


def test_no_folder_is_searched_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without $KARTA_CONFORMANCE_KUBERAY_SOURCE nothing is searched (not even a folder beside the checkout),
    and the one line names the variable that supplies a source folder."""
    monkeypatch.setattr(gomod, "download", _refuse)
    monkeypatch.delenv(gomod.SOURCE_ENV, raising=False)
    assert gomod.kuberay_source_roots() == []
    with pytest.raises(gomod.ModuleUnavailable) as raised:
        gomod.kuberay_module(MODULE, "v1.7.0")
    assert str(raised.value) == (
        f"{MODULE}@v1.7.0: 403 Forbidden; set KARTA_CONFORMANCE_KUBERAY_SOURCE to a folder holding "
        "v1.7.0/ray-operator (KubeRay's source at that tag)"
    )


def test_a_cached_no_is_keyed_by_the_places_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run without a source folder caches "unavailable"; a later run that names one asks again."""
    from conformance.toolchain import crds

    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(gomod, "download", _refuse)
    monkeypatch.delenv(gomod.SOURCE_ENV, raising=False)
    with pytest.raises(crds.CrdsUnavailable, match="set KARTA_CONFORMANCE_KUBERAY_SOURCE"):
        crds.crd_dir("v9.9.9")
    with pytest.raises(crds.CrdsUnavailable, match="cached answer"):
        crds.crd_dir("v9.9.9")
    source = tmp_path / "source"
    bases = source / "v9.9.9" / "ray-operator" / "config" / "crd" / "bases"
    bases.mkdir(parents=True)
    (source / "v9.9.9" / "ray-operator" / "go.mod").write_text(f"module {MODULE}\n")
    (bases / "ray.io_rayclusters.yaml").write_text("kind: CustomResourceDefinition\n")
    monkeypatch.setenv(gomod.SOURCE_ENV, str(source))
    assert (crds.crd_dir("v9.9.9") / "ray.io_rayclusters.yaml").is_file()
