"""What `flexsim compare` prints: each plan's figures side by side, then each plan's differences
from the baseline on the same runs, from the `compare --json` object
(`flexsim.analysis.compare.compare`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from flexsim.analysis.compare import MEASURES
from flexsim.output.layout import WIDTH, fold


def _num(value: float | None, unit: str, sign: bool = False) -> str:
    """A mean or bound as shown: USD and tokens whole, days and counts to one decimal."""
    if value is None:
        return "-"
    digits = 1 if unit in ("days", "count") else 0
    value = round(value, digits) + 0.0  # + 0.0 turns -0.0 into 0.0: no "-0" for a tiny negative
    return f"{value:{'+' if sign and value else ''},.{digits}f}"


def _pct(value: float) -> str:
    return f"{round(value * 100, 1) + 0.0:.1f}%"


def _points(value: float) -> str:
    """A difference of two probabilities, in percentage points."""
    points = round(value * 100, 1) + 0.0
    return f"{points:{'+' if points else ''}.1f} pts"


SAME = "the same in every run"


def _ci(interval: Sequence[float | None], fmt: Callable[[float], str]) -> str:
    """'a to b'; 'the same in every run' when nothing varies (0 in every run included)."""
    lo, hi = interval
    if lo is None:
        return ""
    return SAME if hi is None or lo == hi else f"{fmt(lo)} to {fmt(hi)}"


def _columns(title_rows: list[tuple[str, list[str]]], heads: list[str]) -> list[str]:
    """Lay out rows of (label, cells) under column headings, right-aligned; when the columns
    would not fit 80 columns, one line per scenario under each measure instead."""
    w_label = max(len(r[0]) for r in title_rows)
    widths = [max(len(h), *(len(r[1][i]) for r in title_rows)) for i, h in enumerate(heads)]
    if 2 + w_label + sum(2 + w for w in widths) <= WIDTH:
        lines = ["  " + " " * w_label + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths, strict=True))]
        for label, cells in title_rows:
            line = f"  {label:<{w_label}}" + "".join(
                f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True)
            )
            lines.append(line.rstrip())
        return lines
    w_head = max(len(h) for h in heads)
    w_mean = max(len(c) for label, cells in title_rows[::2] for c in cells)
    lines = []
    for (label, means), (_, cis) in zip(title_rows[::2], title_rows[1::2], strict=True):
        lines.append(f"  {label}")
        for head, mean, ci in zip(heads, means, cis, strict=True):
            ci = f"  ({ci})" if ci == SAME else f"  (95% CI {ci})" if ci else ""
            lines.append(f"    {head:<{w_head}}  {mean:>{w_mean}}{ci}")
    return lines


def _usd(value: float) -> str:
    return f"${value:,.0f}" if float(value).is_integer() else f"${value:,.2f}"


def _scenario_rows(result: dict, pool: str | None) -> list[tuple[str, list[str]]]:
    """Rows of the per-scenario table for one pool, or for all pools together (None)."""
    parts = [e["total"] if pool is None else e["pools"][pool] for e in result["scenarios"]]
    rows: list[tuple[str, list[str]]] = []
    for name, label, unit in MEASURES:
        if name == "topups" and all(not (p[name]["mean"] or 0) for p in parts):
            continue
        rows.append((label, [_num(p[name]["mean"], unit) for p in parts]))
        rows.append(("  95% CI", [_ci(p[name]["mean_ci95"], partial(_num, unit=unit)) for p in parts]))
    probs = [p["run_out_probability"] for p in parts]
    title = "P(a pool runs out)" if pool is None and len(result["pools"]) > 1 else "P(run out)"
    rows.append((title, [_pct(p["p"]) for p in probs]))
    rows.append(("  95% CI", [_ci(p["ci95"], _pct) for p in probs]))
    return rows


def _difference_lines(diff: dict, indent: str, run_out_title: str = "P(run out)") -> list[str]:
    rows = []
    for name, label, unit in MEASURES:
        d = diff[name]
        if name == "topups" and d["mean"] == 0 and d["ci95"][0] == d["ci95"][1]:
            continue
        rows.append(
            (
                label,
                _num(d["mean"], unit, True),
                _ci(d["ci95"], partial(_num, unit=unit, sign=True)).replace(
                    SAME, "none in any run" if d["mean"] == 0 else SAME
                ),
                d["significant"],
            )
        )
    d = diff["run_out"]
    lo, hi = (_points(v)[: -len(" pts")] for v in d["ci95"])
    rows.append((run_out_title, _points(d["mean"]), f"{lo} to {hi} pts", d["significant"]))
    w_label = max(len(r[0]) for r in rows)
    w_mean = max(len("difference"), *(len(r[1]) for r in rows))
    w_ci = max(len("95% CI"), *(len(r[2]) for r in rows))
    out = [f"{indent}{'':<{w_label}}  {'difference':>{w_mean}}  {'95% CI':>{w_ci}}  significant"]
    for label, mean, ci, sig in rows:
        out.append(f"{indent}{label:<{w_label}}  {mean:>{w_mean}}  {ci:>{w_ci}}  {'yes' if sig else 'no'}")
    return out


def table_text(result: dict) -> str:
    """The plain-text comparison: one column per scenario, then the differences vs the baseline."""
    heads = [e["label"] for e in result["scenarios"]]
    lines = [
        f"Comparing {len(heads)} scenarios on the same {result['runs']:,} runs (seed "
        f"{result['seed']}); baseline: {result['baseline_label']}",
        "",
    ]
    for e in result["scenarios"]:
        priced = (
            f"a blocked day costs {_usd(e['blocked_day'])}"
            if e["blocked_days_priced"]
            else "blocked days not priced"
        )
        lines.append(f'  {e["label"]}: {e["file"]}, "{e["name"]}", {priced}')
    lines.append("")
    if result["warning"]:
        detail = "; ".join(f"{k}: {', '.join(v)} differ" for k, v in result["people_differences"].items())
        lines += [f"Warning: {result['warning']} ({detail}).", ""]
    for note in result["notes"]:
        lines += [f"Note: {note}.", ""]

    pools = result["pools"]
    title = "All pools" if len(pools) > 1 else f"Pool {pools[0]}"
    lines.append(f"{title} (mean per run, 95% CI of the mean):")
    lines += _columns(_scenario_rows(result, None), heads)
    if len(pools) > 1:
        for pool in pools:
            lines += ["", f"Pool {pool}:"]
            lines += _columns(_scenario_rows(result, pool), heads)

    for diff in result["differences"]:
        lines += [
            "",
            f"{diff['label']} minus {diff['against']}, run by run on the same runs "
            f"(the mean difference and its 95% CI):",
        ]
        lines += _difference_lines(
            diff["total"], "  ", "P(a pool runs out)" if len(pools) > 1 else "P(run out)"
        )
        lines.append(
            f"  {diff['label']} cost less in {_pct(diff['share_of_runs_cheaper'])} of runs "
            f"and more in {_pct(diff['share_of_runs_dearer'])}."
        )
        if len(pools) > 1:
            for pool in pools:
                lines += [f"  Pool {pool}:"]
                lines += _difference_lines(diff["pools"][pool], "    ")
    return "\n".join(fold(lines)) + "\n"
