"""A pytest plugin (entry point ``pytest11``): ``pytest --karta-definitions definitions/`` gates a repository's
Karta definitions as test items, one per definition x claim, named ``definitions/rayjob.yaml::status-frames``.

Inert unless asked: without ``--karta-definitions`` it collects nothing and changes nothing (its fixtures
exist, and say what they need when used). With it, the definitions are checked as ``karta-conformance check``
checks them, in one mode:

- ``--karta-mode static`` (default): ``check --static``, against fixtures and KubeRay CRD schemas;
- ``--karta-mode snapshots --karta-recorded DIR``: ``check --snapshots DIR``, a live run's saved Snapshots;
- ``--karta-mode flows --karta-recorded DIR``: ``check --flows DIR``, every frame of a live run's saved flows;
- ``--karta-mode live``: ``check --live``, on the backend ``--karta-cluster`` names (as ``--cluster``:
  auto, kind, local or existing, default auto), ``--karta-kuberay-version`` and ``--karta-kubeconfig``.

An item passes when every verdict of its definition and claim passes the CLI's gate (PASS, N/A, UNVERIFIED,
CANNOT-EXPRESS; a FAIL or ERROR fails it), and when no verdict about the whole definition fails it (``evaluation``
and ``fixtures``: the definition could not be evaluated). Bad input (a flag, a path, a definition) is one line
and pytest's usage error (exit 4), before any test runs.

An edge, like ``cli.py``: it reads options and files and may start a cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import signal
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.definition import Definition
    from conformance.flow import Flow
    from conformance.live.selection import Selection
    from conformance.live.session import LiveSession
    from conformance.snapshot import Snapshot
    from conformance.verdict import Verdict

MODES = ("static", "snapshots", "flows", "live")
MARKER = "karta: a Karta definition x claim checked by karta-conformance (--karta-definitions)"


# --------------------------------------------------------------------------------------------------------------
# Which claims each mode judges: one item per definition x claim.


def claim_ids() -> list[str]:
    """Every claim id of ``conformance/claims/names.py``, in the order it declares them."""
    from conformance.claims import names

    return [value for key, value in vars(names).items() if key.isupper() and isinstance(value, str)]


def mode_claims(mode: str) -> list[str]:
    """The claims a mode judges, each an item per definition (in ``names.py``'s order). A verdict of any
    other claim (``evaluation``, ``fixtures``: the definition was not evaluated) is about the whole
    definition: it counts in every item of that definition."""
    from conformance.claims import names

    every = claim_ids()
    frames = {c for c in every if c.endswith("-frames")} | {names.CANNOT_EXPRESS}  # claims/frames.py
    static = {
        names.VALID,
        names.HERMETIC,
        names.INSTANCE_ID_IN_SPEC,
        names.PATHS_RESOLVE,
        names.INSTANCE_IDS,
        names.INSTANCE_ALIGNMENT,
        names.POD_TEMPLATE_SHAPE,
        names.SCALE,
        names.SCHEMA,
        names.BEYOND_KARTA,
        names.NOT_CHECKED,
    }
    snapshots = {  # claims/live.py, coverage.py, completeness.py
        names.GVK,
        names.PATHS_LIVE,
        names.MEMBERSHIP,
        names.INSTANCE_IDS,
        names.REPLICAS,
        names.OWNERSHIP,
        names.GANG,
        names.GANG_MINIMUM,
        names.STATUS,
        names.TEMPLATE_FIDELITY,
        names.SUSPEND_ACTIONS,
        names.TOP_OWNER,
        names.BEYOND_KARTA,
        names.CANNOT_EXPRESS,
        names.SCENARIO,
        names.NOT_CHECKED,
        names.SNAPSHOT_COMPLETE,
    }
    judged = {
        "static": static,
        "snapshots": snapshots,
        "flows": frames,
        "live": snapshots | frames | {names.ADMITTED, names.LOOKUP},
    }[mode]
    return [c for c in every if c in judged]


# --------------------------------------------------------------------------------------------------------------
# Options: the CLI's, under --karta-*; parsed and validated by the CLI's own parser.


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("karta-conformance", "karta-conformance: gate Karta definitions")
    group.addoption(
        "--karta-definitions",
        action="append",
        default=None,
        metavar="PATH",
        help="Karta definition files or folders to gate, one test per definition x claim (repeatable; "
        "without it the plugin adds nothing)",
    )
    group.addoption(
        "--karta-mode",
        default=None,
        metavar="MODE",
        help="static (default: fixtures and CRD schemas), snapshots or flows (a live run's recordings, "
        "--karta-recorded DIR), or live (a cluster, --karta-cluster)",
    )
    group.addoption(
        "--karta-recorded",
        default=None,
        metavar="DIR",
        help="with --karta-mode snapshots or flows: the saved Snapshots or flows of a live run "
        "(e.g. artifacts/snapshots, artifacts/flows)",
    )
    group.addoption(
        "--karta-cluster",
        default=None,
        metavar="BACKEND",
        help="the live backend, as karta-conformance check --cluster: auto, kind, local or existing "
        "(default: auto, kind when Docker answers, else local)",
    )
    group.addoption(
        "--karta-kuberay-version",
        action="append",
        default=None,
        metavar="VERSION",
        help="a pinned KubeRay version, as check --kuberay-version (repeatable with static; live takes one; "
        "default: static every pinned version, live the pinned default)",
    )
    group.addoption(
        "--karta-kubeconfig",
        default=None,
        metavar="PATH",
        help="with --karta-cluster existing: its kubeconfig",
    )


# The CLI's option names in its messages, as this plugin spells them.
_SPELLED = {
    "--cluster": "--karta-cluster",
    "--kuberay-version": "--karta-kuberay-version",
    "--kubeconfig": "--karta-kubeconfig",
    "--live": "--karta-mode live",
    "--static": "--karta-mode static",
    "--snapshots": "--karta-recorded",
    "--flows": "--karta-recorded",
}


def _spelled(message: str) -> str:
    return re.sub(r"(?<![\w-])--[a-z][\w-]*", lambda m: _SPELLED.get(m.group(0), m.group(0)), message)


def _usage(error: object) -> pytest.UsageError:
    """One line, pytest's usage error (exit 4)."""
    from conformance.neutral import text

    return pytest.UsageError(f"karta-conformance: {text(_spelled(str(error)))}")


def _cli_args(
    config: pytest.Config, mode: str, paths: Sequence[str], recorded: str | None
) -> argparse.Namespace:
    """The ``karta-conformance check`` arguments these options mean, parsed by the CLI's own parser: its
    defaults and choices; a bad value raises the CLI's message as a usage error."""
    from conformance import cli

    argv = ["check", f"--{mode}" if mode in ("static", "live") else f"--{mode}={recorded}"]
    if (cluster := config.getoption("karta_cluster")) is not None:
        argv += ["--cluster", cluster]
    for version in config.getoption("karta_kuberay_version") or []:
        argv += ["--kuberay-version", version]
    if (kubeconfig := config.getoption("karta_kubeconfig")) is not None:
        argv += ["--kubeconfig", kubeconfig]
    argv += ["--", *paths]
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            return cli._parser().parse_args(argv)
    except SystemExit:
        lines = [line for line in said.getvalue().splitlines() if line.strip()]
        raise _usage(lines[-1].partition("error: ")[2] if lines else "bad options") from None


def _session(args: argparse.Namespace) -> LiveSession:
    """The live session ``check --live`` builds from the same arguments (the backend not started yet)."""
    from conformance import cli

    return cli.live_session(args)


# --------------------------------------------------------------------------------------------------------------
# One gating run: what --karta-definitions asked for, checked before any test runs.


@dataclass(frozen=True)
class KartaResult:
    """What ``karta_result`` gives: every verdict of the chosen mode, as ``karta-conformance check`` makes
    them, with the report header and metadata of that run."""

    mode: str
    verdicts: list[Verdict]
    header: str
    meta: dict[str, Any] = field(default_factory=dict)

    def of(self, definition: str, claim: str) -> list[Verdict]:
        """The verdicts of one definition (its ``metadata.name``) and claim."""
        return [v for v in self.verdicts if v.definition == definition and v.claim == claim]


@dataclass
class _Run:
    mode: str
    paths: list[str]
    args: argparse.Namespace
    definitions: list[Definition]
    files: dict[Path, list[Definition]]  # each definition file (resolved) -> its definitions, in order
    snapshots: list[Snapshot] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    session: LiveSession | None = None  # live: built as the CLI builds it, started by karta_cluster
    selected: Selection | None = None  # live: the scenarios, chosen as the CLI chooses them
    folders: set[Path] = field(init=False)  # every folder holding a definition file, up to /

    def __post_init__(self) -> None:
        self.folders = {parent for file in self.files for parent in file.parents}

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        if file_path.resolve() in self.files:
            return KartaFile.from_parent(parent, path=file_path)
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        """The definitions named are collected even where pytest would not look (``norecursedirs`` such as
        ``.*`` or ``build``, ``--ignore``): naming them is asking for them."""
        path = collection_path.resolve()
        return False if path in self.files or path in self.folders else None

    def pytest_report_header(self) -> str:
        recorded = (
            f" from {self.args.snapshots or self.args.flows}" if self.mode in ("snapshots", "flows") else ""
        )
        return (
            f"karta-conformance: {self.mode}{recorded} check of {len(self.definitions)} definition(s) in "
            f"{', '.join(self.paths)}, {len(mode_claims(self.mode))} claims each"
        )


_RUN = pytest.StashKey[_Run]()


def _prepare(config: pytest.Config) -> _Run | None:
    """What the options ask for, validated and loaded as ``check`` does before any work (None: nothing)."""
    from conformance.errors import UserError

    paths: list[str] | None = config.getoption("karta_definitions")
    mode: str | None = config.getoption("karta_mode")
    recorded: str | None = config.getoption("karta_recorded")
    if paths is None:
        given = [flag for flag, value in (("--karta-mode", mode), ("--karta-recorded", recorded)) if value]
        if given:
            raise _usage(f"{given[0]} needs --karta-definitions PATH")
        return None
    mode = mode or "static"
    if mode not in MODES:
        raise _usage(f"--karta-mode: invalid choice: {mode!r} (choose from {', '.join(MODES)})")
    if mode in ("snapshots", "flows") and not recorded:
        raise _usage(f"--karta-mode {mode} needs --karta-recorded DIR (a live run's saved {mode})")
    if mode not in ("snapshots", "flows") and recorded:
        raise _usage("--karta-recorded is for --karta-mode snapshots or flows")
    args = _cli_args(config, mode, paths, recorded)
    try:
        from conformance import versions
        from conformance.definition import load_definitions

        for version in args.kuberay_versions or []:
            versions.load().kuberay_version(version)  # an unknown one is refused before any work
        definitions = load_definitions(args.paths)
        run = _Run(mode, paths, args, definitions, _files(config, definitions))
        if mode == "snapshots":
            from conformance.cli import load_snapshots

            run.snapshots = load_snapshots(args.snapshots)
        elif mode == "flows":
            from conformance.flow import load_flows

            run.flows = load_flows(args.flows)
        elif mode == "live":
            run.session = _session(args)  # a bad backend, version or kubeconfig: before any cluster work
            run.selected = run.session.select(args.features)
    except UserError as error:
        raise _usage(error) from None
    return run


def _files(config: pytest.Config, definitions: list[Definition]) -> dict[Path, list[Definition]]:
    files: dict[Path, list[Definition]] = {}
    for definition in definitions:
        source = re.sub(r"#\d+$", "", definition.source)  # "#N": the N-th document of a multi-document file
        files.setdefault((config.invocation_params.dir / source).resolve(), []).append(definition)
    return files


def pytest_configure(config: pytest.Config) -> None:
    run = _prepare(config)
    if run is None:
        return  # inert: nothing registered, nothing collected
    config.stash[_RUN] = run
    config.addinivalue_line("markers", MARKER)
    # The definitions are collected like test files, wherever they are (pytest drops a path another argument
    # already covers); their files become items through this run's pytest_collect_file.
    config.args.extend(str(config.invocation_params.dir / p) for p in run.paths)
    config.pluginmanager.register(run, "karta-conformance-run")


# --------------------------------------------------------------------------------------------------------------
# Collection: a file per definition file, an item per definition x claim.


class KartaFile(pytest.File):
    """A definition file: an item per claim (or, holding several definitions, one collector per definition)."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        run = self.config.stash[_RUN]
        found = run.files.get(self.path.resolve(), [])
        if len(found) == 1:
            yield from KartaItem.each(self, found[0], run.mode)
            return
        for definition in found:
            yield KartaDefinition.from_parent(self, name=_inert(definition.name), definition=definition)


class KartaDefinition(pytest.Collector):
    """One definition of a multi-document file, named by its ``metadata.name``."""

    def __init__(self, *, definition: Definition, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.definition = definition

    def collect(self) -> Iterator[pytest.Item]:
        yield from KartaItem.each(self, self.definition, self.config.stash[_RUN].mode)


def _judged(karta_result: KartaResult) -> None:
    """What a claim item needs (``KartaItem.runtest`` judges): the fixture of the chosen mode's verdicts."""


class KartaItem(pytest.Function):
    """One definition x claim: passes when the CLI's gate passes every verdict of it."""

    definition: str  # its metadata.name
    claim: str
    judged: list[str]  # every claim with an item of its own in this mode

    @classmethod
    def each(cls, parent: pytest.Collector, definition: Definition, mode: str) -> Iterator[KartaItem]:
        """An item per claim the mode judges, named by the claim."""
        judged = mode_claims(mode)
        for claim in judged:
            item = cls.from_parent(parent, name=claim, callobj=_judged)
            item.definition, item.claim, item.judged = definition.name, claim, judged
            item.add_marker("karta")
            yield item

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # the head line of a failure; never a suffix of the node id, which pytest -v would respell
        return self.path, None, f"{self.claim} of {_inert(self.definition)}"

    def runtest(self) -> None:
        from conformance.neutral import text
        from conformance.verdict import exit_code

        result = self.funcargs["karta_result"]
        assert isinstance(result, KartaResult), "karta_result gives a KartaResult"
        mine = [v for v in result.verdicts if v.definition == self.definition]
        own = [v for v in mine if v.claim == self.claim]
        whole = [v for v in mine if v.claim not in self.judged]  # not evaluated at all, and the like
        failing = [v for v in own + whole if exit_code([v])]
        phases = list(dict.fromkeys(v.phase for v in own))
        counts: dict[str, int] = {}
        for verdict in own:
            counts[str(verdict.outcome)] = counts.get(str(verdict.outcome), 0) + 1
        judged = ", ".join(f"{n} {o}" for o, n in counts.items()) or "no verdict of this claim in this run"
        self.user_properties += [
            ("karta_mode", result.mode),
            ("karta_definition", self.definition),
            ("karta_claim", self.claim),
            ("karta_phases", ", ".join(text(p, 200) for p in phases)),
            ("karta_verdicts", judged),
        ]
        self.add_report_section(
            "call",
            "karta-conformance",
            "\n".join(
                [f"{self.claim} ({result.mode}): {judged}", f"phases judged: {', '.join(phases) or 'none'}"]
                + [_line(v, self.claim) for v in own]
            ),
        )
        if failing:
            pytest.fail(
                "\n".join(
                    [f"{len(failing)} failing verdict(s) of {text(self.definition, 200)} {self.claim}:"]
                    + [_line(v, self.claim) for v in failing]
                ),
                pytrace=False,
            )


def _line(verdict: Verdict, claim: str) -> str:
    """The CLI's line for a verdict (outcome, file, subject, message, phase), made inert; its claim named
    when it is not the item's (a verdict about the whole definition)."""
    from conformance.neutral import text

    phase = f" [{text(verdict.phase, 200)}]" if verdict.phase else ""
    other = f" (claim {text(verdict.claim, 100)})" if verdict.claim != claim else ""
    return f"{verdict.outcome!s:10} {text(verdict.line())}{phase}{other}"


def _inert(name: str) -> str:
    from conformance.neutral import text

    return text(name, 200).replace("::", ":\\:")


# --------------------------------------------------------------------------------------------------------------
# Fixtures: the public API.


def _run(request: pytest.FixtureRequest, fixture: str) -> _Run:
    run = request.config.stash.get(_RUN, None)
    if run is None:
        pytest.fail(f"{fixture} needs pytest --karta-definitions PATH (karta-conformance)", pytrace=False)
    return run


@pytest.fixture(scope="session")
def karta_definitions(request: pytest.FixtureRequest) -> list[Definition]:
    """The definitions ``--karta-definitions`` names, loaded as ``karta-conformance check`` loads them
    (``conformance.definition.Definition``: ``name``, ``source``, ``components``, ...)."""
    return _run(request, "karta_definitions").definitions


@pytest.fixture(scope="session")
def karta_cluster(request: pytest.FixtureRequest) -> Iterator[LiveSession]:
    """The live session (``conformance.live.session.LiveSession``) with its backend up: the backend chosen as
    ``karta-conformance check --live --cluster`` chooses it, from ``--karta-cluster`` (default auto: kind when
    Docker answers, else local), ``--karta-kuberay-version`` and ``--karta-kubeconfig``. Started once for the
    pytest session, stopped at its end: also when a test fails, on Ctrl-C and on SIGTERM."""
    from conformance.errors import UserError

    run = request.config.stash.get(_RUN, None)
    try:
        if run is not None and run.session is not None:
            session = run.session
        else:  # no --karta-definitions, or a mode without a cluster: the options alone choose the backend
            session = _session(_cli_args(request.config, "live", ["."], None))
    except UserError as error:
        pytest.fail(f"karta-conformance: {_spelled(str(error))}", pytrace=False)
    except pytest.UsageError as error:
        pytest.fail(str(error), pytrace=False)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)  # unwinds like Ctrl-C: teardown runs
    try:
        try:
            session.start()
        except UserError as error:
            pytest.fail(f"karta-conformance: the cluster did not start: {error}", pytrace=False)
        try:
            yield session
        finally:
            session.stop()
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def karta_result(request: pytest.FixtureRequest) -> KartaResult:
    """Every verdict of the chosen ``--karta-mode`` (``conformance.verdict.Verdict``: ``definition``,
    ``claim``, ``subject``, ``phase``, ``outcome``, ``message``), computed once per pytest session as
    ``karta-conformance check --static``, ``--snapshots DIR``, ``--flows DIR`` or ``--live`` computes them (live:
    on ``karta_cluster``, every default scenario once). ``KartaResult.of(definition, claim)`` selects."""
    from conformance.errors import UserError

    run = _run(request, "karta_result")
    try:
        return _result(request, run)
    except UserError as error:
        pytest.fail(f"karta-conformance: {_spelled(str(error))}", pytrace=False)


def _result(request: pytest.FixtureRequest, run: _Run) -> KartaResult:
    args = run.args
    if run.mode == "static":
        from conformance.static.session import run_static

        verdicts = run_static(args.paths, args.fixtures, args.kuberay_versions)
        return KartaResult(
            "static",
            verdicts,
            "karta-conformance static check: definitions against fixtures and KubeRay CRD schemas",
        )
    if run.mode == "flows":
        from conformance.claims import frames

        verdicts = frames.judge(run.definitions, run.flows)
        return KartaResult(
            "flows", verdicts, f"karta-conformance on saved flows: {len(run.flows)} flow(s) from {args.flows}"
        )
    if run.mode == "snapshots":
        from conformance.claims import live

        verdicts = live.check(run.definitions, run.snapshots)
        return KartaResult(
            "snapshots",
            verdicts,
            f"karta-conformance on saved snapshots: {len(run.snapshots)} Snapshot(s) from {args.snapshots}",
        )
    session: LiveSession = request.getfixturevalue("karta_cluster")
    done = session.run(run.definitions, selected=run.selected)
    return KartaResult("live", done.verdicts, done.header, done.meta)
