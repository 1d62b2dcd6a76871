"""Files and text for people and scripts: JSON, the per-run CSV, the terminal summary.

Files are written to a temporary file beside the target and renamed into place, so a failed or
interrupted command never leaves half a file behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from flexsim.api import Results
from flexsim.errors import OutputError
from flexsim.records import POOL_COUNTERS

CSV_COLUMNS = ("run", "pool", "tokens_purchased", "tokens_consumed", "tokens_expired",
               "tokens_remaining", "launches", "charges", "blocked_launches", "blocked_days",
               "run_out_date", "spend", "blocked_renewals", "alert_date", "topups")


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before a long simulation) if `path` can't be written."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{path}: is a directory, not a file")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: the folder {parent} is not writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_all(files: list[tuple[str | os.PathLike, str | bytes]]) -> None:
    """Write every (path, text) via temporary files, renamed into place only once all are written.

    Either every file appears complete, or none is touched.
    """
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            target = Path(path)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            temps.append((tmp, target))
            if isinstance(text, bytes):
                with os.fdopen(fd, "wb") as handle:
                    handle.write(text)
            else:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
            os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary file would be, not mkstemp's 0600
        for tmp, target in temps:
            os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"{exc.filename or path}: can't write: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write text to path via a temporary file and a rename."""
    write_all([(path, text)])


def json_text(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def runs_csv_text(results: Results) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    idx = {name: i for i, name in enumerate(POOL_COUNTERS)}
    for record in results.records:
        for p, pool in enumerate(results.plan.pool_names):
            c = record.counters[p]
            out_day, alert_day = int(c[idx["run_out_day"]]), int(c[idx["alert_day"]])
            writer.writerow([
                record.run, pool, *(int(c[idx[k]]) for k in CSV_COLUMNS[2:10]),
                results.date(out_day) if out_day >= 0 else "",
                f"{record.spend[p]:.2f}", int(c[idx["blocked_renewals"]]),
                results.date(alert_day) if alert_day >= 0 else "", int(c[idx["topups"]]),
            ])
    return buffer.getvalue()


def _range(s: dict, fmt: str = "{:,.0f}") -> str:
    if s["mean"] is None:
        return "-"
    lo, hi = s["mean_ci95"]
    err = "" if lo is None else f" ±{(hi - lo) / 2:,.0f}"
    return (f"{fmt.format(s['mean'])}{err}  (90% of runs {fmt.format(s['p05'])} to "
            f"{fmt.format(s['p95'])})")


def summary_text(results: Results) -> str:
    """The human summary printed by `flexsim run`."""
    sc = results.scenario
    data = results.to_json()
    lines = [f"{sc.name}: {sc.start} to {sc.end}, {results.runs} runs, seed {results.seed}, "
             f"{results.engine} engine ({results.seconds:.1f} s)", ""]
    if results.precision is not None:
        if results.precision_reached:
            note = f"Precision {results.precision:g} reached after {results.runs} runs."
        else:
            note = (f"Precision {results.precision:g} NOT reached within {results.runs} runs: "
                    "raise --runs or relax --precision.")
        lines.insert(1, note)
    for pool, s in data["pools"].items():
        prob = s["run_out_probability_detail"]
        lo, hi = prob["ci95"]
        lines.append(f"Pool {pool}")
        lines.append(f"  Runs out before the end:  {prob['p']:.1%}  (95% CI {lo:.1%} to {hi:.1%})")
        q = s["run_out_date"]
        if any(q.values()):
            lines.append(f"  Run-out date P10/P50/P90: {q['p10'] or 'none'} / {q['p50'] or 'none'} / "
                         f"{q['p90'] or 'none'}  (none: fewer runs ran out)")
        lines.append(f"  Tokens consumed:  {_range(s['tokens_consumed'])}")
        lines.append(f"  Tokens expired:   {_range(s['tokens_expired'])}")
        lines.append(f"  Tokens remaining: {_range(s['tokens_remaining'])}")
        lines.append(f"  Blocked person-product-days: {_range(s['blocked_days'])}")
        lines.append(f"  Spend in the horizon (USD): {_range(s['spend'])}")
        if s["topups"]["mean"]:
            lines.append(f"  Top-ups received: {_range(s['topups'], '{:,.1f}')}")
        a = s["alert_date"]
        if s["alert_probability"] > 0:
            lines.append(f"  Low-balance alert fires in {s['alert_probability']:.0%} of runs; "
                         f"median date {a['p50'] or 'later than half the runs'}")
        lines.append("")
    lines.append("Packs (mean tokens over the runs, 95% CI half-width):")
    width = max([len(lot["name"]) for lot in data["lots"]] + [4])
    pool_width = max([len(lot["pool"]) for lot in data["lots"]] + [4])
    lines.append(f"  {'pack':<{width}}  {'pool':<{pool_width}} {'tokens':>8} {'consumed':>16} "
                 f"{'expired':>16} {'expired USD':>12}")
    for lot in data["lots"]:
        def cell(s: dict) -> str:
            lo, hi = s["mean_ci95"]
            err = "" if lo is None else f" ±{(hi - lo) / 2:,.0f}"
            return f"{s['mean']:,.0f}{err}"
        lines.append(f"  {lot['name']:<{width}}  {lot['pool']:<{pool_width}} {lot['tokens']:>8,} "
                     f"{cell(lot['consumed']):>16} {cell(lot['expired']):>16} "
                     f"{lot['expired_usd']['mean']:>12,.0f}")
    return "\n".join(lines) + "\n"
