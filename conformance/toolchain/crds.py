"""KubeRay CRDs per version, taken from the operator's Go module and cached outside the repo (and the
Gateway API's, from its module, for the local backend).

``go mod download -json github.com/ray-project/kuberay/ray-operator@vX.Y.Z``
brings the module (with ``config/crd/bases/``) into the Go module cache; a version the proxy
refuses (v1.7.0 here) is read from a local source folder (``gomod.kuberay_module``). The CRD
files are copied to ``<cache>/crds/<version>/``. Nothing is committed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from conformance import versions
from conformance.definition.schema import Crd, crds_of
from conformance.toolchain import cache, gomod

RETRY_UNAVAILABLE_AFTER = 6 * 3600  # seconds before asking the module proxy again


class CrdsUnavailable(Exception):
    """The CRDs of a KubeRay version cannot be had on this machine."""


def crd_dir(kuberay_version: str) -> Path:
    """The cached CRD folder of ``kuberay_version``, filled on first use."""
    target = cache.component_dir("crds", kuberay_version)
    if any(target.glob("*.yaml")):
        return target
    # A "no" is keyed by every place that was searched: a later run that names a source folder asks again.
    searched = "\n".join(str(r) for r in gomod.kuberay_source_roots())
    refused = target.with_name(
        f"{target.name}.unavailable-{hashlib.sha256(searched.encode()).hexdigest()[:12]}"
    )
    if refused.exists() and time.time() - refused.stat().st_mtime < RETRY_UNAVAILABLE_AFTER:
        raise CrdsUnavailable(f"{refused.read_text().strip()} (cached answer; remove {refused} to ask again)")
    pins = versions.load()
    try:
        module_dir, _ = gomod.kuberay_module(pins.kuberay_module, kuberay_version)
    except gomod.ModuleUnavailable as error:
        message = f"KubeRay {kuberay_version} CRDs: {error}"
        refused.parent.mkdir(parents=True, exist_ok=True)
        refused.write_text(message + "\n")
        raise CrdsUnavailable(message) from None
    source = module_dir / "config" / "crd" / "bases"
    files = sorted(source.glob("*.yaml"))
    if not files:
        raise CrdsUnavailable(f"KubeRay {kuberay_version}: no CRDs under {source}")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for file in files:
        shutil.copyfile(file, partial / file.name)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


# The Gateway API's standard channel as KubeRay's incremental RayService upgrade needs it: the kinds the
# operator makes (Gateway, HTTPRoute) and the class a Gateway names (GatewayClass). config/crd/standard/
# of sigs.k8s.io/gateway-api; the channel's other kinds (GRPCRoute, ReferenceGrant, BackendTLSPolicy,
# ListenerSet, ...) are left out: nothing here uses them.
GATEWAY_API_CRDS = (
    "gateway.networking.k8s.io_gatewayclasses.yaml",
    "gateway.networking.k8s.io_gateways.yaml",
    "gateway.networking.k8s.io_httproutes.yaml",
)
GATEWAY_API_BUNDLE = "gateway.networking.k8s.io/bundle-version"
GATEWAY_API_CHANNEL = "gateway.networking.k8s.io/channel"


def gateway_api_crds() -> Path:
    """The pinned Gateway API's standard-channel CRDs (``GATEWAY_API_CRDS``), fetched through the Go
    module proxy on first use and kept in ``<cache>/gateway-api/<version>/``. Each file is checked to
    be that version's standard channel (its bundle-version and channel annotations)."""
    pinned = versions.load().gateway_api
    target = cache.component_dir("gateway-api", pinned.version)
    if all((target / name).is_file() for name in GATEWAY_API_CRDS):
        return target
    try:
        module_dir = gomod.download(pinned.module, pinned.version)
    except gomod.ModuleUnavailable as error:
        raise CrdsUnavailable(f"Gateway API {pinned.version} CRDs: {error}") from None
    source = module_dir / "config" / "crd" / "standard"
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in GATEWAY_API_CRDS:
        file = source / name
        if not file.is_file():
            raise CrdsUnavailable(f"Gateway API {pinned.version}: no {name} under {source}")
        annotations = (yaml.load(file.read_text(), Loader=_Loader).get("metadata") or {}).get(
            "annotations"
        ) or {}
        seen = (annotations.get(GATEWAY_API_BUNDLE), annotations.get(GATEWAY_API_CHANNEL))
        if seen != (pinned.version, "standard"):
            raise CrdsUnavailable(
                f"Gateway API {pinned.version}: {file} is bundle-version {seen[0]}, channel {seen[1]} "
                f"(want {pinned.version}, standard)"
            )
        shutil.copyfile(file, partial / name)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _documents(folder: Path) -> list[dict[str, Any]]:
    """The CRD documents of a folder, parsed once and kept beside them as JSON."""
    index = folder / "crds.json"
    if index.exists():
        loaded: list[dict[str, Any]] = json.loads(index.read_text())
        return loaded
    documents = []
    for file in sorted(folder.glob("*.yaml")):
        for document in yaml.load_all(file.read_text(), Loader=_Loader):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                documents.append(document)
    partial = index.with_suffix(".partial")
    partial.write_text(json.dumps(documents))
    partial.rename(index)
    return documents


def load_crds(folder: Path) -> list[Crd]:
    return crds_of(_documents(folder))
