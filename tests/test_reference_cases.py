"""Exact answers counted by hand, through both engines (and the Seat state machine directly).

2026 starts on a Thursday and has 365 days, 261 of them Monday to Friday. 2026-01-05 is a Monday.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from conftest import WORKDAYS_2026, both, fast_direct, simpy_records, solo
from scipy import stats

from flexsim.api import simulate
from flexsim.engine import engine_fast, engine_simpy
from flexsim.engine.behaviour import Behaviour, empty_grids
from flexsim.engine.ledger import DAY
from flexsim.engine.plan import Plan
from flexsim.engine.seat import LAUNCH, RENEWAL, Seat
from flexsim.scenario.model import Calendar, Event, Group, Lot, Pool, ProductUse, Reorder, Threshold

H = 3600
MON = date(2026, 1, 5)


def one(scenario, seed: int = 1):
    (record,) = both(scenario, seed)
    return record


def lot(tokens, bought=date(2026, 1, 1), expires=None, name="pack", price=3.0, pool="main"):
    expires = expires or bought.replace(year=bought.year + 1)
    return Lot(name, bought, tokens, price, expires, pool, price_given=True)


# --------------------------------------------------------------------------------------------
# (a)-(c): one Revit user every workday of 2026


def test_a_every_workday_at_ten_for_six_hours():
    r = one(solo())
    assert r.get("launches") == WORKDAYS_2026
    assert r.get("charges") == 261
    assert r.get("tokens_consumed") == 2610
    assert r.get("blocked_days") == r.get("blocked_launches") == 0
    assert r.get("run_out_day") == -1
    assert r.seat_tokens.tolist() == [2610]


def test_b_left_open_without_idle_awareness_is_charged_every_day():
    r = one(solo(left_open=1.0, idle_awareness=False))
    assert r.get("charges") == 365  # weekends too: renewed every 24 h while open
    assert r.get("tokens_consumed") == 3650


def test_c_left_open_with_idle_awareness_is_charged_on_workdays_only():
    r = one(solo(left_open=1.0, idle_awareness=True))
    assert r.get("charges") == 261
    assert r.get("tokens_consumed") == 2610


def test_sessions_longer_than_a_day_are_renewed_while_in_use():
    # 30-hour sessions end at the next workday's 10:00 launch at the latest, so on Mon-Thu they
    # end exactly as the window does (no renewal); Friday's runs to Saturday 16:00: renewed
    # Saturday 10:00. 2026 has 52 Fridays.
    r = one(solo(session=30.0))
    assert r.get("charges") == 261 + 52


def test_five_minute_rule():
    short = one(solo(session=4 / 60))
    assert short.get("launches") == 261
    assert short.get("charges") == short.get("tokens_consumed") == 0
    five = one(solo(session=5 / 60))
    assert five.get("charges") == 261


def test_seasonality_events_active_ranges_and_holidays():
    sc = solo()
    assert one(replace(sc, seasonality=(1.0,) * 7 + (0.0,) + (1.0,) * 4)).get("charges") == 261 - 21
    event = Event("shutdown", date(2026, 3, 2), date(2026, 3, 13), 0.0, None)  # two weeks
    assert one(replace(sc, events=(event,))).get("charges") == 261 - 10
    other = Event("other team", date(2026, 3, 2), date(2026, 3, 13), 0.0, ("someone else",))
    idle = Group("someone else", (ProductUse("Revit", 0.0),))  # a group the event names (never launches)
    assert one(replace(sc, groups=(*sc.groups, idle), events=(other,))).get("charges") == 261
    active = solo(active_from=date(2026, 2, 2), active_to=date(2026, 2, 27))  # all of Feb: 20 days
    assert one(active).get("charges") == 20
    holidays = Calendar(holidays=frozenset({date(2026, 1, 1), date(2026, 12, 25), date(2026, 12, 26)}))
    assert one(solo(calendar=holidays)).get("charges") == 261 - 2  # 26 Dec is a Saturday
    weekend = Calendar(workdays=(5, 6))
    assert one(solo(calendar=weekend, days_per_week=2.0)).get("charges") == 365 - 261


# --------------------------------------------------------------------------------------------
# Long sessions: in use for their whole length, whether or not the person launches again


def one_week(session: float, launch_days: int = 1, start_day: date = MON, **kw):
    """One person at 10:00 (exactly), launching on `launch_days` workdays from `start_day`,
    simulated for two weeks."""
    last = start_day + timedelta(days=launch_days - 1)
    return one(
        solo(
            session=session,
            start=start_day,
            end=start_day + timedelta(days=13),
            lots=[lot(1000, bought=start_day)],
            active_from=start_day,
            active_to=last,
            **kw,
        )
    )


def test_a_fifty_hour_session_launched_on_a_monday_is_charged_three_times():
    # Mon 10:00 to Wed 12:00: charged Mon 10:00, renewed Tue 10:00 and Wed 10:00 while in use.
    r = one_week(50.0)
    assert r.get("launches") == 1
    assert r.get("charges") == 3 and r.get("tokens_consumed") == 30
    assert r.seat_idle_tokens.tolist() == [0]


def test_a_session_runs_past_the_next_start_hour_without_a_launch_that_day():
    # 30 hours from Mon 10:00: still in use at Tue 10:00 although nobody launches on Tuesday.
    assert one_week(30.0).get("charges") == 2
    assert one_week(24.0).get("charges") == 1  # ends exactly as the window does


def test_a_sixty_hour_session_from_friday_over_the_weekend():
    fri = MON + timedelta(days=4)
    # Fri 10:00 to Sun 22:00: charged Fri, Sat and Sun at 10:00.
    assert one_week(60.0, start_day=fri).get("charges") == 3
    # 72 hours ends Mon 10:00, exactly at the window end: no fourth charge; 73 hours: one more.
    assert one_week(72.0, start_day=fri).get("charges") == 3
    assert one_week(73.0, start_day=fri).get("charges") == 4


def test_a_launch_while_still_in_use_keeps_it_in_use_until_the_later_end():
    # Every workday at 10:00 for 50 hours, Mon to Fri: Friday's session lasts until Sun 12:00,
    # so Saturday and Sunday are renewed too: charged every day of the week, 5 launches.
    r = one_week(50.0, launch_days=5)
    assert r.get("launches") == 5 and r.get("charges") == 7
    plan = Plan(solo(start=MON, end=MON + timedelta(days=6)))
    # Mon 09:00 for 50 hours (to Wed 11:00), and a 2-hour launch Tue 09:00 inside the window:
    # the later end counts, so Wed 09:00 is renewed as well.
    r = run_hand(plan, [(0, 0, 9 * H, 59 * H, 59 * H), (0, 1, DAY + 9 * H, DAY + 11 * H, DAY + 11 * H)])
    assert r.get("charges") == 3 and r.get("launches") == 2


def test_left_open_after_a_long_session_closes_at_the_first_start_hour_after_its_use():
    # 30 hours from Mon 10:00 (to Tue 16:00), left open without idle awareness: open until the
    # person's start hour on Wednesday (10:00), the window's end: renewed Tue 10:00 (in use) only.
    r = one_week(30.0, left_open=1.0, idle_awareness=False)
    assert r.get("charges") == 2 and r.seat_idle_tokens.tolist() == [0]
    # 20 hours (to Tue 06:00): open until Tuesday's start hour, the window's end: one charge.
    assert one_week(20.0, left_open=1.0, idle_awareness=False).get("charges") == 1
    # 60 hours from Friday (to Sun 22:00), left open: until Monday 10:00: Fri, Sat, Sun.
    fri = MON + timedelta(days=4)
    r = one_week(60.0, start_day=fri, left_open=1.0, idle_awareness=False)
    assert r.get("charges") == 3 and r.seat_idle_tokens.tolist() == [0]
    # 6 hours on Friday, left open: idle renewals Sat and Sun 10:00, closed Monday 10:00.
    r = one_week(6.0, start_day=fri, left_open=1.0, idle_awareness=False)
    assert r.get("charges") == 3 and r.seat_idle_tokens.tolist() == [20]
    # With idle awareness only the hours in use count: 50 hours from Monday, 3 charges.
    assert one_week(50.0, left_open=1.0, idle_awareness=True).get("charges") == 3


def test_long_session_renewal_refused_with_a_launch_inside_the_window():
    plan = Plan(solo(start=MON, end=MON + timedelta(days=2), lots=[lot(10, bought=MON)]))
    # Mon 10:00 for 50 hours; Tue 09:00 a launch inside the window; the Tue 10:00 renewal is
    # refused while in use: one blocked renewal (one lost day), no blocked launch, and both
    # sessions end then (nothing is due on Wednesday).
    r = run_hand(plan, [(0, 0, 10 * H, 60 * H, 60 * H), (0, 1, DAY + 9 * H, DAY + 15 * H, DAY + 15 * H)])
    assert r.get("charges") == 1
    assert (r.get("blocked_renewals"), r.get("blocked_launches"), r.get("blocked_days")) == (1, 0, 1)
    assert r.get("run_out_day") == -1
    # Launching every day at 10:00 instead: Tuesday's renewal and launch at the same instant are
    # both refused (one lost day), Wednesday's launch too.
    r = one(solo(session=50.0, start=MON, end=MON + timedelta(days=2), lots=[lot(10, bought=MON)]))
    assert r.get("charges") == 1
    assert (r.get("blocked_renewals"), r.get("blocked_launches"), r.get("blocked_days")) == (1, 2, 2)
    assert r.get("run_out_day") == 1


def test_seat_joins_a_launch_inside_the_window_to_the_stretch():
    seat = Seat([(9 * H, 59 * H, 59 * H), (DAY + 9 * H, DAY + 11 * H, DAY + 11 * H)])
    seat.charged(seat.next_attempt())
    t = seat.next_attempt()
    assert (t, seat.pending) == (DAY + 9 * H, RENEWAL) and seat.in_use_end == 59 * H
    seat.charged(t)
    assert (seat.next_attempt(), seat.pending) == (2 * DAY + 9 * H, RENEWAL)


# --------------------------------------------------------------------------------------------
# (d): a hand-counted run-out


def test_d_small_pack_runs_out_on_the_third_workday():
    r = one(solo(lots=[lot(25)]))  # expires 2027-01-01 00:00: exactly the run end
    assert r.get("charges") == 2
    assert r.get("tokens_consumed") == 20
    assert r.get("blocked_launches") == r.get("blocked_days") == WORKDAYS_2026 - 2
    assert r.get("blocked_renewals") == 0
    third_workday = date(2026, 1, 5)  # Thu 1, Fri 2, Mon 5
    assert r.get("run_out_day") == (third_workday - date(2026, 1, 1)).days
    # The expiry at the run end still happens and is counted.
    assert (r.get("tokens_expired"), r.get("tokens_remaining")) == (5, 0)
    assert r.lot_consumed.tolist() == [20] and r.lot_expired.tolist() == [5]
    # One day later, the pack outlives the run.
    later = one(solo(lots=[lot(25, expires=date(2027, 1, 2))]))
    assert (later.get("tokens_expired"), later.get("tokens_remaining")) == (0, 5)
    assert later.get("run_out_day") == 4

    results = simulate(solo(lots=[lot(25)]), runs=3, seed=1, engine="fast")
    summary = results.pool_summary("main")
    assert summary["run_out_probability"] == 1.0
    assert summary["run_out_date"] == {"p10": "2026-01-05", "p50": "2026-01-05", "p90": "2026-01-05"}


def test_alert_fires_on_the_first_workday_below_twenty_percent():
    r = one(solo(lots=[lot(100)]))
    # 100 tokens, 20% = 20: after 8 charges 20 is left (not below), the 9th leaves 10.
    workdays = [d for d in (date(2026, 1, 1) + timedelta(k) for k in range(20)) if d.weekday() < 5]
    assert r.get("alert_day") == (workdays[8] - date(2026, 1, 1)).days  # 2026-01-13
    assert r.get("run_out_day") == (workdays[10] - date(2026, 1, 1)).days  # 2026-01-15
    assert r.get("charges") == 10


def test_blocked_renewal_ends_the_session_and_counts():
    # Left open without idle awareness on Friday: renewed Saturday and Sunday while idle. With
    # 30 tokens from Friday 2 Jan (Thu 1 is the first charge), the balance covers Thu, Fri, Sat;
    # Sunday's renewal is blocked while idle (not counted: nobody is working), Monday's launch
    # is blocked and counted.
    sc = solo(left_open=1.0, idle_awareness=False, lots=[lot(30)], end=date(2026, 1, 6))
    r = one(sc)
    assert r.get("charges") == 3
    assert r.get("blocked_renewals") == 0
    assert r.get("blocked_launches") == 2  # Mon 5, Tue 6
    assert r.get("run_out_day") == 4
    # In use (a 40-hour session) when the renewal is refused: counted as blocked.
    busy = one(
        solo(
            session=40.0,
            lots=[lot(10, bought=date(2026, 1, 2))],
            start=date(2026, 1, 2),
            end=date(2026, 1, 3),
        )
    )
    assert busy.get("charges") == 1
    assert busy.get("blocked_renewals") == 1 and busy.get("blocked_launches") == 0
    assert busy.get("blocked_days") == 1
    assert busy.get("run_out_day") == -1  # the run-out date is the first blocked *launch*


# --------------------------------------------------------------------------------------------
# (e): Autodesk's AutoCAD example, through Seat and through both engines


def test_e_autocad_example_with_seat():
    mon, tue = 0, DAY
    seat = Seat([(mon + 8 * H, mon + 17 * H, mon + 17 * H), (tue + 7 * H, tue + 17 * H, tue + 17 * H)])
    t = seat.next_attempt()
    assert (t, seat.pending) == (mon + 8 * H, LAUNCH)
    seat.charged(t)
    t = seat.next_attempt()  # Tue 07:00 is inside the window: free; still in use at Tue 08:00
    assert (t, seat.pending) == (tue + 8 * H, RENEWAL)
    assert seat.in_use_at(t)
    seat.charged(t)
    assert seat.window_end == tue + 8 * H + DAY
    assert seat.next_attempt() is None


def test_launch_at_exactly_the_window_end_is_charged_again():
    seat = Seat([(8 * H, 9 * H, 9 * H), (DAY + 8 * H, DAY + 9 * H, DAY + 9 * H)])
    t = seat.next_attempt()
    seat.charged(t)
    t = seat.next_attempt()
    assert (t, seat.pending) == (DAY + 8 * H, LAUNCH)


def test_session_ending_at_the_window_end_is_not_renewed():
    seat = Seat([(8 * H, 9 * H, 9 * H), (DAY + 7 * H, DAY + 8 * H, DAY + 8 * H)])
    seat.charged(seat.next_attempt())
    assert seat.next_attempt() is None


def test_idle_open_product_renewed_only_while_chargeable():
    # Used 09:00-10:00, left open without idle awareness until the next workday's 09:00 (3 days).
    seat = Seat([(9 * H, 10 * H, 3 * DAY + 9 * H)])
    times = []
    while (t := seat.next_attempt()) is not None:
        times.append((t, seat.pending, seat.in_use_at(t)))
        seat.charged(t)
    assert times == [(9 * H, LAUNCH, True), (DAY + 9 * H, RENEWAL, False), (2 * DAY + 9 * H, RENEWAL, False)]


def test_blocked_seat_loses_the_launch_or_ends_the_session():
    seat = Seat([(8 * H, 30 * H, 30 * H), (DAY + 9 * H, DAY + 10 * H, DAY + 10 * H)])
    t = seat.next_attempt()
    seat.blocked(t)  # launch lost
    t = seat.next_attempt()
    assert (t, seat.pending) == (DAY + 9 * H, LAUNCH)
    seat = Seat([(8 * H, DAY + 12 * H, DAY + 12 * H)])
    seat.charged(seat.next_attempt())
    t = seat.next_attempt()
    assert (t, seat.pending) == (DAY + 8 * H, RENEWAL) and seat.in_use_at(t)
    seat.blocked(t)
    assert seat.next_attempt() is None and seat.in_use_end == seat.charge_end == t


def hand_behaviour(plan: Plan, cells) -> Behaviour:
    """A behaviour with exactly these launches: (seat, workday index, start, in_use_end, charge_end)."""
    grids = {name: array[0] for name, array in empty_grids(plan, 1).items()}
    seats = []
    for seat, wd, start, in_use_end, charge_end in cells:
        grids["launched"][wd, seat] = True
        grids["chargeable"][wd, seat] = in_use_end - start >= 300 or charge_end > in_use_end
        grids["start_grid"][wd, seat] = start
        grids["in_use_end_grid"][wd, seat] = in_use_end
        grids["charge_end_grid"][wd, seat] = charge_end
        seats.append(seat)
    launches = np.bincount(plan.seat_pool[seats], minlength=plan.n_pools).astype(np.int64)
    return Behaviour(
        grids["launched"],
        grids["chargeable"],
        grids["start_grid"],
        grids["in_use_end_grid"],
        grids["charge_end_grid"],
        launches,
    )


def run_hand(plan: Plan, cells):
    behaviour = hand_behaviour(plan, cells)
    a = engine_simpy.simulate_run(plan, behaviour, 0)
    (b,) = engine_fast.simulate_batch(plan, [behaviour], [0])
    assert a.same_as(b) and np.array_equal(a.seat_tokens, b.seat_tokens)
    return a


@pytest.mark.parametrize(
    ("wed", "charges"),
    [
        (None, 2),  # Mon 08:00 and the renewal Tue 08:00: 14 tokens
        ((7 * H + 30 * 60, 7 * H + 50 * 60), 2),  # Wed 07:30-07:50 is inside Tue 08:00's window
        ((7 * H + 30 * 60, 9 * H), 3),  # ... but still in use at Wed 08:00: renewed then
        ((8 * H, 9 * H), 3),  # launched exactly at the window end: charged again
    ],
)
def test_e_autocad_example_through_both_engines(wed, charges):
    sc = solo(product="AutoCAD", days_per_week=0.0, start=MON, end=MON + timedelta(days=4))
    plan = Plan(sc)
    mon, tue, wedd = 0, DAY, 2 * DAY
    cells = [(0, 0, mon + 8 * H, mon + 17 * H, mon + 17 * H), (0, 1, tue + 7 * H, tue + 17 * H, tue + 17 * H)]
    if wed is not None:
        cells.append((0, 2, wedd + wed[0], wedd + wed[1], wedd + wed[1]))
    r = run_hand(plan, cells)
    assert r.get("charges") == charges
    assert r.get("tokens_consumed") == 7 * charges


def test_e_renewal_timing_decides_blocking():
    # 7 tokens on Monday, 7 more arrive at 00:00 Tuesday. The Tuesday 07:00 launch is free (in
    # Monday's window) and the renewal at 08:00 is covered by the second pack.
    sc = solo(
        product="AutoCAD",
        days_per_week=0.0,
        start=MON,
        end=MON + timedelta(days=1),
        lots=[lot(7, bought=MON, name="a"), lot(7, bought=MON + timedelta(days=1), name="b")],
    )
    plan = Plan(sc)
    r = run_hand(plan, [(0, 0, 8 * H, 17 * H, 17 * H), (0, 1, DAY + 7 * H, DAY + 17 * H, DAY + 17 * H)])
    assert r.get("charges") == 2 and r.get("blocked_days") == 0
    assert r.lot_consumed.tolist() == [7, 7]


# --------------------------------------------------------------------------------------------
# (f): draw order across packs and expiry at 00:00


def test_f_draw_order_and_expiry_at_the_run_end():
    # Active 5-16 Jan: 10 workdays x 10 tokens = 100 tokens.
    lots = [
        lot(15, bought=date(2026, 1, 1), expires=date(2026, 6, 1), name="late"),
        lot(100, bought=date(2026, 1, 1), expires=date(2026, 3, 1), name="big"),
        lot(45, bought=date(2026, 1, 1), expires=date(2026, 3, 1), name="small"),
    ]
    sc = solo(lots=lots, start=MON, end=date(2026, 2, 28), active_to=date(2026, 1, 16))
    r = one(sc)
    # small (same end date, fewer tokens) first: 45; the 5th charge spans small and big.
    assert r.lot_consumed.tolist() == [0, 55, 45]
    # The two March packs expire at 00:00 on 1 March: exactly the run end, counted.
    assert r.lot_expired.tolist() == [0, 45, 0]
    assert (
        r.get("tokens_purchased"),
        r.get("tokens_consumed"),
        r.get("tokens_expired"),
        r.get("tokens_remaining"),
    ) == (160, 100, 45, 15)


def test_f_pack_unusable_from_00_00_of_its_end_date():
    # 100 tokens ending Thursday 8 Jan: Mon-Wed charged, Thursday blocked, 70 expire.
    sc = solo(lots=[lot(100, bought=MON, expires=date(2026, 1, 8))], start=MON, end=date(2026, 1, 9))
    r = one(sc)
    assert r.get("charges") == 3
    assert (r.get("tokens_expired"), r.get("tokens_remaining")) == (70, 0)
    assert r.get("run_out_day") == 3
    assert r.get("blocked_days") == 2


def test_f_held_pack_is_drawn_first_and_its_cost_is_sunk():
    held = lot(25, bought=date(2025, 6, 1), expires=date(2026, 6, 1), name="held", price=2.0)
    fresh = lot(100, bought=MON, name="fresh", price=3.0)
    r = one(solo(lots=[held, fresh], start=MON, end=date(2026, 1, 9)))
    assert r.lot_consumed.tolist() == [25, 25]
    assert r.spend.tolist() == [300.0]
    assert r.get("tokens_purchased") == 125


def test_f_lot_bought_mid_horizon_and_at_the_run_end():
    lots = [
        lot(20, bought=MON, name="a"),
        lot(50, bought=date(2026, 1, 8), name="b"),
        lot(30, bought=date(2026, 1, 10), name="c"),
    ]  # 00:00 after the end: arrives, unused
    r = one(solo(lots=lots, start=MON, end=date(2026, 1, 9)))
    # Mon, Tue from a; Wed blocked; Thu, Fri from b.
    assert r.get("charges") == 4 and r.get("blocked_days") == 1 and r.get("run_out_day") == 2
    assert r.lot_consumed.tolist() == [20, 20, 0]
    assert r.get("tokens_purchased") == 100 and r.get("tokens_remaining") == 60
    assert r.spend.tolist() == [300.0]


# --------------------------------------------------------------------------------------------
# (g): top-ups


FIVE = Threshold(tokens=5)


def topup_case(lead: int, below: Threshold = FIVE, calendar=None, tokens=100):
    sc = solo(
        lots=[lot(40, bought=MON, price=2.5)],
        start=MON,
        end=date(2026, 1, 16),
        reorders=[Reorder("main", below, tokens, lead, None, 3.5)],
        calendar=calendar,
    )
    return one(sc)


def test_g_top_up_triggered_thursday_arrives_monday():
    r = topup_case(lead=2)
    # Mon 30, Tue 20, Wed 10, Thu 0 < 5: ordered Thursday; Fri is the 1st workday after, Mon
    # 12 Jan the 2nd: arrives 00:00 Monday. Friday's launch is blocked.
    assert r.get("topups") == 1
    assert r.get("blocked_days") == r.get("blocked_launches") == 1
    assert r.get("run_out_day") == 4  # Friday 9 Jan
    assert r.get("charges") == 9 and r.get("tokens_consumed") == 90
    assert (r.get("tokens_purchased"), r.get("tokens_remaining")) == (140, 50)
    assert r.spend.tolist() == [pytest.approx(40 * 2.5 + 100 * 3.5)]
    # Percent threshold: 20% of 40 = 8; Wed leaves 10 (not below), Thu 0: same story.
    assert topup_case(lead=2, below=Threshold(percent=20)).same_as(r)


def test_g_top_up_lead_counts_workdays_skipping_holidays():
    r = topup_case(lead=2, calendar=Calendar(holidays=frozenset({date(2026, 1, 9)})))
    # Friday is a holiday: no launch; Mon 12 is the 1st workday, Tue 13 the 2nd: Monday blocked.
    assert r.get("run_out_day") == 7
    assert r.get("blocked_days") == 1 and r.get("topups") == 1
    assert r.get("charges") == 4 + 4


def test_g_top_up_lead_zero_arrives_at_once():
    r = topup_case(lead=0)
    assert r.get("topups") == 1 and r.get("blocked_days") == 0
    assert r.get("charges") == 10 and r.get("tokens_purchased") == 140


def test_g_top_up_only_strictly_below():
    # 10 tokens left on Wednesday is not below 10: ordered Thursday, blocked Friday.
    assert topup_case(lead=2, below=Threshold(tokens=10)).get("blocked_days") == 1
    # Below 11: ordered Wednesday, arrives Friday 00:00: never blocked.
    r = topup_case(lead=2, below=Threshold(tokens=11))
    assert r.get("blocked_days") == 0 and r.get("topups") == 1


def test_g_top_up_arriving_after_the_horizon_is_not_received():
    r = topup_case(lead=7)  # ordered Thu 8 Jan, arrives 19 Jan: after the run
    assert r.get("topups") == 0
    assert r.get("tokens_purchased") == 40
    assert r.get("blocked_days") == 6


def test_g_max_orders():
    sc = solo(
        lots=[lot(20, bought=MON)],
        start=MON,
        end=date(2026, 1, 30),
        reorders=[Reorder("main", Threshold(tokens=10), 20, 1, 2, 3.0)],
    )
    r = one(sc)
    # Mon 10 (not below 10), Tue 0: order 1 -> Wed; Wed 10, Thu 0: order 2 -> Fri; Fri 10,
    # Mon 12 0: max_orders reached, Tue 13 blocked.
    assert r.get("topups") == 2
    assert r.get("charges") == 6
    assert r.get("run_out_day") == (date(2026, 1, 13) - MON).days


def test_reorder_after_an_expiry_empties_the_pool():
    old = lot(1000, bought=date(2025, 3, 1), expires=date(2026, 1, 7), name="old")
    sc = solo(
        lots=[old],
        start=MON,
        end=date(2026, 1, 30),
        reorders=[Reorder("main", Threshold(percent=20), 500, 2, None, 3.0)],
    )
    r = one(sc)
    assert r.get("topups") >= 1


def test_long_lead_zero_cascade_through_the_engines():
    sc = solo(
        lots=[lot(30, bought=MON)],
        start=MON,
        end=date(2026, 1, 9),
        reorders=[Reorder("main", Threshold(tokens=5000), 1, 0, None, 3.0)],
    )
    r = one(sc)
    assert r.get("tokens_purchased") >= 5000


# --------------------------------------------------------------------------------------------
# two pools never borrow from each other


def test_pools_are_separate():
    from flexsim.scenario.model import Group, Normal, ProductUse

    sc = solo(
        lots=[lot(20, bought=MON), lot(1000, bought=MON, pool="b", name="b")],
        start=MON,
        end=date(2026, 1, 9),
        pools=(Pool("main"), Pool("b")),
    )
    g2 = Group(
        "team b",
        (ProductUse("AutoCAD", 5.0),),
        count=2,
        start_hour=Normal(9.0, 0.0),
        session_hours=Normal(1.0, 0.0),
        pool="b",
    )
    r = one(replace(sc, groups=sc.groups + (g2,)))
    assert r.get("charges", 0) == 2 and r.get("blocked_days", 0) == 3
    assert r.get("charges", 1) == 10 and r.get("tokens_consumed", 1) == 70
    assert r.get("blocked_days", 1) == 0


def test_nobody_working_is_fine():
    sc = solo(lots=[lot(100, bought=MON)], start=MON, end=date(2026, 1, 9))
    for case in (
        replace(sc, groups=()),
        replace(sc, calendar=Calendar(workdays=(5,))),
        replace(sc, calendar=Calendar(holidays=frozenset(MON + timedelta(k) for k in range(5)))),
    ):
        r = one(case)
        assert (r.get("launches"), r.get("charges"), r.get("tokens_remaining")) == (0, 0, 100)
        for engine in ("simpy", "fast"):
            s = simulate(case, runs=2, seed=1, engine=engine).pool_summary("main")
            assert s["run_out_probability"] == 0.0 and s["tokens_consumed"]["mean"] == 0.0


# --------------------------------------------------------------------------------------------
# (h): binomial demand


def binomial_scenario(n_people: int, p: float):
    # 20 workdays (5-30 Jan 2026), one-hour sessions at 09:00: a launch is one charge, and no
    # window reaches the next day's launch.
    return solo(
        count=n_people, days_per_week=5 * p, start_hour=9.0, session=1.0, start=MON, end=date(2026, 1, 30)
    )


def test_h_binomial_demand_mean_and_variance():
    n_people, p, workdays, runs = 10, 0.3, 20, 300
    sc = binomial_scenario(n_people, p)
    plan = Plan(sc)
    slow = simpy_records(plan, 2026, range(runs))
    fast = fast_direct(plan, 2026, range(runs))
    assert all(a.same_as(b) for a, b in zip(slow, fast, strict=True))
    charges = np.array([r.get("charges") for r in slow], dtype=float)
    assert all(r.get("launches") == r.get("charges") for r in slow)
    dist = stats.binom(n_people * workdays, p)
    se_mean = np.sqrt(dist.var() / runs)
    assert abs(charges.mean() - dist.mean()) < 4 * se_mean
    # Variance of the sample variance ~ 2 sigma^4 / (n - 1) (plus a kurtosis term, tiny here).
    se_var = dist.var() * np.sqrt(2 / (runs - 1))
    assert abs(charges.var(ddof=1) - dist.var()) < 4 * se_var


@pytest.mark.slow
def test_h_binomial_demand_goodness_of_fit():
    n_people, p, workdays, runs = 10, 0.3, 20, 4000
    plan = Plan(binomial_scenario(n_people, p))
    charges = np.array([r.get("charges") for r in fast_direct(plan, 7, range(runs))])
    dist = stats.binom(n_people * workdays, p)
    # Chi-square over bins with an expected count of at least 5 (tails merged).
    support = np.arange(n_people * workdays + 1)
    expected = dist.pmf(support) * runs
    observed = np.bincount(charges, minlength=len(support)).astype(float)
    keep = expected >= 5
    lo_tail, hi_tail = support < support[keep].min(), support > support[keep].max()
    exp_bins = np.concatenate([[expected[lo_tail].sum()], expected[keep], [expected[hi_tail].sum()]])
    obs_bins = np.concatenate([[observed[lo_tail].sum()], observed[keep], [observed[hi_tail].sum()]])
    exp_bins *= obs_bins.sum() / exp_bins.sum()
    assert stats.chisquare(obs_bins, exp_bins).pvalue > 1e-3
    # Kolmogorov-Smirnov distance of the empirical CDF (discrete: conservative).
    ecdf = np.cumsum(observed) / runs
    assert np.max(np.abs(ecdf - dist.cdf(support))) < 1.63 / np.sqrt(runs)  # 1% level


@pytest.mark.slow
def test_h_person_variation_keeps_the_mean_and_widens_the_spread():
    n_people, p, runs = 10, 0.1, 2000
    base = binomial_scenario(n_people, p)
    varied = replace(base, groups=(replace(base.groups[0], variation=0.8),))
    a = np.array([r.get("charges") for r in fast_direct(Plan(base), 3, range(runs))], float)
    b = np.array([r.get("charges") for r in fast_direct(Plan(varied), 3, range(runs))], float)
    mean = n_people * 20 * p
    assert abs(a.mean() - mean) < 4 * a.std() / np.sqrt(runs)
    assert abs(b.mean() - mean) < 4 * b.std() / np.sqrt(runs)
    assert b.var() > 1.5 * a.var()


def test_packs_held_at_start_set_off_no_checks():
    """A pack held at start is in the pool from the outset: a bundle bought on the first day is
    seen before any alert or top-up decision, whatever the order of `lots:`."""
    held = lot(100, bought=date(2025, 6, 1), name="held")
    bundle = lot(5000, bought=MON, name="bundle")
    for lots in ([held, bundle], [bundle, held]):
        sc = solo(
            lots=lots,
            start=MON,
            end=date(2026, 1, 30),
            days_per_week=0.0,
            reorders=[Reorder("main", Threshold(tokens=1000), 500, 2, None, 3.0)],
            pools=(Pool("main", Threshold(tokens=1000)),),
        )
        r = one(sc)
        assert (r.get("topups"), r.get("alert_day"), r.get("tokens_purchased")) == (0, -1, 5100)


def test_simultaneous_arrivals_do_not_trigger_a_reorder():
    small = lot(100, bought=MON, name="small")
    bundle = lot(5000, bought=MON, name="bundle")
    results = []
    for lots in ([small, bundle], [bundle, small]):
        sc = solo(
            lots=lots,
            start=MON,
            end=date(2026, 1, 30),
            days_per_week=0.0,
            reorders=[Reorder("main", Threshold(tokens=1000), 500, 2, None, 3.0)],
            pools=(Pool("main", Threshold(tokens=1000)),),
        )
        r = one(sc)
        results.append((r.get("topups"), r.get("alert_day"), r.get("tokens_purchased")))
    assert results[0] == results[1] == (0, -1, 5100)


@pytest.mark.parametrize("days_per_week", [0.0, 5.0])
def test_alert_when_held_packs_start_below_the_level(days_per_week):
    held = lot(900, bought=date(2025, 6, 1), name="held")
    sc = solo(
        lots=[held],
        start=MON,
        end=date(2026, 1, 30),
        days_per_week=days_per_week,
        pools=(Pool("main", Threshold(tokens=1500)),),
        active_from=date(2026, 1, 12),
    )
    assert one(sc).get("alert_day") == 0
