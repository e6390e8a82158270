"""Reading files written by strangers: bounded, inside the tree given, strict YAML.

Definitions and fixtures come from pull requests. Every problem here is one
:class:`~conformance.errors.UserError` line (exit 2), never a traceback and
never a hang:

- a path must be a regular file or a folder; FIFOs, sockets and devices
  (``/dev/zero``) are refused before they are opened (and opened non-blocking,
  so one swapped in meanwhile cannot block either);
- a symlink must stay inside the tree given (the folder named, or the folder
  of the file named);
- a file is at most :data:`MAX_FILE_BYTES`, UTF-8;
- YAML is read with JSON's types only (timestamps stay strings, no
  ``!!binary``/``!!set``/``!!omap``), mapping keys must be unique strings,
  nesting is at most :data:`MAX_DEPTH` levels and a stream at most
  :data:`MAX_NODES` nodes counted *after* alias expansion (so a "billion
  laughs" bomb is refused while it is read), recursive aliases are refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from conformance.errors import UserError

MAX_FILE_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 20_000

Refuse = Callable[[str, str], UserError]  # (message, where) -> the error to raise


def _error(message: str, where: str) -> UserError:
    return UserError(message, where=where)


def inside(path: Path, tree: Path) -> bool:
    try:
        path.resolve().relative_to(tree.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def check_path(path: Path, tree: Path, refuse: Refuse = _error) -> os.stat_result:
    """The status of ``path`` (a regular file or a folder inside ``tree``), or the refusal."""
    where = str(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise refuse("a symlink to nothing", where) from None
        raise refuse("no such file or folder", where) from None
    except (OSError, RuntimeError) as error:  # permission, a symlink loop, a name too long
        raise refuse(f"cannot read: {getattr(error, 'strerror', None) or error}", where) from None
    if not (stat.S_ISREG(status.st_mode) or stat.S_ISDIR(status.st_mode)):
        raise refuse(f"not a regular file or folder ({_file_type(status.st_mode)})", where)
    if not inside(path, tree):
        raise refuse(f"a symlink that leaves {tree} (it points to {path.resolve()})", where)
    return status


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def read_text(path: Path, tree: Path, refuse: Refuse = _error) -> str:
    """The UTF-8 text of the regular file ``path`` inside ``tree``, at most MAX_FILE_BYTES."""
    where = str(path)
    status = check_path(path, tree, refuse)
    if stat.S_ISDIR(status.st_mode):
        raise refuse("a folder, not a file", where)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise refuse(f"cannot read: {error.strerror or error}", where) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise refuse("not a regular file", where)
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise refuse(f"cannot read: {error.strerror or error}", where) from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise refuse(f"larger than {MAX_FILE_BYTES >> 20} MiB", where)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as error:
        raise refuse(f"not UTF-8 text (byte {error.start})", where) from None


def yaml_files(folder: Path, tree: Path, refuse: Refuse = _error) -> list[Path]:
    """The ``.yaml``/``.yml`` entries directly in ``folder``, each checked (sub-folders are not read)."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:
        raise refuse(f"cannot list: {error.strerror or error}", str(folder)) from None
    files = []
    for entry in entries:
        if entry.suffix not in (".yaml", ".yml"):
            continue
        status = check_path(entry, tree, refuse)
        if stat.S_ISREG(status.st_mode):
            files.append(entry)
    return files


# ---------------------------------------------------------------------------
# Strict, bounded YAML.


class _Resolver(Resolver):
    """YAML 1.1's implicit types without timestamps: ``2024-01-01`` stays the string it is in JSON."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in Resolver.yaml_implicit_resolvers.items()
    }


class _Constructor(SafeConstructor):
    yaml_constructors = {
        tag: constructor
        for tag, constructor in SafeConstructor.yaml_constructors.items()
        if tag
        not in (
            "tag:yaml.org,2002:timestamp",
            "tag:yaml.org,2002:binary",
            "tag:yaml.org,2002:set",
            "tag:yaml.org,2002:omap",
            "tag:yaml.org,2002:pairs",
        )
    }

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    raise yaml.constructor.ConstructorError(
                        None, None, f"mapping key {key!r} is not a string (quote it)", key_node.start_mark
                    )
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate mapping key {key!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Loader(Reader, Scanner, Parser, Composer, _Constructor, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)
        self.depth = 0
        self.nodes = 0
        self.sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, expanded depth)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            anchored = self.anchors.get(event.anchor)
            if anchored is not None:
                measured = self.sizes.get(id(anchored))
                if measured is None:
                    raise yaml.composer.ComposerError(
                        None, None, f"recursive alias *{event.anchor}", event.start_mark
                    )
                self._count(measured[0], self.depth + measured[1], event.start_mark)
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested deeper than {MAX_DEPTH} levels",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        node = super().compose_node(parent, index)
        self.depth -= 1
        if node is not None:
            self._measure(node)
        return node

    def _measure(self, node: Node) -> None:
        if isinstance(node, ScalarNode):
            measured = (1, 1)
            self._count(1, self.depth + 1, node.start_mark)
        else:
            children: list[Node] = []
            if isinstance(node, SequenceNode):
                children = list(node.value)
            elif isinstance(node, MappingNode):
                children = [part for pair in node.value for part in pair]
            inner = [self.sizes.get(id(child), (1, 1)) for child in children]
            measured = (1 + sum(n for n, _ in inner), 1 + max((d for _, d in inner), default=0))
            self._count(1, self.depth + 1, node.start_mark)
            if measured[0] > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"more than {MAX_NODES} nodes once aliases are expanded", node.start_mark
                )
        self.sizes[id(node)] = measured

    def _count(self, nodes: int, depth: int, mark: Any) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"more than {MAX_NODES} nodes once aliases are expanded", mark
            )
        if depth > MAX_DEPTH + 1:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels once aliases are expanded", mark
            )


def load_all(text: str, where: str, refuse: Refuse = _error) -> list[Any]:
    """Every document of a YAML stream (None for empty ones), strictly and within the bounds above."""
    loader = _Loader(text)
    try:
        documents = []
        while loader.check_data():  # type: ignore[no-untyped-call]
            documents.append(loader.get_data())
        return documents
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise refuse(f"not valid YAML{at}: {problem}", where) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise refuse(f"not valid YAML: {type(error).__name__}: {error}", where) from None
    finally:
        loader.dispose()
