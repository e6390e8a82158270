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


def _gateway_module(root: Path, version: str, channel: str = "standard") -> Path:
    """A sigs.k8s.io/gateway-api module folder with the standard channel's CRD files (headers only)."""
    from conformance.toolchain import crds

    standard = root / "config" / "crd" / "standard"
    standard.mkdir(parents=True)
    for name in (*crds.GATEWAY_API_CRDS, "gateway.networking.k8s.io_grpcroutes.yaml"):
        (standard / name).write_text(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  annotations:\n"
            f"    gateway.networking.k8s.io/bundle-version: {version}\n"
            f"    gateway.networking.k8s.io/channel: {channel}\n  name: {name}\n"
        )
    return root


def test_the_gateway_api_crds_come_from_its_module_through_the_proxy_once_per_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GatewayClass, Gateway and HTTPRoute of the pinned version's standard channel, copied into the cache
    keyed by the version; the next call takes the cache without asking the proxy."""
    from conformance import versions
    from conformance.toolchain import crds

    pinned = versions.load().gateway_api
    assert (pinned.module, pinned.version) == ("sigs.k8s.io/gateway-api", "v1.6.3")
    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    asked: list[str] = []

    def download(module: str, version: str) -> Path:
        asked.append(f"{module}@{version}")
        return _gateway_module(tmp_path / "mod", version)

    monkeypatch.setattr(gomod, "download", download)
    folder = crds.gateway_api_crds()
    assert folder == tmp_path / "cache" / "gateway-api" / "v1.6.3"
    assert sorted(p.name for p in folder.iterdir()) == sorted(crds.GATEWAY_API_CRDS)  # no GRPCRoute
    assert crds.gateway_api_crds() == folder and asked == ["sigs.k8s.io/gateway-api@v1.6.3"]


def test_gateway_api_crds_of_another_channel_or_a_refused_module_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance.toolchain import crds

    monkeypatch.setenv("KARTA_CONFORMANCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(gomod, "download", lambda m, v: _gateway_module(tmp_path / "mod", v, "experimental"))
    with pytest.raises(crds.CrdsUnavailable, match=r"channel experimental \(want v1\.6\.3, standard\)"):
        crds.gateway_api_crds()
    monkeypatch.setattr(gomod, "download", _refuse)
    with pytest.raises(
        crds.CrdsUnavailable, match=r"^Gateway API v1\.6\.3 CRDs: sigs\.k8s\.io/gateway-api@v1\.6\.3: 403"
    ):
        crds.gateway_api_crds()
