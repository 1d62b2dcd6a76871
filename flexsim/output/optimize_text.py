"""What `flexsim optimize` prints: the candidates as a table, the recommendation and its paired
comparisons, from a `Sizing` (`flexsim.analysis.optimize.sizing`)."""

from __future__ import annotations

from flexsim.analysis.optimize import CandidateSummary, Sizing
from flexsim.output.layout import fold


def _policy_cells(c: CandidateSummary) -> list[str]:
    assert c.reorder is not None  # a candidate of a policy search
    return [c.reorder.below.describe(), f"{c.reorder.tokens:,}"]


def _signed(usd: float) -> str:
    """Whole dollars with their sign; a value that rounds to 0 is '0', never '-0' or '+0'."""
    whole = round(usd)
    return f"{whole:+,}" if whole else "0"


def table_text(data: Sizing) -> str:
    """The candidates as a table that fits 80 columns (the recommended one marked *), then the
    recommendation and how it compares with its neighbours, in words."""
    rec = data.recommended
    cands = data.candidates
    policies = data.policies
    sizes = cands[0].tokens is not None
    prices = {c.price for c in cands} if sizes else set()
    heads = (["tokens"] if sizes else []) + (["USD/tok"] if len(prices) > 1 else [])
    heads += ["below", "top-up"] if policies else []
    rows = []
    for c in cands:
        lo, hi = c.cost_ci95
        cost = f"{c.expected_cost:,.0f}"
        if lo is not None and hi is not None:
            cost += " (the same in every run)" if lo == hi else f" ({lo:,.0f} to {hi:,.0f})"
        first = [f"{c.tokens:,}"] if c.tokens is not None else []
        if len(prices) > 1 and c.price is not None:
            first.append(f"{c.price:.2f}")
        if policies:
            first += _policy_cells(c)
        rows.append((first, cost, c.candidate == rec.summary.candidate))
    widths = [max(len(h), *(len(r[0][k]) for r in rows)) for k, h in enumerate(heads)]
    w_cost = max(len("expected cost USD (95% CI)"), *(len(r[1]) for r in rows))
    what = f"sizing pack {data.lot!r}" if data.lot else "choosing a top-up policy"
    if len(prices) == 1:
        what += f" at {next(iter(prices)):.2f} USD a token"
    noun = "candidate" if len(cands) == 1 else "candidates"
    lines = fold(
        [
            f"{data.scenario}: {what} over {len(cands)} {noun}, {data.runs} runs each "
            f"(the same runs for every candidate), seed {data.seed}",
            "",
        ]
    )
    head = " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True))
    lines.append(
        f"  {head}  {'expected cost USD (95% CI)':<{w_cost}} {'P(out)':>6} {'expired':>7} {'blocked':>7}"
    )
    for (first, cost, is_rec), c in zip(rows, cands, strict=True):
        cells = " ".join(f"{v:>{w}}" for v, w in zip(first, widths, strict=True))
        lines.append(
            f"{'*' if is_rec else ' '} {cells}  {cost:<{w_cost}} {c.run_out_probability:>6.1%} "
            f"{c.expected_expired:>7,.0f} {c.expected_blocked_days:>7,.1f}"
        )
    lines.append(
        "  (P(out): run-out probability; expired: tokens expired; blocked: blocked person-product-days;"
        " means per run)"
    )
    lines.append("")
    best = rec.summary.candidate
    if data.objective == "cost":
        lines.append(f"Recommended (*): {best}, the lowest expected total cost (purchases + blocked days).")
    elif rec.meets_limit:
        rule = "the cheapest candidate" if policies else "the smallest size"
        lines.append(
            f"Recommended (*): {best}, {rule} whose run-out probability is within "
            f"{data.max_run_out:.1%} with 95% confidence."
        )
    else:
        hint = "larger sizes" if data.lot else "higher levels or larger top-ups"
        lines.append(
            f"No candidate keeps the run-out probability within {data.max_run_out:.1%} with 95% "
            f"confidence: {best} comes closest. Try {hint} or more runs."
        )
    flat = rec.flat_region
    if len(flat) > 1:
        what = "expected cost" if data.objective == "cost" else "run-out probability"
        lines.append(
            f"As good on {what} (no significant difference on the same runs"
            + (", and within the limit" if data.objective == "service" else "")
            + "): "
            + ("; ".join(flat) if len(flat) <= 6 else f"{flat[0]} to {flat[-1]} ({len(flat)} candidates)")
            + "."
        )
    for comp in rec.compared_with:
        d = comp.cost_difference
        verdict = "a significant difference" if d.significant else "not significant"
        low, high = (_signed(v) for v in d.ci95)
        lines.append(
            f"  vs {comp.candidate}: cost difference {_signed(d.mean)} USD "
            f"(95% CI {low} to {high}), {verdict}"
        )
    return "\n".join(fold(lines)) + "\n"
