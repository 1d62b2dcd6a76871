"""The tree of random streams: one root `SeedSequence(seed)`, a child per (run, stream).

Each kind of draw has a stream of its own, so adding draws of one kind never shifts another: a
person's launches stay the same whatever the packs, prices, top-ups or other people's habits.
"""

from __future__ import annotations

import numpy as np

STREAM_PEOPLE = 0  # launches, start times, sessions, left-open flags
STREAM_VARIATION = 1  # person-to-person spread of days_per_week
STREAM_HISTORY = 2  # uncertainty of rates fitted from history


def stream(seed: int, run: int, stream_id: int) -> np.random.Generator:
    """Generator for (run, stream): child (run, stream) of the root SeedSequence(seed)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(run, stream_id))))
