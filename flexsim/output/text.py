"""What `flexsim run` prints: the plain-text summary, and the same answers as tables on a terminal.

Both come from the same rows (`pool_rows`, `pack_rows`), so a pipe and a terminal show the same
figures. Conventions, everywhere: a mean carries its 95% interval, a spread between runs is
P10-P90 (the middle 80% of runs); a figure that does not vary says so instead of "± 0"; a rare
figure gets an interval that holds when it is rare; digits match the precision of the figure.
"""

from __future__ import annotations

import io
import math
import textwrap
from datetime import date, timedelta

import numpy as np

from flexsim.analysis.recommend import EXPIRY_WINDOW_DAYS, Recommendation
from flexsim.analysis.stats import (
    count_mean_interval,
    half_width,
    mean_half_width,
    quantile_uncertain,
    rare_share,
    sample_quantiles,
    wilson,
)
from flexsim.api import Results
from flexsim.output.recommendation_text import advice_lines, advice_paragraphs

WIDTH = 80


# -- figures in words ----------------------------------------------------------------------------
def decimals_for(half: float | None, most: int = 2) -> int:
    """Decimals that show the first significant digit of an interval's half-width (at most `most`)."""
    if half is None or half <= 0 or half >= 0.5:
        return 0
    return min(most, max(0, -math.floor(math.log10(half))))


def number(x: float, decimals: int = 0) -> str:
    return f"{x:,.{decimals}f}"


def mean_text(values, unit: str = "") -> str:
    """A mean over runs with its 95% interval and the P10-P90 spread, saying only what varies.

    '5,927 ±16 (P10-P90 5,661 to 6,000)'; '16,500 in every run'; '44,528 ±75 (P10 and P90 both
    44,600)'; rare counts: '12.3 (95% CI 8.1 to 16.5; P10-P90 0 to 42)'.
    """
    x = np.asarray(values, dtype=np.float64)
    u = f" {unit}" if unit else ""
    if len(x) == 0:
        return "-"
    if x.min() == x.max():
        return f"{number(x[0])}{u} in every run" if len(x) > 1 else f"{number(x[0])}{u}"
    mean = float(x.mean())
    p10, p90 = sample_quantiles(x, (0.1, 0.9))
    zero_heavy = x.min() >= 0 and (x > 0).mean() < 0.5
    if zero_heavy:
        lo, hi = count_mean_interval(x)
        assert lo is not None and hi is not None  # values that vary over 2+ runs have both bounds
        d = max(1, decimals_for(half_width((lo, hi))))
        spread = "" if p10 == p90 else f"; P10-P90 {number(p10)} to {number(p90)}"
        return f"{number(mean, d)}{u} (95% CI {number(lo, d)} to {number(hi, d)}{spread})"
    half = mean_half_width(x)
    assert half is not None  # values that vary: 2 runs or more
    d = decimals_for(half)
    spread = f"P10 and P90 both {number(p10)}" if p10 == p90 else f"P10-P90 {number(p10)} to {number(p90)}"
    return f"{number(mean, d)}{u} ±{number(half, d)} ({spread})"


def rare_text(values, what: str = "") -> str:
    """A zero-heavy count: 'none in any of the 200 runs (95%: in under 1.9% of runs)', else the mean."""
    x = np.asarray(values)
    if len(x) and x.max() == 0:
        return f"none in any of the {len(x):,} runs (95%: in under {rare_share(x):.1%} of runs)"
    return mean_text(x, what)


def risk_text(out: int, n: int) -> str:
    lo, hi = wilson(out, n)
    return f"{out / n:.1%} (95% CI {lo:.1%} to {hi:.1%})"


def run_out_dates(results: Results, pool: int) -> tuple[str, list[str]]:
    """'2027-12-06 / 2027-12-30? / none' and the notes that explain 'none' and '?'."""
    s = results.pool_summary(pool)
    days = results.column("run_out_day", pool)
    out = int((days >= 0).sum())
    share = wilson(out, results.runs)
    cells, notes, missing = [], [], []
    for key, q in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        d = s["run_out_date"][key]
        if d is None:
            cells.append("none")
            missing.append((key.upper(), q))
        elif quantile_uncertain(share, q):
            cells.append(f"{d}?")
            notes.append(
                f"P{key[1:]}? uncertain: the share of runs that run out ({share[0]:.0%} to "
                f"{share[1]:.0%}) could lie either side of {q:.0%}"
            )
        else:
            cells.append(d)
    if missing:
        names = ", ".join(k for k, _ in missing)
        notes.insert(
            0, f"no {names}: fewer than {missing[0][1]:.0%} of runs ran out ({out / results.runs:.1%} did)"
        )
    return " / ".join(cells), notes


def left_at_end(results: Results, pool: str) -> list[tuple[str, float, str]]:
    """(pack, mean tokens left at the end, expiry date) for the packs of `pool` with tokens left."""
    out = []
    for lot in results.lot_summaries():
        if lot["pool"] == pool:
            left = _left(lot)
            if left > 0.5:
                out.append((lot["name"], left, lot["expires"]))
    return out


def _left(lot: dict) -> float:
    """Mean tokens of a pack left at the end (what was neither consumed nor expired)."""
    return max(0.0, lot["tokens"] - lot["consumed"]["mean"] - lot["expired"]["mean"])


def in_topups(results: Results, pool: int) -> float:
    """Mean tokens left at the end in the reorder rule's top-ups (not in any listed pack)."""
    name = results.plan.pool_names[pool]
    packs = sum(_left(lot) for lot in results.lot_summaries() if lot["pool"] == name)
    return max(0.0, float(results.column("tokens_remaining", pool).mean()) - packs)


def alert_text(results: Results, pool: int) -> str:
    """When the low-balance alert fires; 'below the level at start' when it is from the first day."""
    sc, plan = results.scenario, results.plan
    threshold = sc.pools[pool].alert_below
    held = sum(lot.tokens for lot in plan.lots if lot.pool == pool and lot.date_day <= 0)
    level = threshold.level(held)
    what = threshold.describe() + ("" if threshold.tokens is not None else " of the tokens bought so far")
    if held < level:
        return (
            f"below its level ({what}) at start: {held:,} tokens after the first day's arrivals, "
            f"against {level:,}"
        )
    days = results.column("alert_day", pool)
    fired = days >= 0
    if not fired.any():
        return f"never fires in {results.runs:,} runs (level: {what})"
    median = results.pool_summary(pool)["alert_date"]["p50"]
    when = f"median date {median}" if median else "in fewer than half the runs"
    return f"fires in {fired.mean():.0%} of runs, {when} (level: {what})"


# -- rows shared by the plain text and the tables ------------------------------------------------
def pool_rows(results: Results, pool: int) -> list[tuple[str, str]]:
    """(answer, figure) rows of one pool, in the order the summary shows them."""
    name = results.plan.pool_names[pool]
    col = results.column
    out = int((col("run_out_day", pool) >= 0).sum())
    rows = [("Runs out before the end", risk_text(out, results.runs))]
    if out:
        dates, notes = run_out_dates(results, pool)
        rows.append(("Run-out date P10/P50/P90", dates + "".join(f"\n{n}" for n in notes)))
    rows.append(("Tokens consumed", mean_text(col("tokens_consumed", pool))))
    rows.append(("Tokens expired", mean_text(col("tokens_expired", pool))))
    left = left_at_end(results, name)
    at = "".join(f"\n{t:,.0f} of {p!r} expire {d}" for p, t, d in left)
    topped = in_topups(results, pool)
    if topped > 0.5:
        at += f"\n{topped:,.0f} in top-ups, each expiring a year after it arrives"
    rows.append(("Tokens left at the end", mean_text(col("tokens_remaining", pool)) + at))
    rows.append(("Blocked person-product-days", rare_text(col("blocked_days", pool))))
    rows.append(("Spend in the horizon (USD)", mean_text(col("spend", pool))))
    if col("topups", pool).any():
        rows.append(("Top-ups received", mean_text(col("topups", pool))))
    rows.append(("Low-balance alert", alert_text(results, pool)))
    return rows


def expiring_soon(results: Results, pool: str) -> list[tuple[str, float, str]]:
    """Packs with tokens left at the end that expire within EXPIRY_WINDOW_DAYS after it."""
    end = results.scenario.end + timedelta(days=1)
    return [
        (p, t, d)
        for p, t, d in left_at_end(results, pool)
        if end < date.fromisoformat(d) and (date.fromisoformat(d) - end).days <= EXPIRY_WINDOW_DAYS
    ]


def headline(results: Results, pool: int) -> str | None:
    """The line that names tokens expiring within 90 days after the horizon, if any."""
    soon = expiring_soon(results, results.plan.pool_names[pool])
    if not soon:
        return None
    what = ", ".join(f"{t:,.0f} tokens of {p!r} expire on {d}" for p, t, d in soon)
    return f"Soon after the end: {what} unless used by then."


PACK_HEADS = ("pack", "tokens", "consumed", "expired", "left", "expires", "expired USD")


def pack_rows(results: Results, pool: str) -> list[tuple[str, ...]]:
    """One row per pack of `pool`: mean tokens consumed, expired and left at the end, and expiry."""
    rows: list[tuple[str, ...]] = []
    for lot in results.lot_summaries():
        if lot["pool"] != pool:
            continue
        left = _left(lot)
        rows.append(
            (
                lot["name"],
                f"{lot['tokens']:,}",
                f"{lot['consumed']['mean']:,.0f}",
                f"{lot['expired']['mean']:,.0f}",
                f"{left:,.0f}",
                lot["expires"],
                f"{lot['expired_usd']['mean']:,.0f}",
            )
        )
    return rows


def _pack_table(rows: list[tuple[str, ...]], indent: str = "  ", width: int = WIDTH) -> list[str]:
    """Plain columns within `width`: the pack name wraps, the figures never do."""
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(PACK_HEADS)]
    rest = sum(widths[1:]) + len(widths) - 1 + len(indent)
    widths[0] = max(8, min(widths[0], width - rest))
    lines = []

    def line(cells: list[str]) -> None:
        first = textwrap.wrap(cells[0], widths[0]) or [""]
        figures = " ".join(f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:], strict=True))
        lines.append(f"{indent}{first[0]:<{widths[0]}} {figures}".rstrip())
        lines.extend(f"{indent}{more}" for more in first[1:])

    line(list(PACK_HEADS))
    for r in rows:
        line(list(r))
    return lines


def _title(results: Results) -> str:
    sc = results.scenario
    return (
        f"{sc.name}: {sc.start} to {sc.end}, {results.runs:,} runs, seed {results.seed}, "
        f"{results.engine} engine ({results.seconds:.1f} s)"
    )


def _precision_note(results: Results) -> str | None:
    if results.precision is None:
        return None
    if results.precision_reached:
        return f"Precision {results.precision:g} reached after {results.runs:,} runs."
    return (
        f"Precision {results.precision:g} NOT reached within {results.runs:,} runs: "
        "raise --runs or relax --precision."
    )


def _wrap(label: str, value: str, width: int) -> list[str]:
    """'  label: value', continuation lines (and a value's extra lines) indented under it."""
    out = []
    parts = value.split("\n")
    out.extend(
        textwrap.wrap(f"{label}: {parts[0]}", width - 2, initial_indent="  ", subsequent_indent="      ")
    )
    for extra in parts[1:]:
        out.extend(textwrap.wrap(extra, width - 2, initial_indent="      ", subsequent_indent="        "))
    return out


def summary_text(results: Results, recommendation: Recommendation | None = None, width: int = WIDTH) -> str:
    """The human summary printed by `flexsim run` (plain text, at most `width` columns)."""
    lines = textwrap.wrap(_title(results), width)
    note = _precision_note(results)
    if note:
        lines.append(note)
    lines.append("")
    for p, pool in enumerate(results.plan.pool_names):
        lines.append(f"Pool {pool}")
        soon = headline(results, p)
        if soon:
            lines.extend(textwrap.wrap(soon, width - 2, initial_indent="  ", subsequent_indent="  "))
        for label, value in pool_rows(results, p):
            lines.extend(_wrap(label, value, width))
        lines.append(f"  Packs (mean tokens over the {results.runs:,} runs):")
        lines.extend(_pack_table(pack_rows(results, pool), "    ", width))
        if recommendation is not None:
            lines.append("  What to do:")
            lines.extend("  " + x for x in advice_lines(recommendation.pools[p], width - 2))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def summary_table_text(
    results: Results, width: int = 100, color: bool = True, recommendation: Recommendation | None = None
) -> str:
    """The summary as tables for a terminal (rich): the same rows as `summary_text`, one table of
    answers per pool and one of its packs; names fold onto more lines, never cut short."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
    )
    from rich.markup import escape

    console.print(f"[bold]{escape(_title(results))}[/bold]")
    note = _precision_note(results)
    if note:
        console.print(escape(note))
    for p, pool in enumerate(results.plan.pool_names):
        table = Table(
            box=box.SIMPLE_HEAVY,
            title=f"Headline answers, pool {escape(pool)} (mean ±95% CI; P10-P90: middle 80% of runs)",
            title_justify="left",
            show_header=False,
        )
        table.add_column("answer", overflow="fold", max_width=30)
        table.add_column("figure", overflow="fold")
        soon = headline(results, p)
        if soon:
            table.add_row("[bold]Soon after the end[/bold]", escape(soon.split(": ", 1)[1]))
        for label, value in pool_rows(results, p):
            style = ""
            if label.startswith("Runs out"):
                risky = int((results.column("run_out_day", p) >= 0).sum()) / results.runs > 0.05
                style = "red" if risky else "green"
            table.add_row(escape(label), f"[{style}]{escape(value)}[/{style}]" if style else escape(value))
        console.print(table)
        packs = Table(box=box.SIMPLE_HEAVY, title="Packs (mean tokens over the runs)", title_justify="left")
        for k, head in enumerate(PACK_HEADS):
            packs.add_column(head, justify="left" if k == 0 else "right", overflow="fold", no_wrap=k > 0)
        for row in pack_rows(results, pool):
            packs.add_row(*(escape(c) for c in row))
        console.print(packs)
        if recommendation is not None:
            console.print("[bold]What to do[/bold]")
            console.print(escape("\n".join(advice_lines(recommendation.pools[p], width))))
        console.print()
    return buffer.getvalue()


def report_words(results: Results, recommendation: Recommendation | None) -> dict:
    """What the report says in words, per pool: the same rows and advice as the terminal."""
    out = {}
    for p, pool in enumerate(results.plan.pool_names):
        out[pool] = {
            "rows": pool_rows(results, p),
            "headline": headline(results, p),
            "alert": alert_text(results, p),
            "what_to_do": None if recommendation is None else advice_paragraphs(recommendation.pools[p]),
            "left": left_at_end(results, pool),
            "in_topups": in_topups(results, p),
        }
    return out


def pack_words(results: Results) -> dict[str, dict[str, str]]:
    """Per pack (by name), its tokens used and expired in the summary's words."""
    out = {}
    for lot in results.plan.lots:
        used = np.array([r.lot_consumed[lot.slot] for r in results.records])
        expired = np.array([r.lot_expired[lot.slot] for r in results.records])
        out[lot.name] = {"consumed": mean_text(used), "expired": mean_text(expired)}
    return out
