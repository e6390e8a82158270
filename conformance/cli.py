"""The ``karta-conformance`` command line.

    karta-conformance check --static PATH...      definitions against fixtures and CRD schemas
    karta-conformance check --live PATH...        definitions against live objects (one shared scenario run)
    karta-conformance cluster up|down|status      the local backend's cluster
    karta-conformance ci matrix|compat            what the GitHub workflows compute
    karta-conformance tools install|path|run      pinned tools built from Go modules (actionlint, kind, helm)
    karta-conformance images build|list           the kind backend's offline images (no registry needed)

Exit codes: 0 all claims hold, 1 a claim is violated, 2 bad input or no cluster.
"""

from __future__ import annotations

import argparse
import json
import subprocess
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
    check.add_argument(
        "--kind-image",
        default=None,
        help="with --cluster kind: a pinned node image or Kubernetes version (default: the first pinned)",
    )
    check.add_argument(
        "--chart",
        default=None,
        help="with --cluster kind: install the KubeRay operator from this local chart folder or archive "
        "instead of the Helm repository ({version} becomes the KubeRay version; env KARTA_CONFORMANCE_CHART)",
    )
    check.add_argument(
        "--keep-cluster", action="store_true", help="with --cluster kind: keep the kind cluster afterwards"
    )
    check.add_argument("--junit", type=Path, default=None, help="write a JUnit XML report here")
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

    ci = commands.add_parser("ci", help="what the GitHub workflows compute")
    ci_commands = ci.add_subparsers(dest="ci_command", required=True)
    matrix = ci_commands.add_parser("matrix", help="the nightly matrix (KubeRay x kind node image) as JSON")
    matrix.add_argument(
        "--github-output", action="store_true", help="print `matrix=<json>` for $GITHUB_OUTPUT"
    )
    compat = ci_commands.add_parser("compat", help="compatibility table (Markdown) from live JSON reports")
    compat.add_argument("reports", nargs="+", type=Path, metavar="REPORT")
    compat.add_argument("--output", type=Path, default=None, help="also write the table here")

    tool = commands.add_parser("tools", help="pinned tools built from their Go modules into the cache")
    tool.add_argument("action", choices=["install", "path", "run"])
    tool.add_argument("name", nargs="?", help="actionlint, kind or helm (install: all when omitted)")
    tool.add_argument("args", nargs=argparse.REMAINDER, help="with run: the tool's arguments")

    image = commands.add_parser(
        "images", help="the kind backend's offline images, built with the local Docker"
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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "cluster":
            return _cluster(args)
        if args.command == "ci":
            return _ci(args)
        if args.command == "tools":
            return _tools(args)
        if args.command == "images":
            return _images(args)
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
            node_image=args.kind_image,
            keep=args.keep_cluster,
            chart_source=args.chart,
        )
    print("\n".join(report.text_lines(verdicts, header)))
    if args.json_path:
        report.write_json(args.json_path, verdicts, meta)
    if args.junit:
        report.write_junit(args.junit, verdicts, "karta-conformance " + ("static" if args.static else "live"))
    summary = report.markdown(verdicts, header)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(summary)
    report.append_step_summary(summary)
    return exit_code(verdicts, strict=args.strict)


def _cluster(args: argparse.Namespace) -> int:
    from conformance.local.commands import cluster_command

    return cluster_command(args.action, name=args.name, kuberay_version=args.kuberay_version)


def _ci(args: argparse.Namespace) -> int:
    from conformance import ci

    if args.ci_command == "matrix":
        matrix = ci.nightly_matrix()
        print(ci.github_output("matrix", matrix) if args.github_output else json.dumps(matrix, indent=2))
        return 0
    table = ci.compatibility_table(args.reports)
    print(table, end="")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table)
    report.append_step_summary(table)
    return 0


def _tools(args: argparse.Namespace) -> int:
    from conformance import tools

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
    from conformance.kind import imagebuild

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
