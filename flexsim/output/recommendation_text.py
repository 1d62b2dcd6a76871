"""'What to do' in words, pool by pool, from a `Recommendation` (`flexsim.analysis.recommend`):
the terminal summary, its tables and the report use the same paragraphs."""

from __future__ import annotations

import textwrap

from flexsim.analysis.recommend import EXPIRY_WINDOW_DAYS, Interval, PoolAdvice


def _pct(x: Interval) -> str:
    return f"{x.value:.1%} (95% CI {x.low:.1%} to {x.high:.1%})"


def advice_lines(advice: PoolAdvice, width: int = 80) -> list[str]:
    """'What to do' for one pool, wrapped to `width` columns for a terminal."""
    lines = []
    for paragraph in advice_paragraphs(advice):
        lines.extend(textwrap.wrap(paragraph, width=width - 4, initial_indent="  ", subsequent_indent="    "))
    return lines


def advice_paragraphs(advice: PoolAdvice) -> list[str]:
    """'What to do' for one pool, one paragraph per point (the terminal and the report use them)."""
    a = advice
    words: list[str] = []
    if a.action == "none":
        words.append(
            f"Nothing needed: the run-out risk, {_pct(a.now.run_out)}, is within the {a.target:.0%} "
            "target with 95% confidence."
        )
        lc = a.least_cost
        if lc is not None and lc.total_cost is not None:
            words.append(
                f"The {_mean_words(a.now.blocked_days)} blocked person-product-days expected (in "
                "the runs that run short) cost less than any top-up tried: the least expected total "
                f"cost (purchases + blocked days) is with no top-up, USD {lc.total_cost.value:,.0f} "
                f"(95% CI {lc.total_cost.low:,.0f} to {lc.total_cost.high:,.0f})."
            )
        words.extend(_expiry_words(a))
    elif a.action == "more-runs":
        words.append(
            f"Not known yet: {a.reason}. Run again with --runs {a.runs_needed:,} or more "
            f"(risk now {_pct(a.now.run_out)})."
        )
        words.extend(_expiry_words(a))
    else:
        t = a.topup
        assert t is not None
        when = (
            f"order now (the {a.lead_days}-workday lead time leaves no slack): it arrives {a.arrive_by}"
            if a.order_now
            else f"order by {a.order_by} so that it arrives by {a.arrive_by} "
            f"({a.lead_days} workdays' lead time)"
        )
        if a.action == "top-up":
            words.append(
                f"Top up {t.tokens:,} tokens (USD {t.cost:,.0f} at {t.price:.2f}): {when}. "
                f"Why: {a.reason}. After it: run-out risk {_pct(t.run_out)}, within the "
                f"{a.target:.0%} target with 95% confidence; blocked person-product-days "
                f"{_mean_words(t.blocked_days)}."
            )
        else:
            words.append(
                f"No top-up helps enough ({a.reason}): the largest tried, {t.tokens:,} tokens "
                f"({when}), leaves a run-out risk of {_pct(t.run_out)} and "
                f"{_mean_words(t.blocked_days)} blocked person-product-days. They come from runs "
                "that are short before a top-up could arrive: buy more at the start, or sooner."
            )
        lc = a.least_cost
        total = None if lc is None else lc.total_cost
        if lc is not None and total is not None:
            what = "no top-up" if lc.tokens == 0 else f"a top-up of {lc.tokens:,} tokens"
            words.append(
                f"Least expected total cost (purchases + blocked days): {what}, USD "
                f"{total.value:,.0f} (95% CI {total.low:,.0f} to {total.high:,.0f})"
                + (
                    ""
                    if lc.run_out.value <= a.target
                    else f", but with a run-out risk of {lc.run_out.value:.1%}"
                )
                + "."
            )
    return words


def _mean_words(x: Interval) -> str:
    if x.high is None:
        return "none in any run"
    if x.low == x.high:
        return f"{x.value:,.0f} in every run"
    return f"{x.value:,.1f} (95% CI {x.low:,.1f} to {x.high:,.1f})"


def _expiry_words(a: PoolAdvice) -> list[str]:
    out = []
    lost = [e for e in a.expiring if not e.after_horizon]
    soon = [e for e in a.expiring if e.after_horizon]
    if a.expired is not None and a.expired.value > 0:
        lo, hi = a.expired.low, a.expired.high
        ci = "" if lo is None or lo == hi else f" (95% CI {lo:,.0f} to {hi:,.0f})"
        at = ", ".join(f"{e.tokens:,.0f} of {e.pack!r} on {e.expires}" for e in lost)
        out.append(f"About {a.expired.value:,.0f} tokens{ci} are expected to expire unused: {at}.")
    else:
        out.append("No tokens are expected to expire unused in the horizon.")
    if soon:
        at = ", ".join(f"{e.tokens:,.0f} of {e.pack!r} on {e.expires}" for e in soon)
        out.append(f"Left at the end and expiring within {EXPIRY_WINDOW_DAYS} days after it: {at}.")
    return out
