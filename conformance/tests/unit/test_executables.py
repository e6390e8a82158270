"""Every executable a scenario runs inside a container is in the official image's documented content.

The images the kind backend builds offline (``backends/kind/images.py``) stand in for the official ones;
whatever they hold beyond them (a Debian package for their own build) must never become something a
scenario depends on silently. So the executables are collected from what the scenarios create and run,
each mapped to the image it runs in, and checked against ``official_images.yaml`` (the official images'
content, written from their Dockerfiles, which it cites).

How the executables are collected (from the objects the harness's own code builds, not from a second
description of them, so a change to a fixture or a builder is seen here):

- **the fixtures**, as a scenario gets them: ``Context.manifest`` (the fixture rendered for each pinned
  KubeRay version) called on a stub context, once as the local backend leaves them and once through the
  kind provider's ``adapt_manifest``; the neighbour RayCluster through ``Context.add_neighbour`` with the
  kind provider's ``adapt_neighbour`` (its head runs ``sh -c 'exec sleep infinity'``); ``fixtures/patches``.
  In each, every container's ``command``/``args`` and its probes' and lifecycle hooks' ``exec``, and every
  RayJob ``entrypoint`` (RayJob, RayCronJob's job template: run by Ray's job supervisor with ``/bin/sh``
  on the head, in the Ray image). A container with no command runs its image's entrypoint (the redis
  image's ``docker-entrypoint.sh`` and what it runs, from the documented interface) or, in the Ray image,
  the command KubeRay gives it: that is KubeRay's, not a scenario's;
- **the objects a scenario module builds itself**: every builder of containers in
  ``conformance/live/`` (today ``gcs.redis_objects``), called;
- **what a scenario passes as literals**: the scenario modules' source, parsed: each ``entrypoint`` (a
  keyword, a dict key, an assigned key: RayJob entrypoints) and each Ray job given to
  ``provider.ray_submit``, resolved to its literal (a constant of that module or of the function, or
  one imported from another scenario module); the submitted jobs are then passed through the backends'
  own ``raynodes.submit_job`` (``kubectl exec ... ray job submit -- ...`` in the head's Ray container),
  as is ``raynodes.alive_ray_nodes`` (``python`` in the head).

The parse fails closed: an ``entrypoint`` or a submitted job that is not a literal, or a ``command``,
``args``, ``image`` or ``containers`` written anywhere in ``conformance/live/`` outside the builders this
test calls, fails the test with its file and line, so a new way to run something cannot go unread. What
the kind backend runs on a node rather than in a container (``nsenter ... iptables`` in a Pod's network
namespace) is not in any image, and not collected.
"""

from __future__ import annotations

import ast
import functools
import shlex
import subprocess
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

import conformance
from conformance import fixtures, versions
from conformance.backends import raynodes
from conformance.backends.kind import images
from conformance.backends.kind.provider import KindProvider
from conformance.live.scenarios import gcs
from conformance.live.scenarios.context import Context

pytestmark = pytest.mark.unit

PACKAGE = Path(conformance.__file__).resolve().parent
LIVE = PACKAGE / "live"
SCENARIOS = LIVE / "scenarios"
CONTENT = Path(__file__).resolve().with_name("official_images.yaml")

# The functions of conformance/live/ that write containers, each called by this test: "module.function".
BUILDERS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "conformance.live.scenarios.gcs.redis_objects": gcs.redis_objects,
}
CONTAINER_KEYS = {"command", "args", "image", "containers", "initContainers"}
SHELLS = {"sh", "bash", "dash"}
# Words a shell runs itself (nothing looked up on PATH); `exec X` runs X.
BUILTINS = {"exec", "cd", "export", "set", "unset", "ulimit", "trap", "wait", "exit", ":", ".", "source"}
OPERATORS = {";", "&&", "||", "|", "&", "(", ")", ";;"}


@dataclass(frozen=True)
class Use:
    image: str  # as the container names it
    executable: str  # the name looked up on PATH (a path's last part)
    where: str  # what runs it


@dataclass(frozen=True)
class Documented:
    repository: str  # docker.io/library/redis
    tags: tuple[str, ...]
    executables: frozenset[str]
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    options_run: str | None = None


def content(path: Path = CONTENT) -> dict[str, Documented]:
    raw = yaml.safe_load(path.read_text())
    documented = {}
    for entry in raw["images"]:
        names = {str(name) for group in entry["executables"] for name in group}
        documented[entry["repository"]] = Documented(
            repository=entry["repository"],
            tags=tuple(str(t) for t in entry["tags"]),
            executables=frozenset(names),
            entrypoint=tuple(entry.get("entrypoint") or ()),
            cmd=tuple(entry.get("cmd") or ()),
            options_run=entry.get("options_run"),
        )
    return documented


def repository_and_tag(image: str) -> tuple[str, str]:
    """rayproject/ray:2.52.0 -> (docker.io/rayproject/ray, 2.52.0); redis:7 -> (docker.io/library/redis, 7)."""
    name, _, tag = image.split("@", 1)[0].rpartition(":")
    if not name or "/" in tag:
        name, tag = image.split("@", 1)[0], "latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return name, tag


# -- what a command line runs ----------------------------------------------------------------------


def script_executables(script: str) -> list[str]:
    """The programs a shell script's simple commands start (builtins and variable assignments left out)."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    found: list[str] = []
    command: list[str] = []
    for token in [*lexer, ";"]:
        if token not in OPERATORS:
            command.append(token)
            continue
        words = [w for w in command if not (w.partition("=")[0].isidentifier() and "=" in w)]
        while words and words[0] == "exec":
            words = words[1:]
        if words and words[0] not in BUILTINS:
            found.append(PurePosixPath(words[0]).name)
        command = []
    return found


def shell_string(entrypoint: str) -> list[str]:
    """A command line run with /bin/sh -c (a Ray job's entrypoint): sh and what the line starts."""
    return ["sh", *script_executables(entrypoint)]


def argv_executables(argv: list[str]) -> list[str]:
    """What an argv runs: its program, and what a shell's -c script or a submitted Ray job starts."""
    if not argv:
        return []
    program = PurePosixPath(argv[0]).name
    found = [program]
    if program in SHELLS:
        for index, flag in enumerate(argv[1:-1], start=1):
            if flag.startswith("-") and not flag.startswith("--") and "c" in flag:
                found += script_executables(argv[index + 1])
                break
    elif program == "ray" and argv[1:3] == ["job", "submit"] and "--" in argv:
        found += shell_string(shlex.join(argv[argv.index("--") + 1 :]))  # Ray quotes it into a shell line
    return found


# -- the objects: containers and RayJob entrypoints --------------------------------------------------


def mappings(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from mappings(value)
    elif isinstance(node, list):
        for item in node:
            yield from mappings(item)


def container_uses(
    obj: dict[str, Any], where: str, documented: dict[str, Documented], ray_image: str
) -> list[Use]:
    """Every executable the containers of ``obj`` run, and its RayJobs' entrypoints (in ``ray_image``)."""
    uses: list[Use] = []
    for node in mappings(obj):
        for key in ("containers", "initContainers"):
            listed = node.get(key)
            for container in listed if isinstance(listed, list) else []:
                uses += _one_container(container, f"{where}: container {container.get('name')}", documented)
        entrypoint = node.get("entrypoint")
        if isinstance(entrypoint, str) and ("rayClusterSpec" in node or "clusterSelector" in node):
            image = _head_image(node) or ray_image
            uses += [Use(image, e, f"{where}: RayJob entrypoint") for e in shell_string(entrypoint)]
    return uses


def _head_image(job_spec: dict[str, Any]) -> str | None:
    head = ((job_spec.get("rayClusterSpec") or {}).get("headGroupSpec") or {}).get("template") or {}
    containers = (head.get("spec") or {}).get("containers") or []
    return str(containers[0]["image"]) if containers else None


def _one_container(container: dict[str, Any], where: str, documented: dict[str, Documented]) -> list[Use]:
    image = str(container.get("image", ""))
    doc = documented.get(repository_and_tag(image)[0])
    command = [str(a) for a in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    runs: list[str] = []
    if command:
        runs += argv_executables(command + args)
    elif doc is not None and doc.entrypoint:  # the image's entrypoint, with the args or the image's CMD
        given = args or list(doc.cmd)
        runs.append(PurePosixPath(doc.entrypoint[0]).name)
        if given and doc.options_run and (given[0].startswith("-") or given[0].endswith(".conf")):
            runs.append(doc.options_run)
        else:
            runs += argv_executables(given)
    # else: a Ray container without a command runs KubeRay's (ray start, the job submitter), not a scenario's
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        runs += argv_executables(
            [str(a) for a in ((container.get(probe) or {}).get("exec") or {}).get("command") or []]
        )
    for hook in ((container.get("lifecycle") or {}) or {}).values():
        runs += argv_executables([str(a) for a in ((hook or {}).get("exec") or {}).get("command") or []])
    return [Use(image, executable, where) for executable in runs]


# -- the scenario modules, parsed --------------------------------------------------------------------


class Unreadable(AssertionError):
    """A place in conformance/live/ that runs or builds something this test cannot read."""


@dataclass(frozen=True)
class Literal:
    kind: str  # "entrypoint" (a RayJob's shell line) or "submitted" (an argv given to ray_submit)
    value: str | tuple[str, ...]
    where: str


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def _assignments(body: list[ast.stmt]) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for statement in body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.value
        ):
            found[statement.target.id] = statement.value
    return found


class ScenarioSource:
    """The modules of conformance/live/ as parsed source: their literals, resolved across imports."""

    def __init__(self, folder: Path = LIVE, sources: dict[str, str] | None = None) -> None:
        texts = sources or {_module_name(p): p.read_text() for p in sorted(folder.rglob("*.py"))}
        self.trees = {name: ast.parse(text) for name, text in texts.items()}
        self.constants = {name: _assignments(tree.body) for name, tree in self.trees.items()}
        self.imported: dict[str, dict[str, tuple[str, str]]] = {}
        for name, tree in self.trees.items():
            self.imported[name] = {
                alias.asname or alias.name: (node.module, alias.name)
                for node in tree.body
                if isinstance(node, ast.ImportFrom) and node.module
                for alias in node.names
            }

    def resolve(self, module: str, node: ast.expr, local: dict[str, ast.expr], where: str) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, str | type(None)):
            return node.value
        if isinstance(node, ast.Tuple | ast.List):
            return tuple(self.resolve(module, item, local, where) for item in node.elts)
        if isinstance(node, ast.Name):
            if node.id in local:
                return self.resolve(module, local[node.id], {}, where)
            if node.id in self.constants[module]:
                return self.resolve(module, self.constants[module][node.id], {}, where)
            origin = self.imported[module].get(node.id)
            if origin is not None and origin[0] in self.constants:
                other, name = origin
                if name in self.constants[other]:
                    return self.resolve(other, self.constants[other][name], {}, where)
        raise Unreadable(
            f"{where}: not a literal this test can read ({ast.unparse(node)}); make it a constant"
        )

    def literals(self) -> list[Literal]:
        """Every RayJob entrypoint and every Ray job given to ``ray_submit`` in the modules, resolved;
        and the guard: no container written outside BUILDERS."""
        found: list[Literal] = []
        for module, tree in self.trees.items():
            for function, node in _walk_with_function(tree):
                where = f"{module}:{getattr(node, 'lineno', '?')}"
                local = _locals(function)
                owner = f"{module}.{function.name}" if function is not None else module
                for key, value in _written_keys(node):
                    if key == "entrypoint":
                        resolved = self.resolve(module, value, local, where)
                        if resolved is not None:
                            found.append(Literal("entrypoint", resolved, where))
                    elif key in CONTAINER_KEYS and owner not in BUILDERS:
                        raise Unreadable(
                            f"{where}: {owner} writes a container's {key!r}, and test_executables.py does not "
                            "call it: add it to BUILDERS"
                        )
                if isinstance(node, ast.Call) and _called(node) == "ray_submit":
                    argument = node.args[3] if len(node.args) > 3 else None
                    argument = argument or next(
                        (k.value for k in node.keywords if k.arg == "entrypoint"), None
                    )
                    if argument is None:
                        raise Unreadable(f"{where}: a ray_submit without its job")
                    found.append(Literal("submitted", self.resolve(module, argument, local, where), where))
        return found


@functools.cache
def _locals(function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> dict[str, ast.expr]:
    """A function's names assigned a literal (its constants), anywhere in its body."""
    if function is None:
        return {}
    assigned = _assignments([n for n in ast.walk(function) if isinstance(n, ast.stmt)])
    return {k: v for k, v in assigned.items() if isinstance(v, ast.Constant | ast.Tuple | ast.List)}


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _written_keys(node: ast.AST) -> list[tuple[str, ast.expr]]:
    """(key, value) a node writes: a dict literal's string keys, a keyword argument, ``x["key"] = value``."""
    if isinstance(node, ast.Dict):
        return [
            (k.value, v) for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)
        ]  # fmt: skip
    if isinstance(node, ast.Call):  # a keyword is a key only as a RayJob's entrypoint (rayjob_manifest's)
        return [(k.arg, k.value) for k in node.keywords if k.arg == "entrypoint"]
    if isinstance(node, ast.Assign):
        return [
            (t.slice.value, node.value) for t in node.targets
            if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) and isinstance(t.slice.value, str)
        ]  # fmt: skip
    return []


def _walk_with_function(
    tree: ast.AST, function: ast.FunctionDef | ast.AsyncFunctionDef | None = None
) -> Iterator[tuple[ast.FunctionDef | ast.AsyncFunctionDef | None, ast.AST]]:
    """Every node with the outermost function it is in (None at module level)."""
    for child in ast.iter_child_nodes(tree):
        inner = function
        if function is None and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            inner = child
        yield inner, child
        yield from _walk_with_function(child, inner)


# -- everything, collected --------------------------------------------------------------------------


class RecordingKube:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        self.created.append(obj)
        return obj


def stub_context(kuberay_version: str, kind: bool) -> Any:
    """What ``Context.manifest`` and ``Context.add_neighbour`` read: a provider (the kind provider's
    adapt hooks, or none as on the local backend) and a kube that records what is created."""
    provider = types.SimpleNamespace(kuberay_version=kuberay_version)
    if kind:
        provider.adapt_manifest = lambda m: KindProvider.adapt_manifest(None, m)  # type: ignore[arg-type]
        provider.adapt_neighbour = lambda m: KindProvider.adapt_neighbour(None, m)  # type: ignore[arg-type]
    stub = types.SimpleNamespace(provider=provider, kube=RecordingKube(), namespace="ns")
    stub.manifest = lambda kind_: Context.manifest(stub, kind_)  # type: ignore[arg-type]
    return stub


def exec_in_head(job: tuple[str, ...]) -> list[list[str]]:
    """What the backends' raynodes run in a head's Ray container (``kubectl exec ... -- ARGV``): the Ray
    job ``job`` submitted, and the driver listing the alive nodes."""
    seen: list[list[str]] = []

    def kubectl(*argv: str) -> str:
        seen.append(list(argv[argv.index("--") + 1 :]))
        return f"{raynodes.NODES_MARK}[]\n"

    raynodes.submit_job(kubectl, "ns", "head", "ray-head", job, "id")
    raynodes.alive_ray_nodes(kubectl, "ns", "head", "ray-head")
    return seen


def collect(documented: dict[str, Documented], source: ScenarioSource | None = None) -> list[Use]:
    """Every executable a scenario runs inside a container, with its image (see the module's docstring)."""
    pins = versions.load()
    source = source or ScenarioSource()
    literals = source.literals()
    uses: list[Use] = []
    for version, pinned in pins.kuberay.items():
        for kind in (False, True):
            ctx = stub_context(version, kind)
            objects = [ctx.manifest(f.kind) for f in fixtures.load_fixtures()]
            Context.add_neighbour(ctx)
            objects += ctx.kube.created
            backend = "kind" if kind else "local"
            for obj in objects:
                where = f"{version} {backend}: {obj['kind']} {obj['metadata']['name']}"
                uses += container_uses(obj, where, documented, pinned.ray_image)
        for literal in literals:
            if literal.kind == "entrypoint":
                assert isinstance(literal.value, str), literal.where
                uses += [
                    Use(pinned.ray_image, e, f"{literal.where}: RayJob entrypoint")
                    for e in shell_string(literal.value)
                ]
            else:
                for argv in exec_in_head(tuple(literal.value)):
                    runs = argv_executables(argv)
                    uses += [
                        Use(pinned.ray_image, e, f"{literal.where}: kubectl exec in the head") for e in runs
                    ]
    for patch in sorted((fixtures.default_dir() / "patches").glob("*.yaml")):
        uses += container_uses(yaml.safe_load(patch.read_text()) or {}, patch.name, documented, "")
    for name, builder in BUILDERS.items():
        for obj in builder():
            uses += container_uses(obj, f"{name}: {obj['kind']} {obj['metadata']['name']}", documented, "")
    return uses


def refused(uses: list[Use], documented: dict[str, Documented]) -> list[str]:
    """Each use of an executable its image's official content does not hold (or an image or tag the
    content list does not document), one line each."""
    problems = []
    for use in uses:
        repository, tag = repository_and_tag(use.image)
        doc = documented.get(repository)
        if doc is None:
            problems.append(f"{use.where}: image {use.image} has no documented content in {CONTENT.name}")
        elif tag not in doc.tags:
            problems.append(
                f"{use.where}: {use.image}: tag {tag} not reviewed in {CONTENT.name} ({doc.tags})"
            )
        elif use.executable not in doc.executables:
            problems.append(
                f"{use.where}: runs {use.executable!r} in {use.image}, which the official image lacks"
            )
    return sorted(set(problems))


def by_image(uses: list[Use]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for use in uses:
        found.setdefault(repository_and_tag(use.image)[0], set()).add(use.executable)
    return found


# -- the tests --------------------------------------------------------------------------------------


def test_every_executable_a_scenario_runs_is_in_its_official_image() -> None:
    documented = content()
    uses = collect(documented)
    assert refused(uses, documented) == []
    found = by_image(uses)
    # what the collection reaches today (a floor, so an empty collection cannot pass)
    assert {"python", "sh", "ray", "sleep", "true"} <= found["docker.io/rayproject/ray"]
    assert {"docker-entrypoint.sh", "redis-server"} <= found["docker.io/library/redis"]
    assert set(found) == {"docker.io/rayproject/ray", "docker.io/library/redis"}


def test_every_pinned_image_tag_has_a_reviewed_content_list() -> None:
    """Pinning a Ray or Redis version fails here until its image's list has been reviewed for it."""
    documented = content()
    pins = versions.load()
    for image in [p.ray_image for p in pins.kuberay.values()] + [pins.redis_image]:
        repository, tag = repository_and_tag(image)
        assert tag in documented[repository].tags, image


def test_redis_server_run_in_the_ray_image_is_refused() -> None:
    """The Redis of the GCS fault-tolerance scenarios as it was: a Pod of the Ray image (whose Debian
    packages held redis-server) running redis-server. The official rayproject/ray has none."""
    documented = content()
    ray_image = versions.load().kuberay_version(None).ray_image
    old = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "redis"},
        "spec": {
            "containers": [
                {"name": "redis", "image": ray_image, "command": ["redis-server", "--port", "6379"]}
            ]
        },
    }
    assert refused(container_uses(old, "old redis", documented, ray_image), documented) == [
        f"old redis: container redis: runs 'redis-server' in {ray_image}, which the official image lacks"
    ]
    job = {"entrypoint": "redis-server --daemonize yes && python -c 'import ray'", "rayClusterSpec": {}}
    assert refused(container_uses(job, "job", documented, ray_image), documented) == [
        f"job: RayJob entrypoint: runs 'redis-server' in {ray_image}, which the official image lacks"
    ]
    sneaky = {
        "containers": [{"name": "x", "image": ray_image, "command": ["bash", "-lc", "exec redis-cli ping"]}]
    }
    assert refused(container_uses(sneaky, "probe", documented, ray_image), documented) == [
        f"probe: container x: runs 'redis-cli' in {ray_image}, which the official image lacks"
    ]


def test_the_redis_deployment_runs_the_official_entrypoint_with_redis_servers_options() -> None:
    documented = content()
    (deployment, service) = gcs.redis_objects()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "command" not in container and container["image"] == versions.load().redis_image
    runs = [u.executable for u in container_uses(deployment, "redis", documented, "")]
    assert runs == ["docker-entrypoint.sh", "redis-server"]
    assert service["metadata"]["name"] == gcs.REDIS_ADDRESS.split(":")[0]


def test_an_unread_way_to_run_something_fails_the_collection() -> None:
    """The parse fails closed: a container written outside BUILDERS, or an entrypoint that is not a
    literal, is named with its place."""
    container = (
        "def extra(s):\n    return {'containers': [{'image': 'redis', 'command': ['redis-server']}]}\n"
    )
    with pytest.raises(
        Unreadable, match=r"conformance.live.scenarios.x:2: conformance.live.scenarios.x.extra writes"
    ):
        ScenarioSource(sources={"conformance.live.scenarios.x": container}).literals()
    computed = "def job(s, n):\n    return rayjob_manifest(s, entrypoint=f'python {n}')\n"
    with pytest.raises(Unreadable, match=r"conformance.live.scenarios.y:2: not a literal"):
        ScenarioSource(sources={"conformance.live.scenarios.y": computed}).literals()
    submitted = (
        "JOB = ('python', '-c', 'x')\ndef go(s):\n    s.ctx.provider.ray_submit('ns', 'pod', 'c', JOB)\n"
    )
    (literal,) = ScenarioSource(sources={"conformance.live.scenarios.z": submitted}).literals()
    assert literal.value == ("python", "-c", "x") and literal.kind == "submitted"


def test_shell_lines_are_read_command_by_command() -> None:
    assert script_executables("exec sleep infinity") == ["sleep"]
    assert script_executables("ulimit -n 65536; X=1 ray start --head && /usr/bin/env python -c 'a; b'") == [
        "ray",
        "env",
    ]
    assert argv_executables(["/bin/sh", "-c", "exec sleep infinity"]) == ["sh", "sleep"]
    assert argv_executables(["ray", "job", "submit", "--no-wait", "--", "python", "-c", "x; y"]) == [
        "ray",
        "sh",
        "python",
    ]


# -- the images built here --------------------------------------------------------------------------


def test_the_ray_image_built_here_holds_no_redis() -> None:
    assert not [p for p in images.RAY_PACKAGES if "redis" in p]


def test_the_redis_image_built_here_has_the_official_name_and_interface() -> None:
    pins = versions.load()
    doc = content()["docker.io/library/redis"]
    recipe = images.redis_recipe(pins.redis_image, pins.redis_version)
    assert recipe.tag == pins.redis_image and recipe.files == (images.REDIS_ENTRYPOINT,)
    lines = recipe.dockerfile.splitlines()
    assert lines[0] == f"FROM {images.rootfs_tag()}"
    assert f"ENTRYPOINT {list(doc.entrypoint)}".replace("'", '"') in lines
    assert f"CMD {list(doc.cmd)}".replace("'", '"') in lines
    assert "EXPOSE 6379" in lines and "WORKDIR /data" in lines
    assert f'redis-server --version | grep -q " v={pins.redis_version} "' in recipe.dockerfile
    assert {"redis-server", "redis-tools"} <= set(images.REDIS_PACKAGES)


@pytest.mark.parametrize(
    ("args", "ran"),
    [
        (["--save", "", "--appendonly", "no"], "redis-server --save  --appendonly no"),
        (["/etc/redis.conf"], "redis-server /etc/redis.conf"),
        (["redis-cli", "ping"], "redis-cli ping"),
        ([], None),
    ],
)
def test_the_redis_entrypoint_runs_redis_server_for_options_else_its_arguments(
    tmp_path: Path, args: list[str], ran: str | None
) -> None:
    """The entrypoint built here, run with sh (as a non-root user, stubs on PATH echoing what ran)."""
    entrypoint = tmp_path / images.REDIS_ENTRYPOINT
    entrypoint.write_text(images.REDIS_ENTRYPOINT_SCRIPT)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("redis-server", "redis-cli"):
        (stubs / name).write_text(f'#!/bin/sh\necho "{name} $*"\n')
        (stubs / name).chmod(0o755)
    (stubs / "id").write_text("#!/bin/sh\necho 1000\n")
    (stubs / "id").chmod(0o755)
    completed = subprocess.run(
        ["sh", str(entrypoint), *args],
        capture_output=True,
        text=True,
        env={"PATH": f"{stubs}:/usr/bin:/bin"},
        cwd=tmp_path,
        check=False,
    )
    if ran is None:  # no arguments: nothing to run (the image's CMD gives redis-server)
        assert completed.returncode == 0 and completed.stdout == ""
    else:
        assert completed.stdout.strip() == ran, completed.stderr
