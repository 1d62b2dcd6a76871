"""What `flexsim run` prints: the plain-text summary, and the same answers as tables on a terminal."""

from __future__ import annotations

import io

from flexsim.api import Results


def _range(s: dict, fmt: str = "{:,.0f}") -> str:
    if s["mean"] is None:
        return "-"
    lo, hi = s["mean_ci95"]
    err = "" if lo is None else f" ±{(hi - lo) / 2:,.0f}"
    return f"{fmt.format(s['mean'])}{err}  (90% of runs {fmt.format(s['p05'])} to {fmt.format(s['p95'])})"


def summary_text(results: Results) -> str:
    """The human summary printed by `flexsim run`."""
    sc = results.scenario
    data = results.to_json()
    lines = [
        f"{sc.name}: {sc.start} to {sc.end}, {results.runs} runs, seed {results.seed}, "
        f"{results.engine} engine ({results.seconds:.1f} s)",
        "",
    ]
    if results.precision is not None:
        if results.precision_reached:
            note = f"Precision {results.precision:g} reached after {results.runs} runs."
        else:
            note = (
                f"Precision {results.precision:g} NOT reached within {results.runs} runs: "
                "raise --runs or relax --precision."
            )
        lines.insert(1, note)
    for pool, s in data["pools"].items():
        prob = s["run_out_probability_detail"]
        lo, hi = prob["ci95"]
        lines.append(f"Pool {pool}")
        lines.append(f"  Runs out before the end:  {prob['p']:.1%}  (95% CI {lo:.1%} to {hi:.1%})")
        q = s["run_out_date"]
        if any(q.values()):
            lines.append(
                f"  Run-out date P10/P50/P90: {q['p10'] or 'none'} / {q['p50'] or 'none'} / "
                f"{q['p90'] or 'none'}  (none: fewer runs ran out)"
            )
        lines.append(f"  Tokens consumed:  {_range(s['tokens_consumed'])}")
        lines.append(f"  Tokens expired:   {_range(s['tokens_expired'])}")
        lines.append(f"  Tokens remaining: {_range(s['tokens_remaining'])}")
        lines.append(f"  Blocked person-product-days: {_range(s['blocked_days'])}")
        lines.append(f"  Spend in the horizon (USD): {_range(s['spend'])}")
        if s["topups"]["mean"]:
            lines.append(f"  Top-ups received: {_range(s['topups'], '{:,.1f}')}")
        a = s["alert_date"]
        if s["alert_probability"] > 0:
            lines.append(
                f"  Low-balance alert fires in {s['alert_probability']:.0%} of runs; "
                f"median date {a['p50'] or 'later than half the runs'}"
            )
        lines.append("")
    lines.append("Packs (mean tokens over the runs, 95% CI half-width):")
    width = max([len(lot["name"]) for lot in data["lots"]] + [4])
    pool_width = max([len(lot["pool"]) for lot in data["lots"]] + [4])
    lines.append(
        f"  {'pack':<{width}}  {'pool':<{pool_width}} {'tokens':>8} {'consumed':>16} "
        f"{'expired':>16} {'expired USD':>12}"
    )
    for lot in data["lots"]:

        def cell(s: dict) -> str:
            lo, hi = s["mean_ci95"]
            err = "" if lo is None else f" ±{(hi - lo) / 2:,.0f}"
            return f"{s['mean']:,.0f}{err}"

        lines.append(
            f"  {lot['name']:<{width}}  {lot['pool']:<{pool_width}} {lot['tokens']:>8,} "
            f"{cell(lot['consumed']):>16} {cell(lot['expired']):>16} "
            f"{lot['expired_usd']['mean']:>12,.0f}"
        )
    return "\n".join(lines) + "\n"


def _ci_text(s: dict, fmt: str = "{:,.0f}") -> str:
    half = None if s["mean_ci95"][0] is None else (s["mean_ci95"][1] - s["mean_ci95"][0]) / 2
    return fmt.format(s["mean"]) + ("" if half is None else f" ± {fmt.format(half)}")


def summary_table_text(results: Results, width: int = 100, color: bool = True) -> str:
    """The summary as tables for a terminal (rich): the same headline answers as `summary_text`.

    Pools side by side, one row per answer; then the packs. Means carry their 95% interval.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    data = results.to_json()
    sc = results.scenario
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
    )
    head = (
        f"[bold]{sc.name}[/bold]: {sc.start} to {sc.end}, {results.runs:,} runs, seed "
        f"{results.seed}, {results.engine} engine ({results.seconds:.1f} s)"
    )
    console.print(head)
    if results.precision is not None:
        console.print(
            f"Precision {results.precision:g} "
            f"{'reached' if results.precision_reached else '[red]NOT reached[/red]'} "
            f"after {results.runs:,} runs"
        )
    table = Table(
        box=box.SIMPLE_HEAVY, title="Headline answers (mean ± 95% CI unless said)", title_justify="left"
    )
    table.add_column("")
    pools = data["pools"]
    for pool in pools:
        table.add_column(f"pool {pool}", justify="right")

    def row(label: str, cell) -> None:
        table.add_row(label, *(cell(s) for s in pools.values()))

    def risk(s: dict) -> str:
        d = s["run_out_probability_detail"]
        style = "red" if d["p"] > 0.05 else "green"
        return f"[{style}]{d['p']:.1%}[/{style}] ({d['ci95'][0]:.1%} to {d['ci95'][1]:.1%})"

    row("Runs out before the end", risk)
    row(
        "Run-out date P10 / P50 / P90",
        lambda s: " / ".join(s["run_out_date"][k] or "none" for k in ("p10", "p50", "p90")),
    )
    row("Low-balance alert: share of runs", lambda s: f"{s['alert_probability']:.0%}")
    row("Low-balance alert date P50", lambda s: s["alert_date"]["p50"] or "none")
    row("Tokens consumed", lambda s: _ci_text(s["tokens_consumed"]))
    row("Tokens expiring unused", lambda s: _ci_text(s["tokens_expired"]))
    row("Tokens left at the end", lambda s: _ci_text(s["tokens_remaining"]))
    row("Blocked person-product-days", lambda s: _ci_text(s["blocked_days"], "{:,.1f}"))
    row("Spend in the horizon (USD)", lambda s: _ci_text(s["spend"]))
    if any(s["topups"]["mean"] for s in pools.values()):
        row("Top-ups received", lambda s: _ci_text(s["topups"], "{:,.1f}"))
    console.print(table)
    packs = Table(box=box.SIMPLE_HEAVY, title="Packs (mean ± 95% CI)", title_justify="left")
    for name, justify in (
        ("pack", "left"),
        ("pool", "left"),
        ("tokens", "right"),
        ("consumed", "right"),
        ("expired", "right"),
        ("expired USD", "right"),
    ):
        packs.add_column(name, justify=justify)
    for lot in data["lots"]:
        packs.add_row(
            lot["name"],
            lot["pool"],
            f"{lot['tokens']:,}",
            _ci_text(lot["consumed"]),
            _ci_text(lot["expired"]),
            f"{lot['expired_usd']['mean']:,.0f}",
        )
    console.print(packs)
    return buffer.getvalue()
