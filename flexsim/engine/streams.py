"""The tree of random streams: one root `SeedSequence(seed)`, a child per (run, stream).

Each kind of draw has a stream of its own, so adding draws of one kind never shifts another: a
person's launches stay the same whatever the packs, prices, top-ups or other people's habits.
"""

from __future__ import annotations

import numpy as np

STREAM_PEOPLE = 0  # launches: one uniform per (workday, seat)
STREAM_VARIATION = 1  # person-to-person spread of days_per_week
STREAM_HISTORY = 2  # uncertainty of rates fitted from history
STREAM_START = 3  # start times of the people who launch, per (workday, person) with a launch
STREAM_SESSION = 4  # session lengths, per launch (where session_hours.sd > 0)
STREAM_LEFT_OPEN = 5  # left-open flags, per launch (where 0 < left_open < 1)
STREAM_CLOSE = 6  # start hours on days without a launch that a product left open waits for


def stream(seed: int, run: int, stream_id: int) -> np.random.Generator:
    """Generator for (run, stream): child (run, stream) of the root SeedSequence(seed)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(run, stream_id))))
