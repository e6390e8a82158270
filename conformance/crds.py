"""KubeRay CRDs per version, taken from the operator's Go module and cached outside the repo.

``go mod download -json github.com/ray-project/kuberay/ray-operator@vX.Y.Z``
brings the module (with ``config/crd/bases/``) into the Go module cache; a version the proxy
refuses (v1.7.0 here) is read from a local source folder (``gomod.kuberay_module``). The CRD
files are copied to ``<cache>/crds/<version>/``. Nothing is committed.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance import cache, gomod, versions
from conformance.definition.model import GVK
from conformance.jqpaths import ANY
from conformance.jqpaths import Path as DocPath

RETRY_UNAVAILABLE_AFTER = 6 * 3600  # seconds before asking the module proxy again


class CrdsUnavailable(Exception):
    """The CRDs of a KubeRay version cannot be had on this machine."""


def crd_dir(kuberay_version: str) -> Path:
    """The cached CRD folder of ``kuberay_version``, filled on first use."""
    target = cache.component_dir("crds", kuberay_version)
    if any(target.glob("*.yaml")):
        return target
    refused = target.with_name(target.name + ".unavailable")
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


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    plural: str
    versions: dict[str, dict[str, Any]]  # served version -> openAPIV3Schema
    document: dict[str, Any]

    def schema(self, version: str) -> dict[str, Any] | None:
        return self.versions.get(version)


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
    crds = []
    for document in _documents(folder):
        spec = document["spec"]
        served = {
            v["name"]: v.get("schema", {}).get("openAPIV3Schema", {})
            for v in spec.get("versions", [])
            if v.get("served", True)
        }
        crds.append(
            Crd(
                group=spec["group"],
                kind=spec["names"]["kind"],
                plural=spec["names"]["plural"],
                versions=served,
                document=document,
            )
        )
    return crds


def find(crds: list[Crd], gvk: GVK) -> Crd | None:
    for crd in crds:
        if crd.group == gvk.group and crd.kind == gvk.kind:
            return crd
    return None


def path_in_schema(schema: dict[str, Any], path: DocPath) -> str | None:
    """None when ``path`` can exist in objects of ``schema``; else the first missing step.

    ``metadata`` at the top level is ObjectMeta (validated by the API server, not
    the CRD schema) and accepts any path below it; so do fields marked
    ``x-kubernetes-preserve-unknown-fields``.
    """
    if path and path[0] in ("metadata", "apiVersion", "kind"):
        return None
    node = schema
    walked: list[str] = []
    for step in path:
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return None
        node_type = node.get("type")
        if step == ANY:
            if node_type == "array" and isinstance(node.get("items"), dict):
                node = node["items"]
            elif node_type == "object" and isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                return _describe(walked, step, "is not a list")
        else:
            properties = node.get("properties") or {}
            if step in properties:
                node = properties[step]
            elif isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            elif node_type == "object" and not properties and walked and walked[-1] == "metadata":
                return None  # embedded ObjectMeta without a generated schema
            else:
                return _describe(walked, step, "is not in the schema")
        walked.append(step)
    return None


def _describe(walked: list[str], step: str, problem: str) -> str:
    shown = "." + ".".join([*walked, step]) if walked else "." + step
    return f"{shown.replace('.[]', '[]')} {problem}"
