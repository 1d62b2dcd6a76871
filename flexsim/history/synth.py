"""A synthetic Token Usage export: one simulated run of a scenario, written as Autodesk would.

For demonstrations, tests and round trips (export -> calibrate -> forecast). The file records
what the people of the scenario launched and what each launch was charged, as if the pool never
ran dry: it is the demand of one run, the thing `flexsim calibrate` measures. A row is one
(person, product, day) with a launch or a charge; a launch that opened no charge (a session under
5 minutes, or a relaunch inside a window still open) is a row with 0 tokens, as in real exports.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from flexsim.engine.behaviour import draw_behaviour
from flexsim.engine.engine_simpy import seat_sessions
from flexsim.engine.ledger import DAY
from flexsim.engine.plan import Plan
from flexsim.engine.seat import Seat
from flexsim.scenario.model import Scenario

PRIVACY = ("off", "hashed", "masked")
MASK = "*****"


@dataclass
class Synthetic:
    """The records of a synthetic export and what they add up to."""

    records: list[dict[str, object]]
    people: int
    tokens: int


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24].upper()


def _person_fields(person: str, privacy: str) -> dict[str, str]:
    """E-mail and names of a person: the name itself if it is an e-mail address, else made up."""
    if "@" in person:
        email = person
    else:
        email = re.sub(r"[^0-9a-z.]+", ".", person.casefold()).strip(".") + "@example.com"
    parts = [p.capitalize() for p in re.split(r"[._\-+]+", email.split("@")[0]) if p]
    first, last = (parts[0], " ".join(parts[1:])) if len(parts) > 1 else (parts[0] if parts else "", "")
    hashed = _hash(email)
    if privacy == "hashed":
        email, first, last = _hash("e" + email), _hash("f" + email), _hash("l" + email)
    elif privacy == "masked":
        email = first = last = MASK
    return {"email": email, "first_name": first, "last_name": last, "hashed_id": hashed, "user_name": email}


def seat_day_charges(plan: Plan, seed: int, run: int) -> tuple[Counter, np.ndarray, np.ndarray]:
    """Charges per (seat, day) of one run with an unlimited pool, and the launches (workday, seat).

    Each seat's windows follow the usual rules (`flexsim.engine.seat.Seat`); with nothing ever blocked,
    seats do not affect each other, so each is walked on its own.
    """
    behaviour = draw_behaviour(plan, seed, run)
    charges: Counter = Counter()
    for s, sessions in enumerate(seat_sessions(plan, behaviour)):
        seat = Seat(sessions)
        while (t := seat.next_attempt()) is not None and t < plan.end_time:
            seat.charged(t)
            charges[s, t // DAY] += 1
    launch_day, launch_seat = np.nonzero(behaviour.launched)
    return charges, plan.workdays[launch_day], launch_seat


def synthesize(
    scenario: Scenario, seed: int, run: int = 0, privacy: str = "off", camel_dates: bool = False
) -> Synthetic:
    """The export of run `run`: one record per (person, product, day) launched or charged."""
    if privacy not in PRIVACY:
        raise ValueError(f"privacy must be one of {', '.join(PRIVACY)}")
    plan = Plan(scenario)
    charges, launch_days, launch_seats = seat_day_charges(plan, seed, run)
    cells = set(charges) | set(zip(launch_seats.tolist(), launch_days.tolist(), strict=True))
    people = {p: _person_fields(name, privacy) for p, name in enumerate(plan.persons)}
    records = []
    total = 0
    for s, day in sorted(cells, key=lambda c: (c[1], c[0])):
        person = int(plan.seat_person[s])
        product = plan.seat_product[s]
        tokens = int(plan.seat_rate[s]) * charges.get((s, day), 0)
        total += tokens
        when = plan.date(day)
        records.append(
            {
                "team": plan.pool_names[plan.seat_pool[s]],
                **people[person],
                "product": product,
                "feature": product,
                "version": str(when.year),
                "usage_type": "Flex",
                "offering_name": product,
                "tokens": tokens,
                "day": f"{when.isoformat()}T00:00:00Z" if camel_dates else when.isoformat(),
            }
        )
    return Synthetic(records, len({r["hashed_id"] for r in records}), total)
