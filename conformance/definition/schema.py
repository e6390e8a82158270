"""CRD schemas and where a path can exist in them (pure: documents in, answers out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.definition.model import GVK
from conformance.jq.paths import ANY
from conformance.jq.paths import Path as DocPath


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    plural: str
    versions: dict[str, dict[str, Any]]  # served version -> openAPIV3Schema
    document: dict[str, Any]

    def schema(self, version: str) -> dict[str, Any] | None:
        return self.versions.get(version)


def crds_of(documents: list[dict[str, Any]]) -> list[Crd]:
    """The served versions' schemas of CustomResourceDefinition documents."""
    crds = []
    for document in documents:
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
