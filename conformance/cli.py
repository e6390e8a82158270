"""The ``karta-conformance`` command line.

    karta-conformance check --static PATH...      definitions against fixtures and CRD schemas
    karta-conformance check --live PATH...        definitions against live objects (one shared scenario run)
    karta-conformance cluster up|down|status      the local backend's cluster

Exit codes: 0 all claims hold, 1 a claim is violated, 2 bad input or no cluster.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance import report, versions
from conformance.errors import UserError
from conformance.verdict import exit_code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="karta-conformance", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="check definitions (static or live)")
    mode = check.add_mutually_exclusive_group(required=True)
    mode.add_argument("--static", action="store_true", help="no cluster: fixtures and CRD schemas")
    mode.add_argument(
        "--live", action="store_true", help="against a live cluster with KubeRay (one shared scenario run)"
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="definition files or folders")
    check.add_argument("--fixtures", type=Path, default=None, help="fixtures folder (default: fixtures/)")
    check.add_argument(
        "--kuberay-version",
        action="append",
        dest="kuberay_versions",
        help="KubeRay version(s) to check against (repeatable; static default: all supported, live: the default)",
    )
    check.add_argument(
        "--cluster",
        default="auto",
        help="live backend: auto (kind if Docker answers, else local), local, kind, existing",
    )
    check.add_argument("--kubeconfig", default=None, help="with --cluster existing: the kubeconfig to use")
    check.add_argument("--json", dest="json_path", type=Path, default=None, help="write the JSON report here")
    check.add_argument("--markdown", type=Path, default=None, help="write the Markdown summary here")
    check.add_argument(
        "--strict",
        action="store_true",
        help="treat checks this machine cannot verify (e.g. missing CRDs) as failures",
    )
    check.add_argument("--artifacts", type=Path, default=None, help="folder for logs and diagnostics")

    cluster = commands.add_parser("cluster", help="manage the local backend's cluster")
    cluster.add_argument("action", choices=["up", "down", "status"])
    cluster.add_argument(
        "--provider", default="local", choices=["local"], help="only the local backend is managed here"
    )
    cluster.add_argument(
        "--kuberay-version", default=None, help="KubeRay version to run (default: the pinned default)"
    )
    cluster.add_argument("--name", default="karta", help="cluster name (several can run side by side)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "cluster":
            return _cluster(args)
    except UserError as error:
        print(f"karta-conformance: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("karta-conformance: interrupted", file=sys.stderr)
        return 130
    return 2


def _check(args: argparse.Namespace) -> int:
    pins = versions.load()
    if args.kuberay_versions:
        for version in args.kuberay_versions:
            pins.kuberay_version(version)  # exit 2 on an unknown one
    if args.static:
        from conformance.static_run import run_static

        verdicts = run_static(args.paths, args.fixtures, args.kuberay_versions)
        header = "karta-conformance static check: definitions against fixtures and KubeRay CRD schemas"
        meta = {"mode": "static", "kuberay_versions": args.kuberay_versions or list(pins.kuberay)}
    else:
        from conformance.live_run import run_live

        if args.kuberay_versions and len(args.kuberay_versions) > 1:
            raise UserError("--live takes one --kuberay-version")
        artifacts = args.artifacts or Path("artifacts")
        verdicts, header, meta = run_live(
            args.paths,
            args.cluster,
            args.kuberay_versions[0] if args.kuberay_versions else None,
            args.kubeconfig,
            artifacts,
        )
    print("\n".join(report.text_lines(verdicts, header)))
    if args.json_path:
        report.write_json(args.json_path, verdicts, meta)
    summary = report.markdown(verdicts, header)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(summary)
    report.append_step_summary(summary)
    return exit_code(verdicts, strict=args.strict)


def _cluster(args: argparse.Namespace) -> int:
    from conformance.local.commands import cluster_command

    return cluster_command(args.action, name=args.name, kuberay_version=args.kuberay_version)


if __name__ == "__main__":
    raise SystemExit(main())
