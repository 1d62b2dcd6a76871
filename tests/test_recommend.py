"""The recommendation in every forecast, checked against an exact case and through the CLI.

Twelve people each launch Revit (10 tokens) on a workday with probability 1/4, at 10:00, for a
6-hour session: the year's charges are Binomial(12 x 261, 1/4), and the pool runs out exactly
when they exceed what its packs hold. With a top-up of S tokens arriving at 00:00 of day D, the
pool runs out when the charges before D exceed the bundle's, or the year's exceed the bundle's
plus the top-up's: an exact probability from scipy.stats.binom.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from conftest import solo
from scipy import stats as sps

from flexsim.analysis.recommend import STEP, recommend
from flexsim.api import simulate
from flexsim.cli import main
from flexsim.engine.plan import Plan
from flexsim.scenario.model import Lot, one_year_after

P = 0.25
PEOPLE = 12
BUNDLE = 7830  # tokens: about the mean demand, so about half the runs run out
RATE = 10


def binomial_pool(runs: int = 1000):
    sc = solo(
        count=PEOPLE,
        days_per_week=5 * P,
        lots=(Lot("bundle", date(2026, 1, 1), BUNDLE, 2.75, date(2027, 1, 1), price_given=True),),
    )
    return replace(sc, runs=runs, seed=21)


def exact_risk(sc, arrive: date, topup: int) -> float:
    """P(the pool runs out) with `topup` tokens arriving at 00:00 of `arrive`."""
    plan = Plan(sc)
    day = (arrive - sc.start).days
    before = PEOPLE * int((plan.workdays < day).sum())
    after = PEOPLE * plan.n_workdays - before
    b, m = BUNDLE // RATE, (BUNDLE + topup) // RATE
    x1 = np.arange(b + 1)
    safe = float((sps.binom.pmf(x1, before, P) * sps.binom.cdf(m - x1, after, P)).sum())
    return 1 - safe


def smallest_exact(sc, arrive: date, target: float) -> int:
    """The smallest top-up (any whole number of tokens) whose exact risk is within the target."""
    s = 0
    while exact_risk(sc, arrive, s) > target:
        s += RATE
    return max(0, s - RATE + 1) if s and exact_risk(sc, arrive, s - RATE + 1) <= target else s


@pytest.mark.parametrize("target", [0.05, 0.10])
def test_the_recommended_top_up_is_the_smallest_that_holds_the_exact_risk(target):
    sc = binomial_pool()
    res = simulate(sc)
    rec = recommend(res, target=target, lead_days=0)
    advice = rec.pools[0]
    assert advice.action == "top-up" and advice.now.run_out.value > target
    arrive = date.fromisoformat(advice.arrive_by)
    size = advice.topup.tokens
    exact = smallest_exact(sc, arrive, target)
    # Within the target, exactly; and no more than one step above the exact smallest size
    # (rounded up to whole steps): the 95% confidence costs at most one step here.
    assert exact_risk(sc, arrive, size) <= target
    assert size % STEP == 0
    assert size <= STEP * -(-exact // STEP) + STEP, (size, exact)
    # The risk it reports is that of the forecast's runs with that top-up really added.
    topped = replace(sc, lots=sc.lots + (Lot("t", arrive, size, 3.0, one_year_after(arrive)),))
    again = simulate(topped)
    assert advice.topup.runs_out == int((again.column("run_out_day") >= 0).sum())
    assert advice.topup.blocked_days.value == pytest.approx(again.column("blocked_days").mean())
    assert advice.topup.run_out.high <= target


def test_every_size_tried_matches_a_plain_simulation():
    """The shortcut (only runs that came up short simulated again) changes nothing."""
    sc = binomial_pool(300)
    res = simulate(sc)
    advice = recommend(res, lead_days=3).pools[0]
    arrive = date.fromisoformat(advice.arrive_by)
    assert advice.order_by < advice.arrive_by
    for option in advice.tried:
        topped = replace(sc, lots=sc.lots + (Lot("t", arrive, option.tokens, 3.0, one_year_after(arrive)),))
        again = simulate(topped)
        assert option.runs_out == int((again.column("run_out_day") >= 0).sum())
        assert option.expired.value == pytest.approx(again.column("tokens_expired").mean())


def test_nothing_needed_says_so_and_names_what_expires():
    sc = replace(binomial_pool(200), lots=(Lot("bundle", date(2026, 1, 1), 9000, 2.75, date(2027, 1, 1)),))
    advice = recommend(simulate(sc)).pools[0]
    assert advice.action == "none" and advice.topup is None
    assert advice.expired.value > 0 and advice.expiring[0].pack == "bundle"


def test_too_few_runs_asks_for_more():
    sc = replace(binomial_pool(20), lots=(Lot("bundle", date(2026, 1, 1), 9000, 2.75, date(2027, 1, 1)),))
    advice = recommend(simulate(sc)).pools[0]
    assert advice.action == "more-runs" and advice.runs_needed == 73


def test_run_json_and_text_carry_the_recommendation(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["run", "scenarios/small-studio.yaml", "--runs", "100", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    data = json.loads(out.read_text())
    advice = data["recommendation"]["pools"]["main"]
    assert advice["action"] == "top-up" and data["recommendation"]["target"] == 0.05
    assert "What to do:" in text and f"Top up {advice['topup']['tokens']:,} tokens" in text
    assert all(len(line) <= 80 for line in text.splitlines())


@pytest.mark.parametrize("name", ["two-teams", "small-studio", "start-small", "one-big-bundle"])
def test_the_advice_never_contradicts_its_cost_line(name):
    """Within the target, a top-up is advised only if it costs less in all than the blocked days
    it saves; every interval it prints is of a figure that can't be negative, so never below 0."""
    from pathlib import Path

    from flexsim import load
    from flexsim.output.recommendation_text import advice_paragraphs

    results = simulate(load(Path(__file__).parents[1] / "flexsim" / "examples" / f"{name}.yaml"), runs=200)
    for advice in recommend(results).pools:
        least = advice.least_cost
        if advice.action == "top-up" and advice.now.within_target and least is not None:
            assert least.tokens != 0, advice
        for option in [advice.now, *advice.tried]:
            for interval in (option.blocked_days, option.expired, option.total_cost):
                assert interval is None or interval.low is None or interval.low >= 0
        text = " ".join(advice_paragraphs(advice))
        assert "CI -" not in text
