"""`mmpipe`: the project's command line. `mmpipe local run PATH...` runs the synthesized
pipeline offline, end to end (see DESIGN.md, "Local mode"); `mmpipe cost DIR` and
`mmpipe cost --stack NAME [--since DATE]` summarize what items cost (mmpipe/cost.py);
`mmpipe search QUERY --local DIR | --stack NAME` finds processed items (mmpipe/search.py).

Exit status of `local run`: 0 every input ended with exactly one record and nothing was refused;
1 some did not; 2 usage; 3 set-up (synth) failed; 4 every input ended, but the synthesized
roles were refused calls an `--inject deny` did not ask for."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

EXIT_OK = 0
EXIT_NOT_TERMINAL = 1
EXIT_USAGE = 2
EXIT_SETUP = 3
EXIT_ACCESS_DENIED = 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmpipe", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run the pipeline on this machine")
    local_commands = local.add_subparsers(dest="local_command", required=True)
    run = local_commands.add_parser(
        "run",
        help="run files and bundle folders through the synthesized pipeline, offline",
        description="Synthesize the app, create its resources in an in-process AWS emulation "
        "(moto), upload the inputs to the ingest bucket and let the same state "
        "machine and Lambda handlers process them.",
    )
    run.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="a file, a bundle folder (with manifest.json), or a folder of them",
    )
    run.add_argument(
        "--out",
        type=Path,
        default=Path("local-out"),
        help="where results, records and histories go (default ./local-out)",
    )
    run.add_argument(
        "--providers",
        choices=("local", "stub"),
        default="local",
        help="local: offline speech recognition, OCR, the real alignment job; "
        "stub: fast deterministic stand-ins (tests)",
    )
    run.add_argument(
        "--inject",
        metavar="SPEC",
        default=None,
        help="faults, e.g. bedrock-throttle=0.3,transcribe-fail,sagemaker-fail,"
        "model-malformed,lambda-raise=fusion; quota=SERVICE:N lowers an emulated account "
        "quota for the run (SERVICE: bedrock, bedrock-tokens, transcribe, sagemaker, lambda, "
        "sfn), e.g. quota=transcribe:2,quota=lambda:20 (all: mmpipe/local/faults.py)",
    )
    run.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="factor applied to Retry intervals and Wait states (default 0.01)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="give up on items not finished after this many seconds (default 900)",
    )
    run.add_argument(
        "--concurrency", type=int, default=16, help="executions in flight at once (default 16)"
    )
    run.add_argument(
        "--executions",
        choices=("all", "problems", "none"),
        default=None,
        help="which execution views to print (default: all for up to 12 items, else problems)",
    )
    run.add_argument(
        "--cdk-out",
        type=Path,
        default=None,
        metavar="DIR",
        help="run this already synthesized cloud assembly (what you are about to "
        "deploy) instead of synthesizing the app",
    )
    run.add_argument(
        "--config",
        type=_pipeline_json,
        default=None,
        metavar="JSON",
        help="pipeline configuration merged over cdk.json's before synthesizing, as "
        "`cdk synth -c pipeline=...` would set it, e.g. "
        '\'{"quotas": {"transcribe_concurrent_jobs": 2}}\'',
    )
    run.add_argument(
        "--tree",
        action="store_true",
        help="PATH is one folder laid out as the ingest prefix: each file goes to the key its "
        "path names (bundles/<folder>/..., nested folders, any name), manifests last",
    )
    run.add_argument(
        "--no-iam",
        action="store_true",
        help="debugging only: do not enforce the synthesized IAM policies "
        "(on by default, as on AWS)",
    )
    cost = commands.add_parser(
        "cost",
        help="what items cost, per kind, beside Bedrock Data Automation's prices",
        description="Summarize the cost of each item (ItemResult.cost) per kind: from a local "
        "run's folder, or from a deployment's results through Athena.",
    )
    cost.add_argument(
        "folder",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="a local run's --out folder (or any folder of result JSONs)",
    )
    cost.add_argument("--stack", metavar="NAME", help="a deployed stack: query its results")
    cost.add_argument(
        "--since",
        type=date.fromisoformat,
        metavar="DATE",
        help="with --stack: results written on or after this day (YYYY-MM-DD)",
    )
    cost.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cost.add_argument("--workgroup", default="primary", help="with --stack: the Athena workgroup")
    cost.add_argument(
        "--output-location",
        metavar="S3_URI",
        help="with --stack: where Athena writes the query's result "
        "(default s3://<processed bucket>/athena-results/)",
    )
    cost.add_argument("--region", help="with --stack: the stack's region")
    _search_parser(commands)
    return parser


def _search_parser(commands: Any) -> None:
    from pipeline_contracts.search import MAX_TOP_K, SEARCH_MODALITIES  # noqa: PLC0415

    search = commands.add_parser(
        "search",
        help="find processed items by words or by an image",
        description="Search everything processed (S3 Vectors), through the search function "
        "the stack deploys: on a deployment (--stack) or in a local run's folder (--local).",
    )
    search.add_argument("query", nargs="?", help="words to look for")
    search.add_argument("--image", type=Path, metavar="FILE", help="find what looks like it")
    search.add_argument(
        "--modality",
        action="append",
        choices=SEARCH_MODALITIES,
        metavar="M",
        help=f"only these (repeatable): {', '.join(SEARCH_MODALITIES)}",
    )
    search.add_argument("--item", metavar="ITEM_ID", help="only within this item")
    search.add_argument(
        "--top", type=int, default=5, metavar="K", help=f"how many hits (1-{MAX_TOP_K})"
    )
    search.add_argument("--json", action="store_true", help="print the hits as a JSON list")
    where = search.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", metavar="NAME", help="a deployed stack")
    where.add_argument("--local", type=Path, metavar="DIR", help="a local run's --out folder")
    search.add_argument("--region", help="with --stack: the stack's region")


def _run_cost(args: argparse.Namespace, console: Console) -> int:
    from mmpipe import cost  # noqa: PLC0415

    if (args.folder is None) == (args.stack is None):
        console.print("[red]mmpipe cost takes a folder or --stack NAME (one of them)[/]")
        return EXIT_USAGE
    without_cost = 0
    if args.folder is not None:
        if args.since is not None:
            console.print("[red]--since goes with --stack[/]")
            return EXIT_USAGE
        if not args.folder.is_dir():
            console.print(f"[red]no such folder: {args.folder}[/]")
            return EXIT_USAGE
        rows, without_cost = cost.rows_from_dir(args.folder)
        source = str(args.folder)
    else:
        import boto3  # noqa: PLC0415

        session = boto3.session.Session(region_name=args.region)
        try:
            rows = cost.rows_from_athena(
                session.client("athena"),
                session.client("cloudformation"),
                args.stack,
                args.since,
                workgroup=args.workgroup,
                output_location=args.output_location,
            )
        except (cost.AthenaQueryFailed, KeyError) as error:
            console.print(f"[red]{error}[/]")
            return EXIT_NOT_TERMINAL
        source = f"stack {args.stack}" + (f" since {args.since}" if args.since else "")
    if args.json:
        print(cost.as_json(rows, without_cost))
        return EXIT_OK
    # Nine columns of dollars: wider than the 80 columns rich assumes off a terminal.
    console = Console(width=max(console.width, 110))
    console.print(_cost_table(cost.summarize(rows), source))
    report = cost.report(rows, without_cost)
    anchors = ", ".join(f"${a['usd']:g} per {a['per']}" for a in report["anchors"].values())
    console.print(
        f"Bedrock Data Automation, standard output: {anchors} (a document counted as one "
        f"page). Prices as of: {', '.join(report['prices_as_of']) or '-'}."
    )
    if without_cost:
        console.print(f"[yellow]{without_cost} result(s) without a cost were left out[/]")
    return EXIT_OK


def _cost_table(summaries: list[Any], source: str) -> Table:
    from mmpipe.cost import usd  # noqa: PLC0415

    table = Table(title=f"Cost per item kind ({source})")
    for column in ("Kind", "Items", "Mean", "Total", "AI", "Orch.", "Orch. share"):
        table.add_column(column, justify="left" if column == "Kind" else "right")
    table.add_column("BDA mean, same items", justify="right")
    for summary in summaries:
        anchored_mean = None if summary.bda_usd is None else summary.bda_usd / summary.items
        table.add_row(
            summary.kind,
            str(summary.items),
            usd(summary.mean_usd),
            usd(summary.total_usd),
            usd(summary.ai_usd),
            usd(summary.orchestration_usd),
            f"{summary.orchestration_share:.1%}",
            usd(anchored_mean),
            style="bold" if summary.kind == "all" else None,
        )
    return table


def _pipeline_json(text: str) -> dict[str, object]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("a JSON object of pipeline settings")
    return value


def _run_local(args: argparse.Namespace, console: Console) -> int:
    from mmpipe.local.faults import FaultSpecError, parse_faults  # noqa: PLC0415
    from mmpipe.local.run.runner import DEFAULT_TIME_SCALE, LocalRun  # noqa: PLC0415
    from mmpipe.local.synth import SynthError, assembly_problem, synthesized  # noqa: PLC0415
    from mmpipe.local.view import (  # noqa: PLC0415
        ConsoleProgress,
        execution_tree,
        places_table,
        refusals_table,
    )

    try:
        faults = parse_faults(args.inject)
    except FaultSpecError as error:
        console.print(f"[red]--inject: {error}[/]")
        return EXIT_USAGE
    if args.tree and (len(args.paths) != 1 or not args.paths[0].is_dir()):
        console.print("[red]--tree takes exactly one folder[/]")
        return EXIT_USAGE
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        console.print(f"[red]no such file or folder: {', '.join(missing)}[/]")
        return EXIT_USAGE
    if faults.deny and args.no_iam:
        console.print("[red]--inject deny=... needs IAM enforcement: drop --no-iam[/]")
        return EXIT_USAGE
    scale = DEFAULT_TIME_SCALE if args.time_scale is None else args.time_scale
    started = time.monotonic()
    if args.cdk_out is not None and args.config is not None:
        console.print("[red]--config applies at synth; --cdk-out is already synthesized[/]")
        return EXIT_USAGE
    if args.cdk_out is not None:
        problem = assembly_problem(args.cdk_out)
        if problem:
            console.print(f"[red]--cdk-out {args.cdk_out}: {problem}[/]")
            return EXIT_USAGE
        cdk_out, origin = args.cdk_out, "given with --cdk-out"
        cached = True
    else:
        try:
            with console.status("Synthesizing the CDK app (cached after the first run)…"):
                cdk_out, cached = synthesized(pipeline=args.config)
        except SynthError as error:
            console.print(f"[red]{error}[/]")
            return EXIT_SETUP
        origin = "cached" if cached else f"synthesized in {time.monotonic() - started:.1f}s"
    iam = (
        "[red]off[/] (--no-iam: calls the roles would refuse go through)"
        if args.no_iam
        else "enforced: each function, the state machine and the jobs act with their "
        "synthesized roles"
    )
    console.print(
        Panel.fit(
            f"cdk.out: {cdk_out} ({origin})\n"
            f"IAM: {iam}\n"
            f"providers: {args.providers} (stand-ins are labelled provider={args.providers} "
            "in every result)\n"
            f"time scale: ×{scale:g} on Retry intervals, Wait states and callback waits\n"
            f"faults: {faults.describe()}",
            title="mmpipe local run: the synthesized pipeline, offline (moto)",
        )
    )
    progress = ConsoleProgress(console)
    # moto logs every caught state error at WARNING; the execution view shows them properly.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    try:
        report = LocalRun(
            cdk_out,
            args.out,
            providers=args.providers,
            faults=faults,
            time_scale=scale,
            timeout_s=args.timeout,
            concurrency=args.concurrency,
            progress=progress,
            synth_cached=cached,
            iam=not args.no_iam,
            tree=args.tree,
        ).run(args.paths)
    finally:
        progress.stop()
    which = args.executions or ("all" if len(report.outcomes) <= 12 else "problems")
    for outcome in report.outcomes:
        if which == "all" or (which == "problems" and outcome.place != "processed"):
            console.print(execution_tree(outcome, report.definition))
    console.print(places_table(report))
    if report.refusals:
        console.print(refusals_table(report))
    console.print(
        f"Results, records and execution histories: [bold]{report.out_dir}[/] "
        f"({len(report.outcomes)} items in {report.elapsed_s:.1f}s)"
    )
    unexpected = [r for r in report.refusals if r.decision.name != "DENIED_BY_SCP"]
    if report.ok and unexpected:
        # Every item ended somewhere, but the deployed stack would be refused these calls.
        console.print(
            f"[red]{len(unexpected)} call(s) refused by the synthesized roles "
            "(see the table above and access-denied.jsonl): the stack as deployed "
            "lacks these permissions[/]"
        )
        return EXIT_ACCESS_DENIED
    if report.ok:
        return EXIT_OK
    for outcome in report.unfinished:
        console.print(f"[red]not terminal:[/] {outcome.input}: {outcome.error}: {outcome.cause}")
    console.print(
        f"[red]{len(report.unfinished)} of {len(report.outcomes)} inputs did not reach "
        "a terminal place[/]"
    )
    return EXIT_NOT_TERMINAL


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console()
    if args.command == "local" and args.local_command == "run":
        return _run_local(args, console)
    if args.command == "cost":
        return _run_cost(args, console)
    if args.command == "search":
        from mmpipe.search import run_search  # noqa: PLC0415

        return run_search(args, console)
    return EXIT_USAGE  # pragma: no cover - argparse requires a known command


if __name__ == "__main__":
    sys.exit(main())
