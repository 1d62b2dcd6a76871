"""The `flexsim` command line: a thin layer over `flexsim.api`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flexsim import __version__
from flexsim.defaults import DEFAULT_ENGINE, DEFAULT_OBJECTIVE, ENGINES, OBJECTIVES
from flexsim.errors import CalibrationError, FlexsimError, OptimizeError, UsageError
from flexsim.scenario import limits

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from flexsim.history.calibrate import Calibration
    from flexsim.history.tokenflex import TokenFlexCalibration
    from flexsim.output.files import Kind

    # (path, content, kind) of one output file; content may come as a stream of text pieces
    Output = tuple[str, str | bytes | Iterable[str], Kind]


def _whole(least: int, words: str, most: int | None = None):
    """An argparse type: a whole number from `least` to `most`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {_short(text)!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be {words}, got {value}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"at most {most:,} (see what-flexsim-refuses.md), got {value:,}")
        return value

    return parse


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _name(text: str) -> str:
    """An argparse type: a name a file can store (a shell can pass bytes that are not UTF-8)."""
    if "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise argparse.ArgumentTypeError("holds bytes that are not UTF-8 text: retype the name")
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a name, got an empty text")
    return text


_positive_int = _whole(1, "at least 1")
_runs = _whole(1, "at least 1", limits.INTEGERS["runs"])
_seed = _whole(0, "0 or more", limits.ANY_INTEGER)
_lead = _whole(0, "0 or more", limits.INTEGERS["lead_days"])


def _probability(text: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.strip().endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability like 0.05, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        from flexsim.scenario.hints import percent_hint

        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}{percent_hint(text)}")
    return value


def _memory(text: str) -> int:
    from flexsim.engine.memory import MemoryBudgetError, parse_memory

    try:
        return parse_memory(text)
    except MemoryBudgetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _common(cmd: argparse.ArgumentParser, what: str, default: str = "the file's") -> None:
    """The options every simulating command shares."""
    cmd.add_argument("--runs", type=_runs, help=f"number of runs (default: {default})")
    cmd.add_argument("--seed", type=_seed, help=f"root random seed (default: {default})")
    _where(cmd)
    cmd.add_argument("--json", metavar="OUT.json", help=f"write {what} as JSON")
    cmd.add_argument("--quiet", action="store_true", help="no summary, table or progress bar")
    _force(cmd)


def _force(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--force",
        action="store_true",
        help="replace output files that exist but are not earlier flexsim outputs of the same kind",
    )


def _raw_csv(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--raw-csv",
        action="store_true",
        help="write CSV/XLSX cells as they are (by default a text starting with = + - @ gets a "
        "leading ' so that spreadsheets never run it as a formula)",
    )


SCHEDULER_ENV = "FLEXSIM_SCHEDULER"


def _where(cmd: argparse.ArgumentParser) -> None:
    """Where the runs are computed: local processes, or a Dask cluster."""
    cmd.add_argument("--workers", type=_positive_int, help="local processes (default 1)")
    cmd.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"run on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://10.0.0.5:8786 "
        f"(default: ${SCHEDULER_ENV}; needs flexsim[dask]); same results as a local run",
    )


@contextmanager
def _executor(args) -> Iterator[None]:
    """Set args.workers and args.executor (None: local) for the simulating commands.

    --scheduler, else $FLEXSIM_SCHEDULER unless --workers is given, picks a Dask cluster.
    """
    if not hasattr(args, "scheduler"):
        yield
        return
    if args.scheduler and args.workers:
        raise UsageError("--workers is for local processes: give it or --scheduler, not both")
    address = args.scheduler or (None if args.workers else os.environ.get(SCHEDULER_ENV, "").strip() or None)
    args.workers = args.workers or 1
    if address is None:
        args.executor = None
        yield
        return
    from flexsim.engine.executors import DaskExecutor

    args.executor = DaskExecutor(address)
    try:
        yield
    finally:
        args.executor.shutdown()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flexsim",
        description="Forecast an Autodesk Flex token pool: run-out dates, expiry waste, what to buy.",
    )
    parser.add_argument("--version", action="version", version=f"flexsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="simulate a scenario and summarise the forecast")
    run.add_argument("scenario", metavar="SCENARIO.yaml")
    _common(run, "the summary")
    run.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="simpy: the model of record; fast: same results, quicker; auto (default)",
    )
    run.add_argument("--runs-csv", metavar="OUT.csv", help="write one row per (run, pool)")
    run.add_argument(
        "--target-risk",
        type=_probability,
        default=0.05,
        metavar="P",
        help="the run-out risk the recommendation keeps each pool under, with 95%% confidence "
        "(0.05 or 5%%; default 5%%)",
    )
    run.add_argument(
        "--lead-days",
        type=_lead,
        metavar="DAYS",
        help="workdays from ordering a top-up to its arrival (default: the pool's reorder "
        "lead_days, else 10)",
    )
    run.add_argument(
        "--report",
        metavar="DIR",
        help="write DIR/report.html (self-contained) and its charts as PNG files (needs flexsim[report])",
    )
    run.add_argument(
        "--daily-csv",
        metavar="OUT.csv",
        help="write the balance at the end of each day per pool (mean, P10/P50/P90)",
    )
    run.add_argument(
        "--precision",
        type=_probability,
        metavar="P",
        help="add runs (up to --runs) until the run-out probability is known to +-P "
        "and mean tokens consumed to +-P x the mean (95%%)",
    )
    run.add_argument(
        "--memory",
        type=_memory,
        metavar="SIZE",
        help="memory each process may use, e.g. 1GB or 512MB (default 1GB): sets how many runs "
        "are simulated together; the results are the same whatever it is",
    )
    _raw_csv(run)

    opt = sub.add_parser("optimize", help="find the best size for one pack (same runs for every size)")
    opt.add_argument("scenario", metavar="SCENARIO.yaml")
    _common(opt, "the candidates")
    opt.add_argument("--lot", metavar="NAME", help="the pack whose size varies")
    opt.add_argument(
        "--sizes", metavar="START:STOP:STEP", help="sizes to try: START:STOP:STEP (inclusive) or a comma list"
    )
    opt.add_argument(
        "--reorder-below",
        metavar="LEVELS",
        help="top-up levels to try, e.g. 10%%,20%%,30%% or 500,1000 (tokens)",
    )
    opt.add_argument("--reorder-tokens", metavar="SIZES", help="top-up sizes to try, e.g. 500,1000")
    opt.add_argument(
        "--reorder-lead",
        type=_lead,
        metavar="DAYS",
        help="top-up lead time in workdays (default: the scenario's, else 0)",
    )
    opt.add_argument(
        "--pool",
        help="pool whose top-up policy varies (default: the pack's pool, "
        "else the pool of the only reorder rule, else the first pool)",
    )
    opt.add_argument(
        "--chart",
        metavar="OUT.png",
        help="chart of cost and run-out risk by candidate (needs flexsim[report])",
    )
    opt.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=DEFAULT_OBJECTIVE,
        help="cost (default): lowest expected total cost; service: smallest size "
        "(or, when policies vary, cheapest candidate) whose run-out "
        "probability is at most --max-run-out",
    )
    opt.add_argument(
        "--max-run-out",
        type=_probability,
        default=0.05,
        metavar="P",
        help="run-out probability limit for --objective service (default 0.05)",
    )

    cmp_ = sub.add_parser("compare", help="what-if: the same runs through several purchase plans")
    cmp_.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO.yaml",
        help="two or more scenarios; the first is the baseline",
    )
    _common(cmp_, "the comparison", "the first file's")

    adv = sub.add_parser("advise", help="Flex or subscription, person by person, and the plan")
    adv.add_argument("scenario", metavar="SCENARIO.yaml")
    _common(adv, "the advice")
    adv.add_argument(
        "--threshold",
        type=_probability,
        metavar="P",
        help="recommend a subscription when it is cheaper with probability above P "
        "(default: costs.subscription_threshold, else 0.5)",
    )
    adv.add_argument("--csv", metavar="OUT.csv", help="write one row per person and product")
    adv.add_argument(
        "--lot", metavar="NAME", help="also say how the best size of this pack changes with the plan"
    )
    adv.add_argument("--sizes", metavar="START:STOP:STEP", help="sizes to try for --lot")
    adv.add_argument(
        "--chart",
        metavar="OUT.png",
        help="chart of days of use per person against the break-even line (needs flexsim[report])",
    )
    _raw_csv(adv)

    val = sub.add_parser("validate", help="check a scenario file and say what it holds")
    val.add_argument("scenario", metavar="SCENARIO.yaml")
    _history_commands(sub)
    _init_command(sub)
    _teach(sub)
    return parser


EXAMPLES_HELP = {
    "run": (
        "Simulate the scenario many times and summarise the forecast per pool: the run-out risk and "
        "dates, tokens consumed, expiring and left, blocked days, spend, and What to do (the smallest "
        "top-up that holds the run-out risk under --target-risk, and when to order it).",
        [
            "flexsim run scenarios/small-studio.yaml",
            "flexsim run my-pool.yaml --runs 2000 --target-risk 2% --lead-days 15",
            "flexsim run my-pool.yaml --report out/ --json forecast.json   # report needs flexsim[report]",
        ],
        "docs/how-to/read-your-forecast.md",
    ),
    "optimize": (
        "Try many sizes of one pack (and/or top-up policies) on the same simulated runs, and "
        "recommend one: the lowest expected total cost, or the smallest size whose run-out risk is "
        "within --max-run-out with 95% confidence. Lists the sizes statistically as good.",
        [
            "flexsim optimize scenarios/small-studio.yaml --lot 'FY27 bundle' --sizes 5000:8000:250 "
            "--objective service",
            "flexsim optimize scenarios/one-big-bundle.yaml --lot 'FY27 bundle' --sizes 15000:22000:500",
            "flexsim optimize scenarios/start-small.yaml --reorder-below 10%,20% --reorder-tokens 500,1000",
        ],
        "docs/how-to/size-your-purchase.md",
    ),
    "compare": (
        "Run two or more purchase plans on the same simulated people and compare them to the first.",
        ["flexsim compare scenarios/one-big-bundle.yaml scenarios/start-small.yaml"],
        "docs/how-to/compare-purchase-plans.md",
    ),
    "advise": (
        "Flex or a named-user subscription, person by person, over a simulated year, and the plan "
        "re-simulated with the movers. Needs subscription prices (`subscriptions:`) and a one-year "
        "horizon.",
        [
            "flexsim advise scenarios/two-teams.yaml",
            "flexsim advise my-pool.yaml --threshold 0.7 --csv who.csv",
        ],
        "docs/how-to/who-should-get-a-subscription.md",
    ),
    "validate": (
        "Check a scenario file and say what it holds; errors name the file, line and key.",
        ["flexsim validate my-pool.yaml"],
        "docs/reference/scenario.md",
    ),
    "calibrate": (
        "Turn Autodesk Account's Token Usage export (and your packs) into a scenario.",
        [
            "flexsim calibrate usage.csv --packs packs.csv -o my-pool.yaml",
            "flexsim calibrate usage.xlsx -o my-pool.yaml   # .xlsx needs flexsim[xlsx]",
            "flexsim calibrate tokenflex.csv --backtest 6 -o my-pool.yaml   # the enterprise export",
        ],
        "docs/tutorial-from-export.md",
    ),
    "backtest": (
        "Fit on the history before a date, forecast the rest, and compare with what happened.",
        [
            "flexsim backtest usage.csv --split 2026-07-01",
            "flexsim backtest usage.csv --folds 4 --horizon 90",
        ],
        "docs/tutorial-from-export.md",
    ),
    "synth-export": (
        "Write one simulated run of a scenario as a Token Usage export (to try calibrate and backtest).",
        ["flexsim synth-export scenarios/two-teams.yaml -o usage.csv --privacy hashed"],
        "docs/tutorial-from-export.md",
    ),
    "init": (
        "Write a commented starter scenario from one of the shipped examples, to edit.",
        ["flexsim init -o my-pool.yaml", "flexsim init --example two-teams -o my-pool.yaml"],
        "docs/tutorial.md",
    ),
}


def _teach(sub) -> None:
    """Every sub-command's --help: a description, examples and the docs page to read."""
    for name, cmd in sub.choices.items():
        if name not in EXAMPLES_HELP:
            continue
        description, examples, page = EXAMPLES_HELP[name]
        cmd.description = description
        cmd.epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples) + f"\n\nmore: {page}"
        cmd.formatter_class = argparse.RawDescriptionHelpFormatter


def _examples() -> dict[str, Traversable]:
    """The shipped example scenarios (package data): name -> file."""
    from importlib.resources import files

    folder = files("flexsim") / "examples"
    return {
        f.name[:-5]: f for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".yaml")
    }


def _init_command(sub) -> None:
    init = sub.add_parser("init", help="write a commented starter scenario to edit")
    init.add_argument(
        "--example",
        default="small-studio",
        metavar="NAME",
        help="the example to start from (default: small-studio); one of: " + ", ".join(_examples()),
    )
    init.add_argument("-o", "--output", required=True, metavar="SCENARIO.yaml", help="the file to write")


def _date(text: str):
    """An argparse type: a date written YYYY-MM-DD."""
    from datetime import date

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-03-01, got {text!r}") from None


def _history_commands(sub) -> None:
    """calibrate, backtest and synth-export: from a Token Usage export to a scenario, and back."""
    cal = sub.add_parser("calibrate", help="turn a Token Usage export into a scenario")
    cal.add_argument(
        "usage",
        metavar="USAGE.csv",
        help="Autodesk Account's Token Usage export, or the enterprise Token Flex export (CSV or XLSX)",
    )
    cal.add_argument(
        "--packs",
        metavar="PACKS.csv",
        help="your packs: name, date, tokens, price (optionally expires, pool, remaining)",
    )
    cal.add_argument(
        "--start",
        type=_date,
        metavar="DATE",
        help="first forecast day (default: the day after the last usage date)",
    )
    cal.add_argument(
        "--end",
        type=_date,
        metavar="DATE",
        help="last forecast day (default: one year after start, less a day)",
    )
    cal.add_argument("--name", type=_name, help="the scenario's name (default: from the export's file name)")
    cal.add_argument(
        "--backtest",
        type=_positive_int,
        metavar="K",
        help="also backtest over K split dates and record how the forecast did (provenance:)",
    )
    cal.add_argument(
        "--backtest-runs",
        type=_positive_int,
        default=200,
        metavar="N",
        help="runs per backtest fold (default 200)",
    )
    cal.add_argument("-o", "--output", required=True, metavar="SCENARIO.yaml", help="the scenario to write")
    cal.add_argument("--quiet", action="store_true", help="no summary (notes and warnings still show)")
    _force(cal)

    bt = sub.add_parser("backtest", help="forecast the past from a Token Usage export and compare")
    bt.add_argument(
        "usage",
        metavar="USAGE.csv",
        help="Autodesk Account's Token Usage export, or the enterprise Token Flex export (CSV or XLSX)",
    )
    bt.add_argument(
        "--split", type=_date, metavar="DATE", help="fit on the rows before DATE, forecast the rest"
    )
    bt.add_argument(
        "--folds",
        type=_positive_int,
        metavar="K",
        help="instead of --split: K split dates spread over the history, and the coverage",
    )
    bt.add_argument(
        "--horizon",
        type=_whole(1, "at least 1", limits.MAX_DAYS),
        metavar="DAYS",
        help="forecast DAYS days after each split (default: to the end of the file)",
    )
    bt.add_argument("--runs", type=_runs, default=1000, help="runs per forecast (default 1000)")
    bt.add_argument("--seed", type=_seed, default=1, help="root random seed (default 1)")
    _where(bt)
    bt.add_argument("--json", metavar="OUT.json", help="write the comparison as JSON")
    bt.add_argument("--quiet", action="store_true", help="no summary or progress bar")
    _force(bt)

    syn = sub.add_parser("synth-export", help="write one simulated run as a Token Usage export")
    syn.add_argument("scenario", metavar="SCENARIO.yaml")
    syn.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="USAGE.csv",
        help="the export to write (.csv, or .xlsx: needs flexsim[xlsx])",
    )
    syn.add_argument(
        "--style",
        choices=("current", "snake", "camel", "tokenflex"),
        default="current",
        help="column names: current (default), snake (older exports), camel (Insights API); "
        "tokenflex: the enterprise Token Flex export (per pool, product and day, no users)",
    )
    syn.add_argument(
        "--privacy",
        choices=("off", "hashed", "masked"),
        default="off",
        help="users as they are (default), hashed, or masked as '*****'",
    )
    syn.add_argument("--seed", type=_seed, help="root random seed (default: the file's)")
    syn.add_argument("--run", type=_seed, default=0, help="which run of that seed (default 0)")
    syn.add_argument("--quiet", action="store_true", help="no summary")
    _force(syn)
    _raw_csv(syn)


def _inputs(args) -> list[str]:
    """The files a command reads: no output may land on one of them."""
    found = [getattr(args, name, None) for name in ("scenario", "usage", "packs")]
    return [f for f in found + list(getattr(args, "scenarios", None) or []) if f]


def _check_outputs(args, outputs: list, chart: bool = False, folder: str | None = None) -> None:
    """Before any work: no output would destroy anything (see flexsim.output.files), and charts
    can be drawn. `outputs` are (path or None, kind)."""
    from flexsim.output.files import check_outputs

    check_outputs(outputs, _inputs(args), force=args.force, folders=[folder] if folder else [])
    if chart or folder:
        from flexsim.output.charts import require_matplotlib

        require_matplotlib()


def _deliver(args, outputs: list, text: str, folder: str | None = None) -> int:
    """Write every (path, content, kind) at once (all or none), say so on standard error, then
    print the text (unless an output went to standard output)."""
    from flexsim.output.files import write_all

    to_stdout = write_all(outputs, _inputs(args), force=args.force, folders=[folder] if folder else [])
    if not args.quiet and not to_stdout:
        sys.stdout.write(text)
    return 0


def _kind(name: str) -> Kind:
    """The kind of each output, as `flexsim.output.files` recognises an earlier one."""
    from flexsim.output import files

    if name.endswith("-json"):
        keys: dict[str, list[tuple[str, ...]]] = {
            "run-json": [("scenario", "runs", "seed", "pools", "lots")],
            "optimize-json": [("scenario", "objective", "candidates")],
            "compare-json": [("baseline", "scenarios", "differences")],
            "advise-json": [("scenario", "threshold", "people")],
            "backtest-json": [("split", "actual_tokens"), ("folds", "coverage")],
        }
        return files.json_kind(name.replace("-json", " JSON"), *keys[name])
    if name == "runs-csv":
        from flexsim.output.data import CSV_COLUMNS

        return files.csv_kind("runs CSV", CSV_COLUMNS[:3])
    if name == "daily-csv":
        from flexsim.output.data import DAILY_COLUMNS

        return files.csv_kind("daily CSV", DAILY_COLUMNS[:3])
    if name == "advise-csv":
        from flexsim.output.data import ADVISE_CSV_COLUMNS

        return files.csv_kind("advise CSV", ADVISE_CSV_COLUMNS[:3])
    if name == "usage-export":
        from flexsim.history.tokenflex import COLUMNS
        from flexsim.history.usage_export import STYLES

        csv = files.csv_kind("usage export", *STYLES.values(), COLUMNS)
        xlsx = files.xlsx_kind("usage export", "Token Usage")
        return files.Kind(
            "usage export", lambda p: xlsx.recognise(p) if p.suffix.lower() == ".xlsx" else csv.recognise(p)
        )
    if name == "scenario":
        return files.text_kind("calibrated scenario", "# Calibrated by flexsim")
    return {"chart": files.CHART, "report": files.REPORT}[name]


def cmd_validate(args) -> int:
    from flexsim.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario)
    # Counted from the groups as the simulation lists them (one seat per person and product),
    # without building the numeric plan: validating stays quick because numpy is not loaded.
    people = sum(len(group.people()) for group in scenario.groups)
    seats = sum(len(group.people()) * len(group.products) for group in scenario.groups)
    print(
        f"{args.scenario}: OK: {scenario.name!r}, {scenario.start} to {scenario.end} "
        f"({scenario.days} days), {len(scenario.pools)} pool(s), {len(scenario.lots)} pack(s), "
        f"{people} people using {seats} person-products, {scenario.runs} runs, "
        f"seed {scenario.seed}"
    )
    return 0


def cmd_run(args) -> int:
    from flexsim.api import simulate
    from flexsim.output.data import json_text, run_json, runs_csv_chunks
    from flexsim.output.text import summary_text
    from flexsim.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario)
    backtest = scenario.provenance.get("backtest")
    history = backtest if isinstance(backtest, dict) else None  # how it did on its history
    report = [(os.path.join(args.report, "report.html"), _kind("report"))] if args.report else []
    outs = [
        (args.json, _kind("run-json")),
        (args.runs_csv, _kind("runs-csv")),
        (args.daily_csv, _kind("daily-csv")),
    ]
    _check_outputs(args, outs + report, folder=args.report)
    track = bool(args.report or args.daily_csv)
    if args.precision is not None and not 0 < args.precision < 1:
        raise UsageError(f"--precision {args.precision}: must be between 0 and 1")
    results = simulate(
        scenario,
        runs=args.runs,
        seed=args.seed,
        workers=args.workers,
        engine=args.engine,
        progress=None if not args.quiet else False,
        precision=args.precision,
        track=track,
        executor=args.executor,
        memory=args.memory,
    )
    if not 0 < args.target_risk < 1:
        raise UsageError(f"--target-risk {args.target_risk}: must be between 0 and 1 (e.g. 0.05 or 5%)")
    recommendation = None
    if not args.quiet or args.json or args.report:
        from flexsim.analysis.recommend import recommend, work
        from flexsim.output.progress import Progress

        with Progress(enabled=False if args.quiet else None) as bar:
            tick = bar.phase("what to do", work(results))
            recommendation = recommend(results, args.target_risk, args.lead_days, args.workers, tick)
    outputs: list[Output] = []
    # The run JSON, built once: written to --json, and embedded in the report.
    document = run_json(results, recommendation) if args.json or track else {}
    if args.json:
        outputs.append((args.json, json_text(document), _kind("run-json")))
    if args.runs_csv:
        # Streamed to the file, a few thousand rows at a time.
        outputs.append((args.runs_csv, runs_csv_chunks(results, args.raw_csv), _kind("runs-csv")))
    if track:
        from flexsim.analysis.forecast import forecast
        from flexsim.output.data import daily_csv_text

        data = forecast(results, document)
        from flexsim.output.text import pack_words, report_words

        data["words"] = report_words(results, recommendation)
        data["pack_words"] = pack_words(results)
        if history is not None:
            from flexsim.history.scoring import provenance_line

            data["history_line"] = provenance_line(history)
        if args.daily_csv:
            outputs.append((args.daily_csv, daily_csv_text(data["daily"], args.raw_csv), _kind("daily-csv")))
        if args.report:
            outputs.extend(_report_files(args.report, data, args.scenario))
    if args.quiet:
        text = ""
    elif sys.stdout.isatty():  # tables on a terminal, plain text for files and pipes
        import shutil

        from flexsim.output.text import summary_table_text

        text = summary_table_text(
            results, width=min(shutil.get_terminal_size().columns, 140), recommendation=recommendation
        )
    else:
        text = summary_text(results, recommendation)
    if text and history is not None:
        from flexsim.history.scoring import provenance_line
        from flexsim.output.layout import fold

        text += "\n" + "\n".join(fold([provenance_line(history)])) + "\n"
    return _deliver(args, outputs, text, folder=args.report)


def _report_files(folder: str, data: dict, scenario_file: str) -> list[Output]:
    """report.html and its charts, as (path, content, kind); the folder is made when they are
    written (and removed again if writing fails)."""
    from flexsim.output.charts import report_charts
    from flexsim.output.report import report_html

    charts = report_charts(data)
    files: list[Output] = [(os.path.join(folder, name), png, _kind("chart")) for name, png in charts.items()]
    files.append(
        (os.path.join(folder, "report.html"), report_html(data, charts, scenario_file), _kind("report"))
    )
    return files


def cmd_optimize(args) -> int:
    from flexsim.analysis.optimize import (
        evaluate,
        parse_counts,
        parse_levels,
        parse_sizes,
        reorder_variants,
        sizing,
    )
    from flexsim.output.data import json_text
    from flexsim.output.optimize_text import table_text
    from flexsim.output.progress import Progress
    from flexsim.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario)
    _check_outputs(
        args, [(args.json, _kind("optimize-json")), (args.chart, _kind("chart"))], chart=bool(args.chart)
    )
    runs = args.runs or scenario.runs
    seed = scenario.seed if args.seed is None else args.seed
    if (args.lot is None) != (args.sizes is None):
        raise OptimizeError("--lot and --sizes go together")
    if (args.reorder_below is None) != (args.reorder_tokens is None):
        raise OptimizeError("--reorder-below and --reorder-tokens go together")
    if not args.reorder_below and (args.pool or args.reorder_lead is not None):
        raise OptimizeError("--pool and --reorder-lead only go with --reorder-below and --reorder-tokens")
    sizes = parse_sizes(args.sizes) if args.sizes else None
    policies = None
    lot_pool = scenario.lot_named(args.lot).pool if args.lot in [x.name for x in scenario.lots] else None
    if args.pool and lot_pool and args.pool != lot_pool:
        raise OptimizeError(
            f"--pool {args.pool!r}: pack {args.lot!r} is in pool {lot_pool!r}; "
            "a pack and a top-up policy are optimised together in one pool"
        )
    if args.reorder_below:
        pool = args.pool or lot_pool
        if pool is None:
            pool = scenario.reorders[0].pool if len(scenario.reorders) == 1 else scenario.pool_names()[0]
        policies = reorder_variants(
            scenario,
            pool,
            parse_levels(args.reorder_below),
            parse_counts(args.reorder_tokens, "--reorder-tokens"),
            args.reorder_lead,
        )
    total = runs * (len(policies) if policies else 1)
    with Progress(enabled=False if args.quiet else None) as bar:
        cands = evaluate(
            scenario,
            args.lot,
            sizes,
            runs,
            seed,
            args.workers,
            args.objective,
            bar.phase("candidates", total),
            policies,
            executor=args.executor,
        )
    data = sizing(scenario, args.lot, args.objective, args.max_run_out, runs, seed, cands)
    outputs: list[Output] = []
    if args.json:
        outputs.append((args.json, json_text(data.to_json()), _kind("optimize-json")))
    if args.chart:
        from flexsim.output.charts import optimize_chart_png

        outputs.append((args.chart, optimize_chart_png(data), _kind("chart")))
    return _deliver(args, outputs, table_text(data))


def cmd_compare(args) -> int:
    from flexsim.analysis.compare import compare
    from flexsim.output.compare_text import table_text
    from flexsim.output.data import json_text
    from flexsim.output.progress import Progress
    from flexsim.scenario.loader import load_scenario

    if len(args.scenarios) < 2:
        raise UsageError("compare needs at least two scenarios (the first is the baseline)")
    scenarios = [load_scenario(path) for path in args.scenarios]
    _check_outputs(args, [(args.json, _kind("compare-json"))])
    runs = args.runs or scenarios[0].runs
    seed = scenarios[0].seed if args.seed is None else args.seed
    with Progress(enabled=False if args.quiet else None) as bar:
        tick = bar.phase(f"{len(scenarios)} scenarios", runs * len(scenarios))
        result = compare(scenarios, runs, seed, args.workers, tick, executor=args.executor)
    outputs = [(args.json, json_text(result), _kind("compare-json"))] if args.json else []
    return _deliver(args, outputs, table_text(result))


def cmd_advise(args) -> int:
    from flexsim.analysis.advise import advise
    from flexsim.analysis.optimize import parse_sizes
    from flexsim.output.advise_text import table_text
    from flexsim.output.data import advise_csv_text, json_text
    from flexsim.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario)
    outs = [(args.json, _kind("advise-json")), (args.csv, _kind("advise-csv")), (args.chart, _kind("chart"))]
    _check_outputs(args, outs, chart=bool(args.chart))
    runs = args.runs or scenario.runs
    seed = scenario.seed if args.seed is None else args.seed
    threshold = scenario.costs.subscription_threshold if args.threshold is None else args.threshold
    if (args.lot is None) != (args.sizes is None):
        raise OptimizeError("--lot and --sizes go together")
    sizes = parse_sizes(args.sizes) if args.sizes else None
    data = advise(
        scenario,
        runs,
        seed,
        args.workers,
        threshold,
        progress=False if args.quiet else None,
        lot=args.lot,
        sizes=sizes,
        executor=args.executor,
    )
    outputs: list[Output] = []
    if args.json:
        outputs.append((args.json, json_text(data), _kind("advise-json")))
    if args.csv:
        outputs.append((args.csv, advise_csv_text(data, args.raw_csv), _kind("advise-csv")))
    if args.chart:
        from flexsim.output.charts import advise_chart_png

        outputs.append((args.chart, advise_chart_png(data), _kind("chart")))
    return _deliver(args, outputs, table_text(data))


def _notes(notes: list[str]) -> None:
    """Assumptions and warnings: one line each on standard error."""
    for note in notes:
        print(
            f"flexsim: {note}" if note.startswith("warning:") else f"flexsim: note: {note}", file=sys.stderr
        )


def cmd_calibrate(args) -> int:
    from flexsim.history.calibrate import calibrate
    from flexsim.history.calibrate_yaml import scenario_yaml
    from flexsim.history.usage_export import read_usage
    from flexsim.output.layout import fold
    from flexsim.scenario.loader import parse_scenario

    _check_outputs(args, [(args.output, _kind("scenario"))])
    usage = read_usage(args.usage)
    if usage.style == "tokenflex":
        from flexsim.history.tokenflex import calibrate_tokenflex

        flex = calibrate_tokenflex(usage, args.packs, args.start, args.end, name=args.name)
        result: Calibration | TokenFlexCalibration = flex
        text = flex.text
    else:
        calibration = calibrate(usage, args.packs, args.start, args.end, name=args.name)
        result, text = calibration, scenario_yaml(calibration)
    if args.backtest:
        from flexsim.history.backtest import backtest_folds
        from flexsim.history.scoring import provenance_line, provenance_summary, provenance_yaml

        try:
            folds = backtest_folds(
                usage, args.backtest, args.backtest_runs, progress=False if args.quiet else None
            )
        except CalibrationError as exc:
            raise CalibrationError(f"--backtest {args.backtest}: {exc}") from None
        summary = provenance_summary(folds["scores"], args.backtest_runs, 1)
        text += provenance_yaml(summary, args.usage)
    parse_scenario(text, args.output)  # what `run` will read: it must be accepted as it is
    _notes(result.notes)
    fit = result.fit
    lots = sum(p.usable(result.start) for p in result.packs)
    season = "seasonality fitted" if fit.seasonality else "no seasonality (less than a year)"
    who = (
        f"{len(fit.people)} groups of anonymous users in {len(fit.pools)} token pool(s)"
        if usage.style == "tokenflex"
        else f"{len(fit.people)} people in {len(fit.pools)} team(s)"
    )
    lines = [
        f"{args.output}: {who}, {len(fit.rates)} products, {season}, {lots} pack(s); forecast "
        f"{result.start} to {result.end}.",
        *([provenance_line(summary)] if args.backtest else []),
        f"Next: flexsim run {args.output}",
    ]
    summary_text = "\n".join(fold(lines)) + "\n"
    return _deliver(args, [(args.output, text, _kind("scenario"))], summary_text)


def cmd_backtest(args) -> int:
    from flexsim.history.backtest import backtest, backtest_folds
    from flexsim.history.usage_export import read_usage
    from flexsim.output.backtest_text import FOLD_HEADER, backtest_text, fold_line, folds_text, folds_title
    from flexsim.output.data import json_text

    if (args.split is None) == (args.folds is None):
        raise UsageError("backtest needs --split DATE or --folds K (one of them)")
    _check_outputs(args, [(args.json, _kind("backtest-json"))])
    usage = read_usage(args.usage)
    if args.split is not None:
        data = backtest(
            usage,
            args.split,
            args.runs,
            args.seed,
            args.workers,
            args.horizon,
            progress=False if args.quiet else None,
            executor=args.executor,
        )
        text = backtest_text(args.usage, data)
    else:
        live = not args.quiet and sys.stdout.isatty()  # the table as the folds finish
        if live:
            print(folds_title(args.usage, args.folds, args.runs, args.seed, args.horizon))
            print(FOLD_HEADER, flush=True)
        data = backtest_folds(
            usage,
            args.folds,
            args.runs,
            args.seed,
            args.workers,
            args.horizon,
            each=(lambda f: print(fold_line(f), flush=True)) if live else None,
            progress=False if args.quiet else None,
            executor=args.executor,
        )
        text = folds_text(args.usage, data, table=not live)
    return _deliver(args, [(args.json, json_text(data), _kind("backtest-json"))] if args.json else [], text)


def cmd_synth_export(args) -> int:
    from flexsim.history.synth import synthesize
    from flexsim.history.usage_export import STYLE_WORDS, usage_csv_text, usage_xlsx_bytes
    from flexsim.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario)
    _check_outputs(args, [(args.output, _kind("usage-export"))])
    xlsx = args.output.lower().endswith(".xlsx")
    if xlsx:
        try:
            import openpyxl  # noqa: F401
        except ImportError:
            raise UsageError(
                "writing .xlsx files needs openpyxl: python -m pip install 'flexsim[xlsx]' (or write a .csv)"
            ) from None
    seed = scenario.seed if args.seed is None else args.seed
    syn = synthesize(scenario, seed, args.run, args.privacy, camel_dates=args.style == "camel")
    if args.style == "tokenflex":
        from flexsim.history.tokenflex import tokenflex_table
        from flexsim.output.cells import csv_table, xlsx_table

        header, rows = tokenflex_table(scenario, syn.records)
        content = (
            xlsx_table("Token Usage", header[:-1], [r[:-1] for r in rows], args.raw_csv)
            if xlsx
            else csv_table(header, rows, args.raw_csv)
        )
        days = [r[3] for r in rows]
    else:
        content = (usage_xlsx_bytes if xlsx else usage_csv_text)(syn.records, args.style, args.raw_csv)
        days = [r["day"] for r in syn.records]
    if args.style == "camel" and len(scenario.pools) > 1:
        _notes([f"the camel style has no team column: the {len(scenario.pools)} pools come out as one"])
    span = f", {min(map(str, days))[:10]} to {max(map(str, days))[:10]}" if days else ""
    text = (
        f"{args.output}: {len(days):,} rows ({STYLE_WORDS[args.style]} column names), "
        f"{syn.people} people{span}, {syn.tokens:,} tokens: run {args.run} of seed {seed} of "
        f"{args.scenario}\n"
    )
    return _deliver(args, [(args.output, content, _kind("usage-export"))], text)


def cmd_init(args) -> int:
    examples = _examples()
    if args.example not in examples:
        from flexsim.scenario.hints import name_hint

        raise UsageError(
            f"--example {args.example!r}: no such example"
            f"{name_hint(args.example, list(examples), '--example')}; examples: " + ", ".join(examples)
        )
    if os.path.exists(args.output):
        raise UsageError(f"{args.output}: already exists; choose another name (init never overwrites)")
    args.force, args.quiet = (
        False,
        False,
    )  # init never overwrites (refused above) and always says what it wrote
    kind = _kind("scenario")
    _check_outputs(args, [(args.output, kind)])
    body = examples[args.example].read_text(encoding="utf-8")
    header = (
        f"# A starter scenario, from flexsim's example {args.example!r}. Edit it to describe your pool:\n"
        "# the packs you hold or will buy (lots:), the people and how often they use each product\n"
        "# (users:), and the dates. Every key is explained in docs/reference/scenario.md.\n"
        f"# Then: flexsim validate {args.output}   and   flexsim run {args.output}\n"
    )
    text = f"{args.output}: a starter scenario from the example {args.example!r}.\n"
    text += f"Next: flexsim run {args.output}\n"
    return _deliver(args, [(args.output, header + body, kind)], text)


COMMANDS = {
    "init": cmd_init,
    "run": cmd_run,
    "optimize": cmd_optimize,
    "compare": cmd_compare,
    "advise": cmd_advise,
    "validate": cmd_validate,
    "calibrate": cmd_calibrate,
    "backtest": cmd_backtest,
    "synth-export": cmd_synth_export,
}


def main(argv: list[str] | None = None) -> int:
    from flexsim.output.files import Terminated, install_signals

    for stream in (sys.stdout, sys.stderr):  # a terminal that can't show '±' gets '?', not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        from flexsim.scenario.hints import split_argument_hint

        words = sys.argv[1:] if argv is None else argv
        parser.error(f"unrecognized arguments: {' '.join(extra)}{split_argument_hint(list(words), extra)}")
    install_signals()  # SIGTERM too ends the command cleanly, worker processes and all
    try:
        with _executor(args):
            return COMMANDS[args.command](args)
    except FlexsimError as exc:  # the one translation of bad input into a line and exit status 2
        print(f"flexsim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file the system can't read or write (EIO, ENOSPC...): one line too
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"flexsim: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except Terminated as exc:
        print("flexsim: terminated", file=sys.stderr)
        return 128 + exc.signum
    except KeyboardInterrupt:
        print("flexsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
