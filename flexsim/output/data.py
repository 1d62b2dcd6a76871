"""Machine-readable outputs: the JSON documents and the per-run and daily CSV files."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from flexsim.analysis.recommend import Recommendation
from flexsim.api import Results
from flexsim.engine.records import POOL_COUNTERS
from flexsim.output.cells import safe_writer


def run_json(results: Results, recommendation: Recommendation | None) -> dict:
    """The `run --json` object: the forecast of SPEC section 3 and, per pool, what to do."""
    return dict(results.to_json(), recommendation=_recommendation_json(recommendation))


def _recommendation_json(recommendation: Recommendation | None) -> dict | None:
    if recommendation is None:
        return None
    data = recommendation.to_json()
    return {"target": data["target"], "runs": data["runs"], "pools": {p["pool"]: p for p in data["pools"]}}


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


ADVISE_CSV_COLUMNS = (
    "person",
    "group",
    "product",
    "pool",
    "days_per_year_mean",
    "days_per_year_p10",
    "days_per_year_p90",
    "flex_cost_per_year_mean",
    "flex_cost_per_year_p10",
    "flex_cost_per_year_p90",
    "subscription_price",
    "break_even_days_per_year",
    "probability_subscription_cheaper",
    "recommendation",
)


def advise_csv_text(data: dict, raw: bool = False) -> str:
    """The `advise --csv` file: one row per person and product."""
    buffer = io.StringIO()
    writer = safe_writer(buffer, raw)  # names stay spreadsheet text unless raw
    writer.writerow(ADVISE_CSV_COLUMNS)
    for p in data["people"]:
        d, f = p["days_per_year"], p["flex_cost_per_year"]
        writer.writerow(
            [
                p["person"],
                p["group"] or "",
                p["product"],
                p["pool"],
                f"{d['mean']:.2f}",
                f"{d['p10']:.2f}",
                f"{d['p90']:.2f}",
                f"{f['mean']:.2f}",
                f"{f['p10']:.2f}",
                f"{f['p90']:.2f}",
                "" if p["subscription_price"] is None else p["subscription_price"],
                "" if p["break_even_days_per_year"] is None else f"{p['break_even_days_per_year']:.1f}",
                f"{p['probability_subscription_cheaper']:.4f}",
                p["recommendation"],
            ]
        )
    return buffer.getvalue()
