"""How a backtest scores: per horizon, the P10-P90 coverage, the interval's width and a proper
score of total tokens, beside two forecasts any admin could make without flexsim.

- **Pinball loss** of the P10, P50 and P90 of total tokens, averaged over the three quantiles: a
  proper score (no forecast scores better on average than the one that states the true
  quantiles), in tokens, lower is better. It punishes a range that is too wide and one that misses.
- **Run rate**: tokens per workday (Monday to Friday) over the 3 months before the split, times
  the workdays of the horizon. Its P10-P90 comes from the spread of the 3 monthly rates, as a
  Student-t prediction of the horizon's mean rate (few months: a wide range), so its coverage
  and pinball loss are scored like the forecast's.
- **Same months last year**: the tokens of the same dates one year earlier, where the file has
  them; a point forecast (its pinball loss is half its absolute error).
"""

from __future__ import annotations

import calendar
import json
import math
import os
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
from scipy import special

from flexsim.analysis.stats import wilson

QUANTILES = (0.1, 0.5, 0.9)
MONTH_HORIZONS = (1, 3, 6)
RUN_RATE_MONTHS = 3
NOMINAL = 0.8
PROVENANCE_KEYS = ("folds", "horizon", "covered", "pinball", "run_rate_pinball", "runs", "seed")


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (or earlier), kept inside a short month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def horizon_name(months: int | None, days: int | None = None) -> str:
    """'1 month', '3 months'...; the whole window: 'rest of file', or 'N days' with --horizon."""
    if months is None:
        return "rest of file" if days is None else f"{days} days"
    return "1 month" if months == 1 else f"{months} months"


def horizons(split: date, end: date) -> list[tuple[int | None, date]]:
    """(months ahead or None for the whole window, last day) of each horizon the window allows."""
    out: list[tuple[int | None, date]] = []
    for months in MONTH_HORIZONS:
        last = add_months(split, months) - timedelta(days=1)
        if last <= end:
            out.append((months, last))
    out.append((None, end))
    return out


def pinball(actual: float, quantiles: Sequence[float]) -> float:
    """Mean pinball loss of the P10, P50 and P90 `quantiles` for the `actual` value."""
    total = 0.0
    for q, x in zip(QUANTILES, quantiles, strict=True):
        diff = actual - x
        total += max(q * diff, (q - 1) * diff)
    return total / len(QUANTILES)


def workdays(first: date, last: date) -> int:
    """Monday-to-Friday days from `first` to `last`, both included."""
    if last < first:
        return 0
    days = (last - first).days + 1
    weeks, extra = divmod(days, 7)
    start = first.weekday()
    return weeks * 5 + sum(1 for k in range(extra) if (start + k) % 7 < 5)


def run_rate(daily: dict[date, int], first_day: date, split: date, last: date) -> dict | None:
    """The run-rate forecast of the tokens from `split` to `last`, from the months before `split`
    (only the rows before it); None when the history holds fewer than two whole months."""
    rates, tokens, days = [], 0, 0
    for k in range(RUN_RATE_MONTHS, 0, -1):
        lo, hi = add_months(split, -k), add_months(split, -k + 1) - timedelta(days=1)
        if lo < first_day:
            continue
        month_tokens = sum(t for d, t in daily.items() if lo <= d <= hi)
        month_days = workdays(lo, hi)
        rates.append(month_tokens / month_days)
        tokens += month_tokens
        days += month_days
    if len(rates) < 2:
        return None
    rate = tokens / days
    ahead = workdays(split, last)
    months_ahead = max(ahead / (days / len(rates)), 1e-9)
    t = float(special.stdtrit(len(rates) - 1, 0.9))
    half = t * float(np.std(rates, ddof=1)) * math.sqrt(1 / len(rates) + 1 / months_ahead)
    low, high = max(rate - half, 0.0), rate + half
    return {
        "months": len(rates),
        "tokens_per_workday": rate,
        "p10": low * ahead,
        "p50": rate * ahead,
        "p90": high * ahead,
    }


def last_year(daily: dict[date, int], first_day: date, split: date, last: date) -> float | None:
    """The tokens of the same dates a year earlier, when the history covers them all."""
    lo = add_months(split, -12)
    if lo < first_day:
        return None
    hi = add_months(last, -12)
    return float(sum(t for d, t in daily.items() if lo <= d <= hi))


def horizon_entry(
    months: int | None,
    split: date,
    last: date,
    window_days: int | None,
    actual: int,
    runs: np.ndarray,
    before: dict[date, int],
    first: date,
) -> dict:
    """One fold's score at one horizon: the forecast's and the baselines'."""
    p10, p50, p90 = (float(x) for x in np.quantile(runs, QUANTILES))
    forecast = {"p10": p10, "p50": p50, "p90": p90, "covered": p10 <= actual <= p90}
    forecast["pinball"] = pinball(actual, (p10, p50, p90))
    entry = {
        "horizon": horizon_name(months, window_days),
        "months": months,
        "to": last.isoformat(),
        "actual_tokens": actual,
        "forecast": forecast,
        "run_rate": None,
        "last_year": None,
    }
    rr = run_rate(before, first, split, last)
    if rr is not None:
        quantiles = (rr["p10"], rr["p50"], rr["p90"])
        rr["covered"] = rr["p10"] <= actual <= rr["p90"]
        rr["pinball"] = pinball(actual, quantiles)
        entry["run_rate"] = rr
    ly = last_year(before, first, split, last)
    if ly is not None:
        entry["last_year"] = {"tokens": ly, "pinball": pinball(actual, (ly, ly, ly))}
    return entry


def _coverage(hits: int, n: int) -> dict:
    lo, hi = wilson(hits, n)
    return {"covered": hits, "folds": n, "share": hits / n if n else None, "ci95": [lo, hi]}


def score_folds(folds: list[dict]) -> list[dict]:
    """Per horizon over the folds that reach it: coverage (Wilson 95%), mean width and mean
    pinball loss of the forecast and of each baseline (the run rate on the folds that have it,
    compared with the forecast on those same folds)."""
    names: list[str] = []
    for f in folds:
        for h in f["horizons"]:
            if h["horizon"] not in names:
                names.append(h["horizon"])
    out = []
    for name in names:
        entries = [h for f in folds for h in f["horizons"] if h["horizon"] == name]
        fc = [h["forecast"] for h in entries]
        row: dict = {
            "horizon": name,
            "months": entries[0]["months"],
            "folds": len(entries),
            "mean_actual_tokens": float(np.mean([h["actual_tokens"] for h in entries])),
            "forecast": {
                "coverage": _coverage(sum(f["covered"] for f in fc), len(fc)),
                "mean_width": float(np.mean([f["p90"] - f["p10"] for f in fc])),
                "pinball": float(np.mean([f["pinball"] for f in fc])),
            },
            "run_rate": None,
            "last_year": None,
            "beats_run_rate": None,
        }
        with_rr = [h for h in entries if h["run_rate"] is not None]
        if with_rr:
            rr = [h["run_rate"] for h in with_rr]
            mine = float(np.mean([h["forecast"]["pinball"] for h in with_rr]))
            theirs = float(np.mean([r["pinball"] for r in rr]))
            row["run_rate"] = {
                "folds": len(rr),
                "coverage": _coverage(sum(r["covered"] for r in rr), len(rr)),
                "mean_width": float(np.mean([r["p90"] - r["p10"] for r in rr])),
                "pinball": theirs,
                "forecast_pinball": mine,
            }
            row["beats_run_rate"] = mine < theirs
        with_ly = [h for h in entries if h["last_year"] is not None]
        if with_ly:
            row["last_year"] = {
                "folds": len(with_ly),
                "pinball": float(np.mean([h["last_year"]["pinball"] for h in with_ly])),
                "forecast_pinball": float(np.mean([h["forecast"]["pinball"] for h in with_ly])),
            }
        out.append(row)
    return out


def _share(c: dict) -> str:
    lo, hi = c["ci95"]
    return f"{c['covered']}/{c['folds']} {c['share']:.0%} ({lo:.0%}-{hi:.0%})"


def _t(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _baseline(s: dict, name: str) -> str:
    """A baseline's pinball loss, with its number of folds when it lacks some."""
    b = s[name]
    if b is None:
        return "-"
    return _t(b["pinball"]) + ("" if b["folds"] == s["folds"] else f" ({b['folds']})")


def _on_folds(s: dict, b: dict) -> str:
    if b["folds"] == s["folds"]:
        return ""
    return " over the fold that has one" if b["folds"] == 1 else f" over the {b['folds']} folds that have one"


def scores_lines(scores: list[dict]) -> list[str]:
    """The scores as two tables and a verdict per horizon, each line within 80 columns."""
    lines = [
        "",
        "P10-P90 coverage (nominal 80%; 95% Wilson interval) and mean width, tokens:",
        f"  {'horizon':<13}{'folds':>5}  {'forecast':<19}{'width':>8}  {'run rate':<19}{'width':>8}",
    ]
    for s in scores:
        rr = s["run_rate"]
        lines.append(
            f"  {s['horizon']:<13}{s['folds']:>5}  {_share(s['forecast']['coverage']):<19}"
            f"{_t(s['forecast']['mean_width']):>8}  {(_share(rr['coverage']) if rr else '-'):<19}"
            f"{_t(rr['mean_width'] if rr else None):>8}"
        )
    lines += [
        "",
        "Pinball loss of total tokens (mean over P10, P50, P90; lower is better; in",
        "brackets, the folds a baseline has):",
        f"  {'horizon':<13}{'folds':>5}  {'actual':>9}  {'forecast':>9}  {'run rate':>9}  {'last year':>9}",
    ]
    for s in scores:
        lines.append(
            f"  {s['horizon']:<13}{s['folds']:>5}  {_t(s['mean_actual_tokens']):>9}  "
            f"{_t(s['forecast']['pinball']):>9}  {_baseline(s, 'run_rate'):>9}  "
            f"{_baseline(s, 'last_year'):>9}"
        )
    lines.append("")
    for s in scores:
        lines.append(verdict(s))
    return lines


def verdict(s: dict) -> str:
    """In words: did the forecast beat the run rate at this horizon?"""
    rr = s["run_rate"]
    if rr is None:
        return (
            f"{s['horizon']}: no run-rate baseline (the history before each split is "
            f"shorter than 2 whole months)."
        )
    mine, theirs = rr["forecast_pinball"], rr["pinball"]
    if s["beats_run_rate"]:
        return (
            f"{s['horizon']}: the forecast beats the last {RUN_RATE_MONTHS} months' run rate "
            f"(pinball loss {_t(mine)} against {_t(theirs)}{_on_folds(s, rr)}, "
            f"{1 - mine / theirs:.0%} lower)."
        )
    return (
        f"{s['horizon']}: the forecast does NOT beat the last {RUN_RATE_MONTHS} months' run "
        f"rate (pinball loss {_t(mine)} against {_t(theirs)}{_on_folds(s, rr)}): at this "
        "horizon, the run rate "
        "would have served you as well."
    )


def provenance_summary(scores: list[dict], runs: int, seed: int) -> dict:
    """What `calibrate --backtest` records in the scenario: the whole-month horizon the most
    folds reached (the longer on a tie; else the rest of the file), scored. Its pinball losses
    are the forecast's and the run rate's over the same folds."""
    months = [s for s in scores if s["months"] is not None]
    s = max(months, key=lambda s: (s["folds"], s["months"])) if months else scores[-1]
    out = {
        "folds": s["folds"],
        "horizon": s["horizon"],
        "covered": s["forecast"]["coverage"]["covered"],
        "pinball": round(s["forecast"]["pinball"]),
        "runs": runs,
        "seed": seed,
    }
    if s["run_rate"] is not None:
        out["pinball"] = round(s["run_rate"]["forecast_pinball"])
        out["run_rate_pinball"] = round(s["run_rate"]["pinball"])
    return out


def _ahead(horizon: str) -> str:
    return "to the end of the file" if horizon == horizon_name(None) else f"{horizon} ahead"


def provenance_line(p: dict) -> str:
    """The one line `run` prints for a scenario calibrated with `--backtest`."""
    folds, covered = p["folds"], p["covered"]
    line = (
        f"How this forecast did on your history: the actual total was inside P10-P90 in "
        f"{covered} of {folds} backtests {_ahead(p['horizon'])} ({covered / folds:.0%}, nominal "
        f"{NOMINAL:.0%})"
    )
    if p.get("run_rate_pinball") is not None:
        better = "better" if p["pinball"] < p["run_rate_pinball"] else "NOT better"
        line += (
            f"; pinball loss {p['pinball']:,} against {p['run_rate_pinball']:,} for the last "
            f"{RUN_RATE_MONTHS} months' run rate: {better} than the run rate"
        )
    return line + "."


def provenance_yaml(p: dict, source: str) -> str:
    """The scenario's `provenance:` block for the summary `p` of `provenance_summary`."""
    lines = [
        "",
        f"# How this way of forecasting did on this history: fitted on the rows before each of {p['folds']}",
        "# split dates and compared with what followed (flexsim backtest USAGE --folds "
        f"{p['folds']} shows it all).",
        "# `flexsim run` prints it in one line; nothing here changes the simulation.",
        "provenance:",
        f"  source: {json.dumps(os.path.basename(source), ensure_ascii=False)}",
        "  backtest:",
        *(f"    {key}: {p[key]}" for key in PROVENANCE_KEYS if key in p),
    ]
    return "\n".join(lines) + "\n"
