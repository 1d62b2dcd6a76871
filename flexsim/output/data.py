"""Machine-readable outputs: the JSON documents and the per-run and daily CSV files."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from flexsim.api import Results
from flexsim.engine.records import POOL_COUNTERS
from flexsim.output.cells import safe_writer

CSV_COLUMNS = (
    "run",
    "pool",
    "tokens_purchased",
    "tokens_consumed",
    "tokens_expired",
    "tokens_remaining",
    "launches",
    "charges",
    "blocked_launches",
    "blocked_days",
    "run_out_date",
    "spend",
    "blocked_renewals",
    "alert_date",
    "topups",
)


def json_text(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def runs_csv_text(results: Results, raw: bool = False) -> str:
    return "".join(runs_csv_chunks(results, raw))


RUNS_PER_CHUNK = 2_000


def runs_csv_chunks(results: Results, raw: bool = False) -> Iterator[str]:
    """The runs CSV as pieces of a few thousand rows, for writing as a stream: 200,000 runs
    are never held as one text."""
    buffer = io.StringIO()
    writer = safe_writer(buffer, raw)  # names stay spreadsheet text unless raw
    writer.writerow(CSV_COLUMNS)
    idx = {name: i for i, name in enumerate(POOL_COUNTERS)}
    for record in results.records:
        if record.run % RUNS_PER_CHUNK == RUNS_PER_CHUNK - 1:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        for p, pool in enumerate(results.plan.pool_names):
            c = record.counters[p]
            out_day, alert_day = int(c[idx["run_out_day"]]), int(c[idx["alert_day"]])
            writer.writerow(
                [
                    record.run,
                    pool,
                    *(int(c[idx[k]]) for k in CSV_COLUMNS[2:10]),
                    results.date(out_day) if out_day >= 0 else "",
                    f"{record.spend[p]:.2f}",
                    int(c[idx["blocked_renewals"]]),
                    results.date(alert_day) if alert_day >= 0 else "",
                    int(c[idx["topups"]]),
                ]
            )
    yield buffer.getvalue()


DAILY_COLUMNS = ("pool", "date", "balance_mean", "balance_p10", "balance_p50", "balance_p90", "consumed_mean")


def _number(x: float) -> str:
    """A figure as short as it can be without losing precision that matters (6 decimals)."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def daily_csv_text(daily: dict[str, dict], raw: bool = False) -> str:
    """`--daily-csv`: one row per (pool, date), the balance at the end of that day."""
    buffer = io.StringIO()
    writer = safe_writer(buffer, raw)  # names stay spreadsheet text unless raw
    writer.writerow(DAILY_COLUMNS)
    for pool, d in daily.items():
        for i, day in enumerate(d["date"]):
            writer.writerow([pool, day, *(_number(d[k][i]) for k in DAILY_COLUMNS[2:])])
    return buffer.getvalue()
