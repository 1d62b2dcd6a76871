"""What `flexsim optimize` prints: the candidates as a table, the recommendation and its paired
comparisons, from a `Sizing` (`flexsim.analysis.optimize.sizing`)."""

from __future__ import annotations

from flexsim.analysis.optimize import CandidateSummary, Sizing


def _policy_cells(c: CandidateSummary) -> list[str]:
    assert c.reorder is not None  # a candidate of a policy search
    return [c.reorder.below.describe(), f"{c.reorder.tokens:,}"]


def table_text(data: Sizing) -> str:
    rec = data.recommended
    cands = data.candidates
    policies = data.policies
    rows = []
    for c in cands:
        lo, hi = c.cost_ci95
        ci = "" if lo is None or hi is None else f"({lo:,.0f} to {hi:,.0f})"
        first = [] if c.tokens is None or c.price is None else [f"{c.tokens:,}", f"{c.price:.2f}"]
        if policies:
            first += _policy_cells(c)
        rows.append((first, f"{c.expected_cost:,.0f}", ci, c.candidate == rec.summary.candidate))
    heads = ([] if cands[0].tokens is None else ["tokens", "USD/token"]) + (
        ["top up below", "top-up tokens"] if policies else []
    )
    widths = [max(len(h), *(len(r[0][k]) for r in rows)) for k, h in enumerate(heads)]
    w_cost = max(len("expected cost"), *(len(r[1]) for r in rows))
    w_ci = max(len("95% CI"), *(len(r[2]) for r in rows))
    what = f"sizing pack {data.lot!r}" if data.lot else "choosing a top-up policy"
    noun = "candidate" if len(cands) == 1 else "candidates"
    lines = [
        f"{data.scenario}: {what} over {len(cands)} {noun}, {data.runs} runs each "
        f"(the same runs for every candidate), seed {data.seed}",
        "",
    ]
    head = " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True))
    lines.append(
        f"  {head}  {'expected cost':>{w_cost}} {'95% CI':<{w_ci}} {'P(run out)':>10} "
        f"{'expired':>9} {'blocked days':>12}"
    )
    for (first, cost, ci, is_rec), c in zip(rows, cands, strict=True):
        cells = " ".join(f"{v:>{w}}" for v, w in zip(first, widths, strict=True))
        mark = "  <- recommended" if is_rec else ""
        lines.append(
            f"  {cells}  {cost:>{w_cost}} {ci:<{w_ci}} {c.run_out_probability:>10.1%} "
            f"{c.expected_expired:>9,.0f} {c.expected_blocked_days:>12,.1f}{mark}"
        )
    lines.append("")
    best = rec.summary.candidate
    if data.objective == "cost":
        lines.append(f"Recommended: {best}, the lowest expected total cost (purchases + blocked days).")
    elif rec.meets_limit:
        rule = "the cheapest candidate" if policies else "the smallest size"
        lines.append(
            f"Recommended: {best}, {rule} whose run-out probability is within "
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
            f"As good on {what} (no significant difference on the same runs): "
            + ("; ".join(flat) if len(flat) <= 6 else f"{flat[0]} to {flat[-1]} ({len(flat)} candidates)")
            + "."
        )
    for comp in rec.compared_with:
        d = comp.cost_difference
        verdict = "a significant difference" if d.significant else "not significant"
        lines.append(
            f"  vs {comp.candidate}: cost difference {d.mean:+,.0f} USD "
            f"(95% CI {d.ci95[0]:+,.0f} to {d.ci95[1]:+,.0f}), {verdict}"
        )
    return "\n".join(lines) + "\n"
