"""Charts as PNG bytes, drawn with matplotlib (an optional extra: `pip install 'flexsim[report]'`).

matplotlib is imported only here and only when a chart is asked for, with the non-interactive
Agg backend, so flexsim runs without it and never needs a display.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import TYPE_CHECKING

from flexsim.errors import OutputError

if TYPE_CHECKING:
    from flexsim.analysis.optimize import Sizing


def require_matplotlib():
    """The pyplot module, or a one-line error saying how to install it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        matplotlib.rcParams["text.parse_math"] = False  # names are plain text: "$15k @ $2.75" as written
        import matplotlib.pyplot as plt
    except ImportError:
        raise OutputError(
            "charts need matplotlib: install the report extra, "
            "python -m pip install 'flexsim[report]' (or '.[report]' in a checkout)"
        ) from None
    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    require_matplotlib().close(fig)  # pyplot keeps every figure open until told otherwise
    return buffer.getvalue()


def optimize_chart_png(data: Sizing) -> bytes:
    """Expected total cost (with its 95% interval) and run-out probability by candidate."""
    plt = require_matplotlib()
    cands = data.candidates
    by_size = all(c.tokens is not None for c in cands) and not data.policies
    xs = [c.tokens for c in cands] if by_size else list(range(len(cands)))
    cost = [c.expected_cost for c in cands]
    lo = [c.cost_ci95[0] if c.cost_ci95[0] is not None else c.expected_cost for c in cands]
    hi = [c.cost_ci95[1] if c.cost_ci95[1] is not None else c.expected_cost for c in cands]
    risk = [100 * c.run_out_probability for c in cands]
    fig, ax = plt.subplots(figsize=(9, 5))
    if by_size:  # a curve over sizes, with its band
        ax.fill_between(xs, lo, hi, color="tab:blue", alpha=0.2, label="95% interval of the mean")
        ax.plot(xs, cost, color="tab:blue", marker="o", ms=3, label="expected total cost")
    else:  # separate candidates: points with error bars, no lines between them
        ax.errorbar(
            xs,
            cost,
            yerr=[
                [c - a for c, a in zip(cost, lo, strict=True)],
                [b - c for c, b in zip(cost, hi, strict=True)],
            ],
            fmt="o",
            color="tab:blue",
            capsize=3,
            label="expected total cost (95% interval)",
        )
    ax.set_ylabel("expected total cost per run (USD)", color="tab:blue")
    ax.grid(alpha=0.3)
    twin = ax.twinx()
    twin.plot(
        xs,
        risk,
        color="tab:red",
        marker="s",
        ms=4,
        ls="-" if by_size else "none",
        label="run-out probability",
    )
    twin.set_ylabel("probability the pool runs out (%)", color="tab:red")
    twin.set_ylim(-2, 102)
    rec = data.recommended.summary
    rec_x = rec.tokens if by_size else next(i for i, c in enumerate(cands) if c.candidate == rec.candidate)
    ax.axvline(rec_x, color="black", ls="--", lw=1)
    ax.annotate(
        f"recommended:\n{rec.candidate}",
        xy=(rec_x, 0.97),
        xycoords=("data", "axes fraction"),
        xytext=(6, -24),
        textcoords="offset points",
        fontsize=9,
        va="bottom",
    )
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    bottom = ax.get_ylim()[0]
    if bottom > 0:  # zoomed in to show the differences: say so, it does not start at zero
        ax.set_ylabel(
            f"expected total cost per run (USD)\naxis cut: starts at {bottom:,.0f}, not 0", color="tab:blue"
        )
        ax.plot([0, 0.02], [0.0, 0.0], transform=ax.transAxes, color="tab:blue", lw=6, clip_on=False)
    else:
        ax.set_ylim(bottom=0)
    if by_size:
        ax.set_xlabel(f"size of pack {data.lot!r} (tokens)")
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    else:
        ax.set_xticks(xs, [c.candidate for c in cands], rotation=60, ha="right", fontsize=7)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(
        lines[0] + more[0],
        lines[1] + more[1],
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    ax.set_title(f"{data.scenario}: {data.runs} runs per candidate, seed {data.seed}", fontsize=10, pad=24)
    png = _png(fig)
    plt.close(fig)
    return png


def advise_chart_png(data: dict) -> bytes:
    """Each person's expected days of use per year (P10-P90 bars) against the break-even line,
    one panel per product that has a subscription price."""
    plt = require_matplotlib()
    products = sorted({p["product"] for p in data["people"] if p["subscription_price"] is not None})
    if not products:
        products = sorted({p["product"] for p in data["people"]})
    if not products:
        raise OutputError("--chart: the scenario has nobody using a product: nothing to chart")
    fig, axes = plt.subplots(len(products), 1, figsize=(9, 2.2 + 2.6 * len(products)), squeeze=False)
    for ax, product in zip(axes[:, 0], products, strict=True):
        rows = sorted(
            (p for p in data["people"] if p["product"] == product), key=lambda p: p["days_per_year"]["mean"]
        )
        xs = list(range(len(rows)))
        mean = [p["days_per_year"]["mean"] for p in rows]
        lo = [m - p["days_per_year"]["p10"] for m, p in zip(mean, rows, strict=True)]
        hi = [p["days_per_year"]["p90"] - m for m, p in zip(mean, rows, strict=True)]
        for rec, colour in (("flex", "tab:blue"), ("subscription", "tab:orange")):
            idx = [i for i, p in enumerate(rows) if p["recommendation"] == rec]
            if idx:
                ax.errorbar(
                    [xs[i] for i in idx],
                    [mean[i] for i in idx],
                    yerr=[[lo[i] for i in idx], [hi[i] for i in idx]],
                    fmt="o",
                    ms=3,
                    color=colour,
                    capsize=2,
                    label=f"advice: {rec}",
                )
        even = rows[0]["break_even_days_per_year"] if rows else None
        if even is not None:
            ax.axhline(even, color="black", ls="--", lw=1, label=f"break-even: {even:.0f} days a year")
        ax.set_title(product, fontsize=10)
        ax.set_ylabel("days of use per year")
        top = max([p["days_per_year"]["p90"] for p in rows] + [even or 0, 1])
        ax.set_ylim(0, top * 1.08)  # every P90 bar and the break-even line inside
        if len(rows) <= 60:
            ax.set_xticks(
                xs, [p["person"] for p in rows], rotation=70, ha="right", fontsize=6 if len(rows) > 30 else 8
            )
        else:  # too many names to read: the --csv and --json give them
            ax.set_xticks([])
            ax.set_xlabel(f"{len(rows)} people, sorted by expected days of use")
        ax.grid(alpha=0.3)
        ax.legend(
            fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0.0), frameon=False
        )  # never over a point
    fig.suptitle(
        f"{data['scenario']}: days of use (mean, P10-P90 bars), {data['runs']} runs, seed {data['seed']}",
        fontsize=10,
    )
    fig.tight_layout()
    png = _png(fig)
    plt.close(fig)
    return png


# -- forecast report charts (from `flexsim.analysis.forecast.forecast`) -----------------------------------


def _dates(texts):
    return [date.fromisoformat(t) for t in texts]


def _horizon(data: dict) -> tuple[date, date]:
    return date.fromisoformat(data["start"]), date.fromisoformat(data["end"])


def _date_axis(ax, first: date, last: date) -> None:
    """Dates of the horizon on the x axis: months, or quarters and years on long horizons."""
    import matplotlib.dates as mdates

    days = (last - first).days
    locator: mdates.DateLocator
    if days <= 450:
        locator = mdates.MonthLocator()
    elif days <= 1200:
        locator = mdates.MonthLocator(bymonth=(1, 4, 7, 10))
    else:
        locator = mdates.YearLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    ax.set_xlim(first, last + timedelta(days=3))  # room for a pack ending at the final midnight
    for label in ax.get_xticklabels():
        label.set_fontsize(8)


def _thousands():
    plt = require_matplotlib()
    return plt.FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _pool_panels(pools: list[str], height: float):
    """A figure with one panel per pool, stacked: (figure, [(axes, pool), ...])."""
    plt = require_matplotlib()
    fig, axes = plt.subplots(len(pools), 1, figsize=(10, height * len(pools)), squeeze=False)
    return fig, list(zip(axes[:, 0], pools, strict=True))


def _topup_arrivals(ax, x: list, per_day: list[float] | None) -> tuple[list, list[str]]:
    """Top-ups of a reorder rule arrive on different days in each run: bars of the mean number
    arriving per run in each week, on a scale of their own (right), drawn under the balance.
    Returns their legend entries."""
    if not per_day or not any(per_day):
        return [], []
    starts = range(0, len(per_day), 7)
    weeks = [sum(per_day[i : i + 7]) for i in starts]
    right = ax.twinx()
    right.bar(
        [x[i] for i in starts],
        weeks,
        width=6,
        align="edge",
        color="tab:green",
        alpha=0.35,
        label="top-ups arriving (mean per run and week, right)",
    )
    right.set_ylim(0, max(weeks) * 4)  # in the lower quarter, under the balance
    right.set_ylabel("top-ups arriving per week", fontsize=8, color="tab:green")
    right.tick_params(axis="y", labelsize=7, colors="tab:green")
    ax.set_zorder(right.get_zorder() + 1)  # the balance over the bars
    ax.patch.set_visible(False)
    return right.get_legend_handles_labels()


def balance_chart_png(data: dict) -> bytes:
    """Each pool's balance over time: median, P10-P90 band, pack end dates, the alert level."""
    fig, panels = _pool_panels(list(data["daily"]), 3.8)
    for ax, pool in panels:
        d = data["daily"][pool]
        x = _dates(d["date"])
        ax.fill_between(
            x,
            d["balance_p10"],
            d["balance_p90"],
            step="post",
            color="tab:blue",
            alpha=0.25,
            label="P10-P90 of runs (80% of runs inside)",
        )
        ax.step(x, d["balance_p50"], where="post", color="tab:blue", lw=2, label="median (P50)")
        ax.step(x, d["balance_mean"], where="post", color="navy", lw=1, ls=":", label="mean")
        ax.step(
            x,
            d["alert_level"],
            where="post",
            color="tab:orange",
            lw=1.2,
            ls="--",
            label="low-balance alert level",
        )
        top = max(max(d["balance_p90"]), 1)
        for lot in (lot for lot in data["lots"] if lot["pool"] == pool):
            end = _dates([lot["expires"]])[0]
            if x[0] <= end <= x[-1] + timedelta(days=1):  # the final midnight included
                ax.axvline(end, color="tab:red", lw=1, alpha=0.8)
                ax.text(
                    end,
                    top * 1.4,
                    f"{lot['name']} ends ",
                    rotation=90,
                    va="top",
                    ha="right",
                    fontsize=7,
                    color="tab:red",
                )
        advice = (data.get("recommendation") or {}).get("pools", {}).get(pool)
        if advice and advice.get("action") == "top-up" and advice.get("arrive_by"):
            when = _dates([advice["arrive_by"]])[0]
            ax.axvline(when, color="tab:green", lw=1.5, ls="-.", label="recommended top-up arrives")
            ax.text(
                when,
                top * 1.4,
                f"+{advice['topup']['tokens']:,} (What to do) ",
                rotation=90,
                va="top",
                ha="right",
                fontsize=7,
                color="tab:green",
            )
        extra = _topup_arrivals(ax, x, d.get("topups_mean"))
        ax.yaxis.set_major_formatter(_thousands())
        ax.set_ylim(0, top * 1.45)
        ax.set_title(
            f"Pool {pool}: tokens left at the end of each day ({data['runs']:,} runs)",
            fontsize=10,
            loc="left",
        )
        ax.set_ylabel("tokens")
        ax.grid(alpha=0.3)
        _date_axis(ax, *_horizon(data))
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles + extra[0],
            labels + extra[1],
            fontsize=7,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncol=4,
            frameon=False,
        )
    fig.tight_layout()
    return _png(fig)


def run_out_chart_png(data: dict) -> bytes:
    """When runs ran out (weekly share of runs) and the share that never did, per pool."""
    fig, panels = _pool_panels(list(data["run_out_weeks"]), 3.2)
    for ax, pool in panels:
        w = data["run_out_weeks"][pool]
        x = _dates(w["week_start"])
        share = [100 * c / w["total"] for c in w["runs"]]
        cum, total = [], 0.0
        for s in share:
            total += s
            cum.append(total)
        ax.bar(
            x,
            share,
            width=6,
            align="edge",
            color="tab:red",
            alpha=0.45,
            label="first ran out that week",
        )
        ax.step(x + [x[-1]], [0.0] + cum, where="post", color="black", lw=2, label="ran out by then")
        ax.set_ylim(0, max(5.0, total * 1.15))
        never = 100 * w["never"] / w["total"]
        q = data["pools"][pool]["run_out_date"]
        ax.set_title(
            f"Pool {pool}: when the tokens run out ({w['total']:,} runs)\n"
            f"{never:.1f}% of runs never run out.  Run-out date P10 / P50 / P90: "
            f"{q['p10'] or 'none'} / {q['p50'] or 'none'} / {q['p90'] or 'none'}",
            fontsize=9,
            loc="left",
        )
        if w["never"] == w["total"]:
            ax.text(0.5, 0.5, "no run ran out", transform=ax.transAxes, ha="center", color="grey")
        ax.set_ylabel("% of runs (one scale for both)", fontsize=8)
        ax.grid(alpha=0.3)
        _date_axis(ax, *_horizon(data))
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def waste_chart_png(data: dict) -> bytes:
    """Expected tokens expiring unused per pack, with the P10-P90 range and the USD lost."""
    plt = require_matplotlib()
    lots = data["lots"]
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(lots) + 1.6))
    names = [f"{lot['name']} ({lot['pool']}, {lot['tokens']:,})" for lot in lots]
    means = [lot["expired"]["mean"] for lot in lots]
    y = list(range(len(lots)))[::-1]
    ax.barh(y, means, color="tab:orange", alpha=0.8, label="expected tokens expiring unused")
    # The mean of a skewed waste can lie outside P10-P90 (most runs waste nothing): a range
    # drawn on its own, not as an error bar around the mean.
    for yi, lot in zip(y, lots, strict=True):
        ax.plot(
            [lot["expired_p10"], lot["expired_p90"]],
            [yi, yi],
            color="black",
            marker="|",
            ms=12,
            label="P10-P90 of runs" if yi == y[0] else None,
        )
    for yi, m, lot in zip(y, means, lots, strict=True):
        ax.text(
            m, yi + 0.25, f" {m:,.0f} tokens = ${lot['expired_usd']['mean']:,.0f}", fontsize=8, va="bottom"
        )
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xlabel("tokens expired")
    # A few tokens must look like a few: the axis spans at least a tenth of the largest pack.
    floor = 0.1 * max([lot["tokens"] for lot in lots] + [10])
    ax.set_xlim(0, max([lot["expired_p90"] for lot in lots] + means + [floor]) * 1.3)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.set_title(f"Expiry waste per pack ({data['runs']:,} runs)", fontsize=10, loc="left")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def burn_chart_png(data: dict) -> bytes:
    """Mean tokens consumed per calendar month, stacked by product, with the 95% interval."""
    plt = require_matplotlib()
    burn = data["monthly_burn"]
    months = burn["months"]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    x = list(range(len(months)))
    bottom = [0.0] * len(months)
    cmap = plt.get_cmap("tab20")
    for j, product in enumerate(burn["products"]):
        values = [row[j] for row in burn["mean"]]
        ax.bar(x, values, bottom=bottom, color=cmap(j % 20), label=product)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.errorbar(
        x,
        burn["total_mean"],
        yerr=burn["total_ci95_half"],
        fmt="none",
        ecolor="black",
        capsize=3,
        label="95% interval of the monthly mean",
    )
    ax.set_xticks(x, months, rotation=45, fontsize=8)
    ax.set_ylabel("tokens consumed (mean per run)")
    ax.yaxis.set_major_formatter(_thousands())
    ax.set_title(f"Token burn per month by product ({data['runs']:,} runs)", fontsize=10, loc="left")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7, ncol=4, loc="upper left", bbox_to_anchor=(0, -0.18))
    fig.tight_layout()
    return _png(fig)


_REPORT_DRAWINGS = {
    "balance.png": balance_chart_png,
    "run_out.png": run_out_chart_png,
    "waste.png": waste_chart_png,
    "burn.png": burn_chart_png,
}
REPORT_CHARTS = tuple(_REPORT_DRAWINGS)  # the report's chart files, in the page's order


def report_charts(data: dict) -> dict[str, bytes]:
    """Every chart of the forecast report, by file name."""
    return {name: draw(data) for name, draw in _REPORT_DRAWINGS.items()}
