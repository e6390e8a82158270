"""One static run: load definitions and fixtures, fetch CRDs, evaluate, return verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance import versions
from conformance.claims.static import SchemaSource, check_definitions
from conformance.definition import load_definitions
from conformance.fixtures import load_fixtures
from conformance.toolchain import crds
from conformance.verdict import Verdict


def schema_sources(kuberay_versions: Sequence[str] | None = None) -> list[SchemaSource]:
    pins = versions.load()
    wanted = (
        [pins.kuberay_version(v).version for v in kuberay_versions]
        if kuberay_versions
        else list(pins.kuberay)
    )
    sources = []
    for version in wanted:
        try:
            sources.append(SchemaSource(version, crds.load_crds(crds.crd_dir(version))))
        except crds.CrdsUnavailable as error:
            sources.append(SchemaSource(version, None, str(error)))
    return sources


def run_static(
    paths: Sequence[str | Path],
    fixtures_dir: Path | None = None,
    kuberay_versions: Sequence[str] | None = None,
) -> list[Verdict]:
    definitions = load_definitions(paths)
    fixtures = load_fixtures(fixtures_dir)
    return check_definitions(definitions, fixtures, schema_sources(kuberay_versions))
