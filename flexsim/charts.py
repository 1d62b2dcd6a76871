"""Charts as PNG bytes, drawn with matplotlib (an optional extra: `pip install 'flexsim[report]'`).

matplotlib is imported only here and only when a chart is asked for, with the non-interactive
Agg backend, so flexsim runs without it and never needs a display.
"""

from __future__ import annotations

import io

from flexsim.errors import OutputError


def require_matplotlib():
    """The pyplot module, or a one-line error saying how to install it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise OutputError("charts need matplotlib: install the report extra, "
                          "python -m pip install 'flexsim[report]' (or '.[report]' in a checkout)") from None
    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    return buffer.getvalue()


def optimize_chart_png(data: dict) -> bytes:
    """Expected total cost (with its 95% interval) and run-out probability by candidate."""
    plt = require_matplotlib()
    cands = data["candidates"]
    by_size = all(c["tokens"] is not None for c in cands) and not any(
        "reorder_tokens" in c for c in cands)
    xs = [c["tokens"] for c in cands] if by_size else list(range(len(cands)))
    cost = [c["expected_cost"] for c in cands]
    lo = [c["cost_ci95"][0] if c["cost_ci95"][0] is not None else c["expected_cost"] for c in cands]
    hi = [c["cost_ci95"][1] if c["cost_ci95"][1] is not None else c["expected_cost"] for c in cands]
    risk = [100 * c["run_out_probability"] for c in cands]
    fig, ax = plt.subplots(figsize=(9, 5))
    if by_size:  # a curve over sizes, with its band
        ax.fill_between(xs, lo, hi, color="tab:blue", alpha=0.2, label="95% interval of the mean")
        ax.plot(xs, cost, color="tab:blue", marker="o", ms=3, label="expected total cost")
    else:  # separate candidates: points with error bars, no lines between them
        ax.errorbar(xs, cost, yerr=[[c - a for c, a in zip(cost, lo, strict=True)],
                                    [b - c for c, b in zip(cost, hi, strict=True)]],
                    fmt="o", color="tab:blue", capsize=3,
                    label="expected total cost (95% interval)")
    ax.set_ylabel("expected total cost per run (USD)", color="tab:blue")
    ax.grid(alpha=0.3)
    twin = ax.twinx()
    twin.plot(xs, risk, color="tab:red", marker="s", ms=4, ls="-" if by_size else "none",
              label="run-out probability")
    twin.set_ylabel("probability the pool runs out (%)", color="tab:red")
    twin.set_ylim(-2, 102)
    rec = data["recommended"]
    rec_x = rec["tokens"] if by_size else next(
        i for i, c in enumerate(cands) if c["candidate"] == rec["candidate"])
    ax.axvline(rec_x, color="black", ls="--", lw=1)
    ax.annotate(f"recommended:\n{rec['candidate']}", xy=(rec_x, 0.97),
                xycoords=("data", "axes fraction"), xytext=(6, -24), textcoords="offset points",
                fontsize=9, va="bottom")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    if by_size:
        ax.set_xlabel(f"size of pack {data['lot']!r} (tokens)")
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    else:
        ax.set_xticks(xs, [c["candidate"] for c in cands], rotation=60, ha="right", fontsize=7)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower left", bbox_to_anchor=(0, 1.0),
              ncol=3, fontsize=8, frameon=False)
    ax.set_title(f"{data['scenario']}: {data['runs']} runs per candidate, seed {data['seed']}",
                 fontsize=10, pad=24)
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
        rows = sorted((p for p in data["people"] if p["product"] == product),
                      key=lambda p: p["days_per_year"]["mean"])
        xs = list(range(len(rows)))
        mean = [p["days_per_year"]["mean"] for p in rows]
        lo = [m - p["days_per_year"]["p10"] for m, p in zip(mean, rows, strict=True)]
        hi = [p["days_per_year"]["p90"] - m for m, p in zip(mean, rows, strict=True)]
        for rec, colour in (("flex", "tab:blue"), ("subscription", "tab:orange")):
            idx = [i for i, p in enumerate(rows) if p["recommendation"] == rec]
            if idx:
                ax.errorbar([xs[i] for i in idx], [mean[i] for i in idx],
                            yerr=[[lo[i] for i in idx], [hi[i] for i in idx]], fmt="o", ms=3,
                            color=colour, capsize=2, label=f"advice: {rec}")
        even = rows[0]["break_even_days_per_year"] if rows else None
        if even is not None:
            ax.axhline(even, color="black", ls="--", lw=1,
                       label=f"break-even: {even:.0f} days a year")
        ax.set_title(product, fontsize=10)
        ax.set_ylabel("days of use per year")
        ax.set_ylim(bottom=0)
        if len(rows) <= 60:
            ax.set_xticks(xs, [p["person"] for p in rows], rotation=70, ha="right",
                          fontsize=6 if len(rows) > 30 else 8)
        else:  # too many names to read: the --csv and --json give them
            ax.set_xticks([])
            ax.set_xlabel(f"{len(rows)} people, sorted by expected days of use")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"{data['scenario']}: days of use (mean, P10-P90 bars), {data['runs']} runs, "
                 f"seed {data['seed']}", fontsize=10)
    fig.tight_layout()
    png = _png(fig)
    plt.close(fig)
    return png
