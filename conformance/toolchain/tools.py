"""Pinned helper tools (actionlint, kind, helm, crane) built from their Go modules into the cache.

    <cache>/tools/<name>/<version>/bin/<name>

``locate`` prefers the pinned build and falls back to the tool on PATH; ``ensure`` builds
the pinned version when it is missing (the Go toolchain fetches the module through the
module proxy; no prebuilt binary is downloaded).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conformance import versions
from conformance.errors import UserError
from conformance.toolchain import cache


def pinned(name: str) -> versions.Tool:
    tools = versions.load().tools
    if name not in tools:
        raise UserError(f"unknown tool {name!r}; pinned tools: {', '.join(tools)}")
    return tools[name]


def cached_path(name: str) -> Path:
    tool = pinned(name)
    return cache.component_dir(f"tools/{name}", tool.version) / "bin" / name


def ensure(name: str) -> Path:
    """The pinned tool, built on first use."""
    from conformance.toolchain.build import go_install

    tool = pinned(name)
    go_install(f"tools/{name}", tool.version, [tool.module], (name,))
    return cached_path(name)


def locate(name: str) -> Path | None:
    """The pinned build if it exists, else ``name`` on PATH, else None (never builds)."""
    built = cached_path(name)
    if built.exists():
        return built
    found = shutil.which(name)
    return Path(found) if found else None
