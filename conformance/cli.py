"""karta-conformance proves Karta workload definitions true against a real, running KubeRay.

Commands:
  check --static PATH...            definitions against fixtures and KubeRay CRD schemas (no cluster)
  check --live PATH...              definitions against live objects: a cluster with the pinned KubeRay,
                                    every scenario driven through its phases, every claim on every Snapshot
  check --snapshots DIR PATH...     the live claims on Snapshots a live run saved (no cluster)
  check --flows DIR PATH...         every recorded frame of a live run's saved flows judged (no cluster)
  check --replay PATH...            the live claims and every frame on the recorded corpus of each pinned
                                    KubeRay version (shipped with the harness; no cluster, seconds)
  check ... --oracle karta          also compare the harness's reading with Karta's own (Go) reading
  convert FILE --to karta|resource-interface   one dialect into the other
  corpus record|diff                record a pinned version's corpus (a default live run); compare two
  cluster up|down|status            the local backend's cluster
  ci matrix|versions|compat|features|live-needed   what the GitHub workflows compute
  tools install|path|run            pinned tools built from Go modules (actionlint, kind, helm, crane)
  images build|list                 the kind backend's offline images (no registry needed)

Exit codes:
  0  every claim of the gated definitions holds (CANNOT-EXPRESS, UNVERIFIED and N/A do not fail
     the gate unless --strict; --ungated definitions never set it)
  1  a claim is violated (FAIL) or could not be evaluated (ERROR)
  2  bad input (a definition, a flag, a path) or no cluster: one line, never a traceback
  130 interrupted (Ctrl-C or SIGTERM): everything the run started is stopped

`karta-conformance COMMAND --help` describes a command's options.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import versions
from conformance.errors import UserError
from conformance.progress import say
from conformance.report import formats as report
from conformance.snapshot import Snapshot
from conformance.verdict import Verdict, exit_code

if TYPE_CHECKING:
    from conformance.live.session import LiveSession

BATCH_SCHEDULER_NAMES = "volcano, yunikorn, kai-scheduler, scheduler-plugins"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the overview's layout; option help is wrapped as usual."""


def _command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    run: Callable[[argparse.Namespace], int],
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help, description=description or help, formatter_class=_Formatter
    )
    parser.set_defaults(run=run)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="karta-conformance", description=__doc__, formatter_class=_Formatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _check_parser(commands)

    convert = _command(
        commands,
        "convert",
        _convert,
        "turn a definition into the other dialect (YAML on stdout; exit 1 if a field cannot be converted)",
    )
    convert.add_argument("file", type=Path, metavar="FILE")
    convert.add_argument("--to", required=True, choices=["karta", "resource-interface"])
    convert.add_argument("--output", "-o", type=Path, default=None, help="write here instead of stdout")

    _corpus_parser(commands)

    cluster = _command(commands, "cluster", _cluster, "manage the local backend's cluster")
    cluster.add_argument("action", choices=["up", "down", "status"])
    cluster.add_argument(
        "--provider", default="local", choices=["local"], help="only the local backend is managed here"
    )
    cluster.add_argument(
        "--kuberay-version", default=None, help="KubeRay version to run (default: the pinned default)"
    )
    cluster.add_argument("--name", default="karta", help="cluster name (several can run side by side)")

    ci = _command(commands, "ci", _ci, "what the GitHub workflows compute")
    ci_commands = ci.add_subparsers(dest="ci_command", required=True)
    matrix = ci_commands.add_parser("matrix", help="the nightly matrix (KubeRay x kind node image) as JSON")
    matrix.add_argument(
        "--github-output", action="store_true", help="print `matrix=<json>` for $GITHUB_OUTPUT"
    )
    compat = ci_commands.add_parser("compat", help="compatibility table (Markdown) from live JSON reports")
    compat.add_argument("reports", nargs="+", type=Path, metavar="REPORT")
    compat.add_argument("--output", type=Path, default=None, help="also write the table here")
    feature_table = ci_commands.add_parser(
        "features", help="the feature matrix (feature x KubeRay version x backend) from live JSON reports"
    )
    feature_table.add_argument("reports", nargs="+", type=Path, metavar="REPORT")
    feature_table.add_argument("--output", type=Path, default=None, help="also write the Markdown table here")
    feature_table.add_argument(
        "--json", type=Path, default=None, dest="json_path", help="write the matrix as JSON"
    )

    pinned = ci_commands.add_parser("versions", help="every pinned KubeRay version as a JSON list")
    pinned.add_argument(
        "--github-output", action="store_true", help="print `versions=<json>` for $GITHUB_OUTPUT"
    )
    live_needed = ci_commands.add_parser(
        "live-needed",
        help="whether a pull request's changed files need the live leg (the harness, its scenarios or its "
        "build changed) or static plus replay of the corpus is enough (definitions, the corpus, documents)",
    )
    live_needed.add_argument(
        "files", nargs="*", metavar="FILE", help="changed files, relative to the repository (default: stdin)"
    )
    live_needed.add_argument(
        "--github-output", action="store_true", help="print `live=true|false` for $GITHUB_OUTPUT"
    )

    tool = _command(commands, "tools", _tools, "pinned tools built from their Go modules into the cache")
    tool.add_argument("action", choices=["install", "path", "run"])
    tool.add_argument("name", nargs="?", help="actionlint, kind, helm or crane (install: all when omitted)")
    tool.add_argument("args", nargs=argparse.REMAINDER, help="with run: the tool's arguments")

    image = _command(
        commands, "images", _images, "the kind backend's offline images, built with the local Docker"
    )
    image.add_argument("action", choices=["build", "list"])
    image.add_argument(
        "--kuberay-version",
        action="append",
        dest="kuberay_versions",
        help="KubeRay version(s) whose operator and Ray images to build (repeatable; default: the pinned default)",
    )
    image.add_argument(
        "--no-node", action="store_true", help="skip the kind node image (operator and Ray images only)"
    )
    return parser


def _corpus_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``corpus record|diff``: the recorded corpus that ``check --replay`` judges definitions on."""
    corpus = _command(
        commands,
        "corpus",
        _corpus,
        "the recorded corpus `check --replay` judges on: record a pinned version's, compare two",
        "The corpus of a pinned KubeRay version (conformance/corpus/<version>/): a default live run's "
        "Snapshots, flows and verdicts, compressed. `record` runs the live scenarios and writes it; `diff` "
        "says what changed between two recordings of one version. Exit codes: record 0 written, 1 a scenario "
        "broke or the replay disagreed (nothing written); diff 0 no drift, 1 drift; 2 bad input or no cluster.",
    )
    actions = corpus.add_subparsers(dest="corpus_command", required=True, metavar="ACTION")
    record = actions.add_parser(
        "record",
        help="run the default live scenarios on one pinned KubeRay version and write its corpus",
        description="Run the default live scenarios on one pinned KubeRay version (as `check --live` does) "
        "and write OUT/<version>/: the Snapshots, the flows and the verdicts of PATH. Written only when no "
        "scenario broke and a replay of what is written gives the live run's verdicts.",
        formatter_class=_Formatter,
    )
    record.add_argument(
        "paths",
        nargs="*",
        default=["definitions/"],
        metavar="PATH",
        help="the definitions whose verdicts are recorded (default: definitions/)",
    )
    record.add_argument(
        "--kuberay-version", required=True, metavar="VERSION", help="one pinned KubeRay version"
    )
    record.add_argument(
        "--cluster",
        default="local",
        choices=["local", "kind", "existing"],
        help="the backend (default: local, the one the shipped corpus is recorded on)",
    )
    record.add_argument(
        "--cluster-name",
        default="karta",
        metavar="NAME",
        help="local and kind: the cluster's name (default: karta)",
    )
    record.add_argument("--kubeconfig", default=None, metavar="PATH", help="existing: its kubeconfig")
    record.add_argument("--kind-image", default=None, metavar="IMAGE|VERSION", help="kind: the node image")
    record.add_argument("--chart", default=None, metavar="DIR|TGZ", help="kind: the KubeRay operator chart")
    record.add_argument(
        "--parallel",
        type=int,
        default=None,
        metavar="N",
        help="scenarios side by side (default: the backend's)",
    )
    record.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write DIR/<version>/, replacing what is there (default: the shipped corpus, conformance/corpus/)",
    )
    record.add_argument(
        "--artifacts",
        type=Path,
        default=Path("artifacts"),
        metavar="DIR",
        help="the run's Snapshots, flows, diagnostics and logs (default: artifacts)",
    )
    compare = actions.add_parser(
        "diff",
        help="what changed between two corpora of one KubeRay version (exit 1 on drift)",
        description="Compare two corpora of one KubeRay version (e.g. the committed one and a fresh "
        "recording): verdicts that appeared, vanished or changed outcome, phases added or gone, and the "
        "frames. Exit 1 on drift; the diff is also appended to $GITHUB_STEP_SUMMARY when set.",
        formatter_class=_Formatter,
    )
    compare.add_argument(
        "old", type=Path, metavar="OLD", help="a corpus folder (e.g. conformance/corpus/v1.6.2)"
    )
    compare.add_argument("new", type=Path, metavar="NEW", help="a corpus folder of the same version")


def _check_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``check``: its options in three groups, each help text ending in its default (the README's
    options table says the same: ``test_cli_help_and_readme_agree``)."""
    check = _command(
        commands,
        "check",
        _check,
        "check definitions (static, live, on saved Snapshots or flows, or on the recorded corpus)",
        "Check Karta definitions. Exit codes: 0 the gated definitions hold, 1 a claim is violated, "
        "2 bad input or no cluster.",
    )
    what = check.add_argument_group("what to check")
    mode = what.add_mutually_exclusive_group(required=True)
    mode.add_argument("--static", action="store_true", help="no cluster: fixtures and CRD schemas")
    mode.add_argument(
        "--live", action="store_true", help="against a live cluster with KubeRay (one shared scenario run)"
    )
    mode.add_argument(
        "--snapshots",
        type=Path,
        metavar="DIR",
        default=None,
        help="no cluster: the live claims on Snapshots a live run saved (e.g. artifacts/snapshots)",
    )
    mode.add_argument(
        "--flows",
        type=Path,
        metavar="DIR",
        default=None,
        help="no cluster: judge every frame of the flows a live run saved (e.g. artifacts/flows)",
    )
    mode.add_argument(
        "--replay",
        action="store_true",
        help="no cluster: the live claims and every frame on the recorded corpus of each chosen KubeRay "
        "version (conformance/corpus/<version>/)",
    )
    what.add_argument("paths", nargs="+", metavar="PATH", help="definition files or folders (gated)")
    what.add_argument(
        "--ungated",
        action="append",
        default=[],
        metavar="PATH",
        help="more definitions whose verdicts are reported but never set the exit code, e.g. upstream's "
        "kartas (repeatable; default: none)",
    )
    what.add_argument(
        "--kuberay-version",
        action="append",
        dest="kuberay_versions",
        metavar="VERSION",
        help="the KubeRay version(s) (repeatable with --static and --replay, or `all`; --live takes one; "
        "default: static and replay every pinned version, live the pinned default)",
    )
    what.add_argument(
        "--corpus",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --replay: the folder of recorded corpora, one <version>/ each (default: the shipped corpus)",
    )
    what.add_argument(
        "--features",
        default=None,
        metavar="all|NAME,...",
        help="with --live: the feature scenarios of these inventory entries (conformance/inventory.yaml) "
        "instead of the default set; `all` adds every one to it; a feature the KubeRay version lacks is "
        "n/a (default: the default scenarios)",
    )
    what.add_argument(
        "--fixtures", type=Path, default=None, help="the fixtures folder (default: the shipped fixtures)"
    )
    what.add_argument(
        "--oracle",
        choices=["karta"],
        default=None,
        help="also read every Snapshot (fixtures with --static) with Karta's own Go packages and report "
        "each disagreement with the harness (default: off)",
    )
    what.add_argument(
        "--karta-source",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --oracle: Karta's source folder, when the Go module proxy does not serve the pinned "
        "Karta (default: $KARTA_SOURCE)",
    )
    what.add_argument(
        "--strict",
        action="store_true",
        help="UNVERIFIED and CANNOT-EXPRESS verdicts fail the gate too (default: off)",
    )

    live = check.add_argument_group("live cluster (--live)")
    live.add_argument(
        "--cluster",
        default="auto",
        choices=["auto", "kind", "local", "existing"],
        help="the backend: kind (Docker), local (a real control plane and operator, kwok's nodes), "
        "existing (your cluster) (default: auto, kind when Docker answers, else local)",
    )
    live.add_argument(
        "--kubeconfig",
        default=None,
        metavar="PATH",
        help="with --cluster existing: its kubeconfig (default: none)",
    )
    live.add_argument(
        "--kind-image",
        default=None,
        metavar="IMAGE|VERSION",
        help="with --cluster kind: a pinned node image or its Kubernetes version (default: the node image "
        "built by `images build`, else the first pinned one)",
    )
    live.add_argument(
        "--chart",
        default=None,
        metavar="DIR|TGZ",
        help="with --cluster kind: the KubeRay operator chart, a folder or archive ({version} becomes the "
        "KubeRay version) (default: $KARTA_CONFORMANCE_CHART, else the Helm repository)",
    )
    live.add_argument(
        "--keep-cluster",
        action="store_true",
        help="with --cluster kind: keep the cluster afterwards; a later run reuses it (default: off)",
    )
    live.add_argument(
        "--cluster-name",
        default="karta",
        metavar="NAME",
        help="with --cluster local or kind: the cluster's name, so runs can go side by side (default: karta)",
    )
    live.add_argument(
        "--batch-scheduler",
        default=None,
        metavar="NAME",
        help=f"with --cluster local: run the KubeRay operator with --batch-scheduler=NAME ({BATCH_SCHEDULER_NAMES}): "
        "its Pods go to that scheduler with its labels and annotations, and a kube-scheduler profile of that "
        "name binds them, without gang semantics (default: none)",
    )
    live.add_argument(
        "--parallel",
        type=int,
        default=None,
        metavar="N",
        help="scenarios side by side, each in its own namespace, 1 to 8; an operator restart still runs "
        "alone (default: the backend's, kind 3, local 2, existing 1)",
    )

    out = check.add_argument_group("reports")
    out.add_argument(
        "--json",
        dest="json_path",
        type=Path,
        default=None,
        metavar="FILE",
        help="the JSON report (default: none)",
    )
    out.add_argument(
        "--junit", type=Path, default=None, metavar="FILE", help="the JUnit XML report (default: none)"
    )
    out.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="FILE",
        help="the Markdown summary, also appended to $GITHUB_STEP_SUMMARY when set (default: none)",
    )
    out.add_argument(
        "--artifacts",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --live: Snapshots, diagnostics and logs (default: artifacts)",
    )


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (a CI runner cancelling, `kill`) unwinds like Ctrl-C: every cleanup runs, clusters stop."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        run: Callable[[argparse.Namespace], int] = args.run
        return run(args)
    except UserError as error:
        print(f"karta-conformance: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("karta-conformance: interrupted (everything it started is stopped)", file=sys.stderr)
        return 130


def _convert(args: argparse.Namespace) -> int:
    from conformance.definition.convert import convert_text
    from conformance.errors import DefinitionError

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError(f"cannot read: {error}", where=str(args.file)) from None
    converted, lost = convert_text(text, str(args.file), args.to)
    if args.output:
        args.output.write_text(converted)
    else:
        sys.stdout.write(converted)
    for item in lost:
        print(f"karta-conformance: not converted: {args.file}: {item.line()}", file=sys.stderr)
    return 1 if lost else 0


def _check(args: argparse.Namespace) -> int:
    from conformance.definition import load_definitions

    groups = [report.Group(str(p), tuple(d.name for d in load_definitions([p]))) for p in args.paths]
    groups += [
        report.Group(str(p), tuple(d.name for d in load_definitions([p])), gated=False) for p in args.ungated
    ]
    ungated = {name for g in groups if not g.gated for name in g.definitions}
    args.paths = [*args.paths, *args.ungated]
    pins = versions.load()
    for output in (args.json_path, args.junit, args.markdown):
        report.check_output(output)  # a folder or FIFO as a report path: exit 2 before any work
    if args.kuberay_versions:
        if "all" in args.kuberay_versions:
            if args.live:
                raise UserError("--live takes one pinned --kuberay-version, not all")
            args.kuberay_versions = list(pins.kuberay)
        args.kuberay_versions = list(dict.fromkeys(args.kuberay_versions))
        for version in args.kuberay_versions:
            pins.kuberay_version(version)  # exit 2 on an unknown one
    if args.corpus is not None and not args.replay:
        raise UserError("--corpus needs --replay")
    if args.replay and args.oracle:
        raise UserError("--oracle takes --static, --live or --snapshots; not --replay")
    if args.features is not None:
        if not args.live:
            raise UserError("--features needs --live")
        from conformance import inventory

        inventory.select(args.features)  # exit 2 on an unknown feature before any work
    if args.parallel is not None and not args.live:
        raise UserError("--parallel needs --live")
    snapshots: list[Snapshot] = []
    if args.static:
        from conformance.static.session import run_static

        verdicts = run_static(args.paths, args.fixtures, args.kuberay_versions)
        header = "karta-conformance static check: definitions against fixtures and KubeRay CRD schemas"
        meta = {"mode": "static", "kuberay_versions": args.kuberay_versions or list(pins.kuberay)}
        if args.oracle:
            from conformance.fixtures import load_fixtures
            from conformance.oracle.compare import fixture_snapshots

            snapshots = fixture_snapshots(load_fixtures(args.fixtures))
    elif args.flows is not None:
        from conformance.claims import frames
        from conformance.definition import load_definitions
        from conformance.flow import load_flows

        flows = load_flows(args.flows)
        verdicts = frames.judge(load_definitions(args.paths), flows)
        header = f"karta-conformance on saved flows: {len(flows)} flow(s) from {args.flows}"
        meta = {"mode": "flows", "flows": [f.scenario for f in flows]}
    elif args.replay:
        verdicts, header, meta = _replay(args.paths, args.kuberay_versions or list(pins.kuberay), args.corpus)
    elif args.snapshots is not None:
        from conformance.claims import live
        from conformance.definition import load_definitions

        definitions = load_definitions(args.paths)
        snapshots = load_snapshots(args.snapshots)
        verdicts = live.check(definitions, snapshots)
        header = f"karta-conformance on saved snapshots: {len(snapshots)} Snapshot(s) from {args.snapshots}"
        meta = {"mode": "snapshots", "snapshots": [f"{s.scenario}/{s.phase}" for s in snapshots]}
    else:
        from conformance.definition import load_definitions

        if args.kuberay_versions and len(args.kuberay_versions) > 1:
            raise UserError("--live takes one --kuberay-version")
        definitions = load_definitions(args.paths)  # bad input exits 2 before any cluster work
        session = live_session(args)
        selected = session.select(args.features)
        say(session.header)
        with session:
            run = session.run(definitions, selected=selected)
        verdicts, header, meta = run.verdicts, run.header, run.meta
        snapshots = run.result.snapshots
    oracle_line = None
    if args.oracle:
        from conformance.definition import load_definitions
        from conformance.oracle.compare import compare

        oracle = compare(load_definitions(args.paths), snapshots, karta_source=args.karta_source)
        verdicts = verdicts + oracle.verdicts
        oracle_line = oracle.line()
        meta = {
            **meta,
            "oracle": {
                "karta": oracle.oracle,
                "compared": oracle.compared,
                "disagreements": oracle.disagreements,
            },
        }
    if ungated:
        meta["ungated"] = sorted(ungated)
    rows = report.gate(verdicts, groups, strict=args.strict)
    report.write_reports(
        verdicts,
        header,
        meta,
        json_path=args.json_path,
        junit=args.junit,
        markdown_path=args.markdown,
        gate_rows=rows,
    )
    lines = report.text_lines(verdicts, header, rows)
    from conformance.claims.frames import summary_lines

    gated = [v for v in verdicts if v.definition not in ungated]
    if args.replay:  # per KubeRay version: the phases are labelled <version>/...
        summary = [
            f"{version}: {line}"
            for version in meta["kuberay_versions"]
            for line in summary_lines(v for v in gated if v.phase.startswith(f"{version}/"))
        ]
    else:
        summary = summary_lines(gated)
    for line in summary:
        lines.insert(-len(report.gate_lines(rows)), f"frames: {line}")
    if oracle_line:
        lines.insert(-len(report.gate_lines(rows)), oracle_line)
    written = [str(p) for p in (args.markdown, args.json_path, args.junit) if p]
    if written:
        lines.insert(-len(report.gate_lines(rows)), f"reports: {', '.join(written)}")
    print("\n".join(lines))
    return exit_code([v for v in verdicts if v.definition not in ungated], strict=args.strict)


def _replay(
    paths: Sequence[str | Path], wanted: list[str], root: Path | None
) -> tuple[list[Verdict], str, dict[str, Any]]:
    """``check --replay``: the definitions judged on the corpus of each wanted version; a version without
    one is UNVERIFIED for every definition, never skipped."""
    import time

    from conformance import replay
    from conformance.definition import load_definitions

    definitions = load_definitions(paths)
    if root is not None and not root.is_dir():
        raise UserError("corpus folder not found", where=str(root))
    folder = root or replay.SHIPPED
    found, missing = replay.chosen(
        folder, wanted
    )  # a corpus this harness cannot read: exit 2 before any work
    verdicts: list[Verdict] = []
    labels: list[str] = []
    corpora: dict[str, dict[str, Any]] = {}
    for version in wanted:
        started = time.monotonic()
        if version not in found:
            verdicts += replay.unrecorded(definitions, version)
            say(f"replay: {version}: no corpus recorded in {folder}")
            continue
        corpus = found[version]
        verdicts += corpus.replay(definitions)
        labels.append(corpus.label())
        corpora[version] = {
            "backend": corpus.backend,
            "recorded": corpus.recorded,
            "snapshots": len(corpus.snapshots),
            "flows": len(corpus.flows),
        }
        say(
            f"replay: {version}: {len(corpus.snapshots)} Snapshot(s), {len(corpus.flows)} flow(s) "
            f"({time.monotonic() - started:.1f} s)"
        )
    header = "karta-conformance replay of the recorded corpus: " + "; ".join(
        labels + ([f"no corpus for {', '.join(missing)}"] if missing else [])
    )
    meta: dict[str, Any] = {
        "mode": "replay",
        "kuberay_versions": wanted,
        "corpus": str(folder),
        "corpora": corpora,
        "missing": missing,
        "not_replayed": "the admission phase (admitted, lookup): it needs the API server",
    }
    return verdicts, header, meta


def load_snapshots(folder: Path) -> list[Snapshot]:
    """Every Snapshot JSON file directly in ``folder``, in name order; unreadable ones exit 2."""
    if not folder.is_dir():
        raise UserError("snapshots folder not found", where=str(folder))
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append(Snapshot.load(path))
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise UserError(f"not a saved Snapshot: {error}", where=str(path)) from None
    if not found:
        raise UserError("no Snapshot .json files in this folder", where=str(folder))
    return found


def _corpus(args: argparse.Namespace) -> int:
    from conformance import replay

    if args.corpus_command == "diff":
        drift = replay.diff(replay.Corpus.load(args.old), replay.Corpus.load(args.new))
        lines = drift.lines()
        print("\n".join(lines))
        from conformance.neutral import cell

        report.append_step_summary(
            f"## {cell(lines[0], 500)}\n\n"
            + "".join(f"- {cell(line, 1000)}\n" for line in lines[1:-1])
            + f"\n**{cell(lines[-1], 1000)}**\n"
        )
        return 1 if drift.drifted else 0
    return _record(args)


def _record(args: argparse.Namespace) -> int:
    """``corpus record``: one default live run, its corpus written only when it is whole and replays true."""
    import shutil
    import time

    from conformance import replay
    from conformance.definition import load_definitions
    from conformance.live.session import LiveSession, problems

    version = args.kuberay_version
    versions.load().kuberay_version(version)  # exit 2 on an unknown one
    definitions = load_definitions(args.paths)  # bad input exits 2 before any cluster work
    out = args.out or replay.SHIPPED
    if out.exists() and not out.is_dir():
        raise UserError("not a folder", where=str(out))
    session = LiveSession.for_cluster(
        args.cluster,
        version,
        args.kubeconfig,
        args.artifacts,
        name=args.cluster_name,
        node_image=args.kind_image,
        chart_source=args.chart,
        parallel=args.parallel,
    )
    say(session.header)
    with session:
        run = session.run(definitions)
    result = run.result
    target = out / version
    if result.failures:
        for failure in result.failures:
            say(f"corpus: {failure}")
        print(
            f"corpus of {version} not recorded: {len(result.failures)} scenario(s) broke (diagnostics in "
            f"{args.artifacts / 'diagnostics'}); {target} is left as it was"
        )
        return 1
    corpus = replay.Corpus(
        kuberay_version=version,
        backend=session.provider.name,
        recorded=time.strftime("%Y-%m-%d", time.gmtime()),
        snapshots=result.snapshots,
        flows=result.flows,
        verdicts=run.verdicts,
        problems=problems(result),
        left_out=dict(result.left_out),
        about={
            "kubernetes": session.provider.kubernetes_version,
            "description": session.header,
            "definitions": [str(p) for p in args.paths],
        },
    )
    staging = out / f".{version}.recording"
    shutil.rmtree(staging, ignore_errors=True)
    say(f"corpus: writing {len(result.snapshots)} Snapshot(s), {len(result.flows)} flow(s) ...")
    corpus.save(staging)
    # What is written must replay to what the live run said (but admission's, which needs the API server).
    replayed = replay.Corpus.load(staging, version).replay(definitions)
    live_outcomes = replay.outcomes(replay.replayable(run.verdicts))
    replayed_outcomes = replay.outcomes(replayed, strip=f"{version}/")
    differ = (replayed_outcomes - live_outcomes) + (live_outcomes - replayed_outcomes)
    if differ:
        shutil.rmtree(staging, ignore_errors=True)
        for (definition, claim, subject, phase), outcome in sorted(differ)[:20]:
            say(f"corpus: replay differs: {definition} {claim} {subject or '-'} [{phase}] {outcome}")
        print(
            f"corpus of {version} not recorded: its replay differs from the live run in {len(differ)} "
            f"verdict(s); {target} is left as it was"
        )
        return 1
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    rows = report.gate(
        run.verdicts, [report.Group(", ".join(map(str, args.paths)), tuple(d.name for d in definitions))]
    )
    print(
        f"corpus of {version} recorded in {target}: {len(result.snapshots)} Snapshot(s), {len(result.flows)} "
        f"flow(s), {len(run.verdicts)} verdict(s), {replay.size(target) / 1024:.0f} KiB; its replay gives the "
        f"live run's verdicts ({report.gate_counts(rows[0])})"
    )
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from conformance.backends import registry

    return registry.local_cluster_command(args.action, name=args.name, kuberay_version=args.kuberay_version)


def _ci(args: argparse.Namespace) -> int:
    from conformance.report import ci

    if args.ci_command == "matrix":
        matrix = ci.nightly_matrix()
        print(ci.github_output("matrix", matrix) if args.github_output else json.dumps(matrix, indent=2))
        return 0
    if args.ci_command == "versions":
        pinned = ci.pinned_versions()
        print(ci.github_output("versions", pinned) if args.github_output else json.dumps(pinned))
        return 0
    if args.ci_command == "live-needed":
        changed = args.files or [line.strip() for line in sys.stdin if line.strip()]
        needing = ci.live_needed(changed)
        if args.github_output:
            print(ci.github_output("live", bool(needing)))
        elif needing:
            print(
                f"the live leg is needed: {', '.join(needing[:10])}" + (" ..." if len(needing) > 10 else "")
            )
        else:
            print("the live leg is not needed: static and replay of the corpus cover these changes")
        return 0
    if args.ci_command == "features":
        table, data = ci.feature_matrix(args.reports)
        if args.json_path:
            report.write(args.json_path, json.dumps(data, indent=2) + "\n")
    else:
        table = ci.compatibility_table(args.reports)
    print(table, end="")
    if args.output:
        report.write(args.output, table)
    report.append_step_summary(table)
    return 0


def _tools(args: argparse.Namespace) -> int:
    from conformance.toolchain import tools

    if args.action == "install":
        for name in [args.name, *args.args] if args.name else list(versions.load().tools):
            print(tools.ensure(name))
        return 0
    if not args.name:
        raise UserError(f"tools {args.action}: name a tool ({', '.join(versions.load().tools)})")
    binary = tools.ensure(args.name)
    if args.action == "path":
        print(binary)
        return 0
    extra = args.args[1:] if args.args[:1] == ["--"] else args.args
    return subprocess.run([str(binary), *extra], check=False).returncode


def _images(args: argparse.Namespace) -> int:
    from conformance.backends import registry

    imagebuild = registry.offline_images()
    pins = versions.load()
    for version in args.kuberay_versions or []:
        pins.kuberay_version(version)  # exit 2 on an unknown one
    if args.action == "list":
        for tag, state in imagebuild.listing(args.kuberay_versions or [None]):
            print(f"{tag}\t{state}")
        return 0
    built = imagebuild.build_all(args.kuberay_versions or [None], with_node=not args.no_node)
    for item in built:
        print(
            f"{item.tag}\t{'reused' if item.reused else f'built in {item.seconds:.0f} s'}\t{item.size / 2**20:.0f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def live_session(args: argparse.Namespace) -> LiveSession:
    """The live session of ``check --live``'s arguments (the backend not started yet): the CLI's and the
    pytest plugin's one way to build it."""
    from conformance.live.session import LiveSession

    if args.kuberay_versions and len(args.kuberay_versions) > 1:
        raise UserError("--live takes one --kuberay-version")
    return LiveSession.for_cluster(
        args.cluster,
        args.kuberay_versions[0] if args.kuberay_versions else None,
        args.kubeconfig,
        args.artifacts or Path("artifacts"),
        name=args.cluster_name,
        node_image=args.kind_image,
        keep=args.keep_cluster,
        chart_source=args.chart,
        parallel=args.parallel,
        batch_scheduler=args.batch_scheduler,
    )
