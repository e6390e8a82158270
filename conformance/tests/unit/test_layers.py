"""The arrows between the harness's modules point one way.

Read from the source with :mod:`ast` (nothing is imported), so a module that only imports an edge
inside a function is still caught. What counts as an import of module ``M``:

- ``import M`` and ``import M as x``;
- ``from P import name``: ``P.name`` when that is a module of the harness, else ``P`` (the name is
  an attribute of ``P``'s ``__init__``); relative forms are resolved against the importing module;
- at any depth: module level, inside a function, under ``if`` or ``try``. A function-local import
  still makes the importing module depend on the imported one (it runs on first call, and it is the
  usual way a cycle is hidden rather than removed), so it counts for both rules below.

Parent packages that Python initialises on the way (``conformance/__init__``) are not edges unless
named. Two rules:

1. no import cycle among the harness's modules (``conformance/tests`` excepted);
2. no pure module imports an edge module;
3. no module outside ``conformance/backends`` imports a backend's implementation: the CLI, the live
   session and the tests' fixtures reach backends through ``backends.registry`` and ``backends.base``;
4. the bottom of the house stays the bottom: ``errors`` (every error type) imports ``neutral`` alone, and
   ``neutral`` (making input text inert) imports nothing of the harness.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[2]
ROOT = PACKAGE.parent

# The pure layers: plain data in, values out. Prefixes name a module and everything under it.
PURE = (
    "conformance.definition",
    "conformance.jq",
    "conformance.evaluate",
    "conformance.claims",
    "conformance.report",
    "conformance.verdict",
    "conformance.snapshot",
    "conformance.kuberay",
    "conformance.errors",
    "conformance.neutral",
    "conformance.inventory",
    "conformance.flow",
    "conformance.replay",
    "conformance.model",
    "conformance.fixtures",
    "conformance.inputs",
    "conformance.versions",
)
# The edges: cluster, process, network and build I/O, and the entry points.
EDGES = (
    "conformance.live",
    "conformance.k8s",
    "conformance.backends",
    "conformance.toolchain",
    "conformance.static",
    "conformance.cli",
    "conformance.pytest_plugin",
    "conformance.progress",
    "conformance.oracle.build",
    "conformance.oracle.run",
)


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def harness_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in sorted(PACKAGE.rglob("*.py"))
        if "tests" not in p.relative_to(PACKAGE).parts
    }


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(imported harness module, line) for every import in ``path``, at any depth."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in known:
                    yield submodule, node.lineno
                elif source in known:
                    yield source, node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: first line importing it}."""
    modules = harness_modules()
    known = set(modules)
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges: dict[str, int] = {}
        for target, line in imports_of(name, path, known):
            if target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_graph_sees_the_modules_and_their_imports() -> None:
    # The rules below are only as good as the graph: it must see known arrows of every import form.
    graph = import_graph()
    assert "conformance.claims.static" in graph
    assert "conformance.evaluate.instances" in graph["conformance.claims.static"]  # from X import Y
    assert "conformance.jq.expr" in graph["conformance.claims.static"]  # from P import module
    assert "conformance.k8s.client" in graph["conformance.live.capture"]
    assert "conformance.cli" in graph["conformance.__main__"]


def test_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert found == [], f"import cycles among the harness's modules: {found}"


def edge_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    """Every import of an edge module by a pure one, as "module imports target (line N)"."""
    return [
        f"{module} imports {target} (line {line})"
        for module, edges in sorted(graph.items())
        if _under(module, PURE)
        for target, line in sorted(edges.items())
        if _under(target, EDGES)
    ]


def test_no_pure_module_imports_an_edge() -> None:
    wrong = edge_imports(import_graph())
    assert wrong == [], "pure modules importing edges:\n" + "\n".join(wrong)


def test_every_pure_and_edge_prefix_names_a_module() -> None:
    # A renamed module must not silently drop out of the rules.
    modules = set(harness_modules())
    missing = [p for p in PURE + EDGES if not any(_under(m, (p,)) for m in modules)]
    assert missing == []


def test_a_function_local_import_makes_a_cycle(tmp_path: Path) -> None:
    a = tmp_path / "a.py"
    b = tmp_path / "b.py"
    a.write_text("import b\n")
    b.write_text("def f():\n    from a import x\n    return x\n")
    known = {"a", "b"}
    graph = {
        "a": dict(imports_of("a", a, known)),
        "b": dict(imports_of("b", b, known)),
    }
    assert graph == {"a": {"b": 1}, "b": {"a": 2}}
    assert cycles(graph) == [["a", "b"]]


def test_a_pure_module_importing_an_edge_is_named() -> None:
    graph = {"conformance.claims.x": {"conformance.k8s.client": 7, "conformance.verdict": 3}}
    assert edge_imports(graph) == ["conformance.claims.x imports conformance.k8s.client (line 7)"]
    assert not _under("conformance.livestock", EDGES)  # a prefix names a module, not a string start


# The backends' implementations: only conformance.backends (the registry, a sibling backend) imports them.
IMPLEMENTATIONS = ("conformance.backends.local", "conformance.backends.kind", "conformance.backends.existing")


def implementation_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    return [
        f"{module} imports {target} (line {line})"
        for module, edges in sorted(graph.items())
        if not _under(module, ("conformance.backends",))
        for target, line in sorted(edges.items())
        if _under(target, IMPLEMENTATIONS)
    ]


def test_backends_are_reached_through_the_registry() -> None:
    wrong = implementation_imports(import_graph())
    assert wrong == [], "modules importing a backend implementation, not the registry:\n" + "\n".join(wrong)


def test_an_implementation_import_outside_the_backends_is_named() -> None:
    graph = {
        "conformance.cli": {"conformance.backends.kind.imagebuild": 9, "conformance.backends.registry": 4},
        "conformance.backends.registry": {"conformance.backends.kind.provider": 40},
    }
    assert implementation_imports(graph) == [
        "conformance.cli imports conformance.backends.kind.imagebuild (line 9)"
    ]


# The bottom: what every layer may import, so it imports (almost) nothing itself.
BOTTOM = {"conformance.errors": {"conformance.neutral"}, "conformance.neutral": set()}


def test_the_bottom_modules_import_nothing_above_them() -> None:
    graph = import_graph()
    wrong = {m: sorted(set(graph[m]) - allowed) for m, allowed in BOTTOM.items() if set(graph[m]) - allowed}
    assert wrong == {}, f"modules below every layer importing another harness module: {wrong}"
