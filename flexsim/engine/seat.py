"""The 24-hour window of one seat (a person's use of one product): when is the next charge due?

A seat holds at most one chargeable stretch at a time (a session: launched at `start`, in use
until `in_use_end`, chargeable until `charge_end`) and one window (charged at `window_end - 24 h`).
The next charge attempt is either the renewal of a stretch still chargeable when its window ends,
or the launch of the next session that starts outside any window. Both engines call this class.
"""

from __future__ import annotations

from flexsim.engine.ledger import DAY

LAUNCH = 0
RENEWAL = 1


class Seat:
    """Window state of one (person, product) pair and its queue of sessions."""

    __slots__ = ("window_end", "charge_end", "in_use_end", "sessions", "next", "pending")

    def __init__(
        self,
        sessions: list[tuple[int, int, int]],
        window_end: int = 0,
        charge_end: int = 0,
        in_use_end: int = 0,
    ):
        self.sessions = sessions  # (start, in_use_end, charge_end), in time order, none short
        self.next = 0
        self.window_end = window_end
        self.charge_end = charge_end
        self.in_use_end = in_use_end
        self.pending: int = LAUNCH  # kind of the attempt last returned by next_attempt

    def next_attempt(self) -> int | None:
        """Time of the next charge attempt (and set `pending`), or None when nothing is due."""
        self._join_free_launches()
        if self.window_end < self.charge_end:
            self.pending = RENEWAL
            return self.window_end
        if self.next >= len(self.sessions):
            return None
        self.pending = LAUNCH
        return self.sessions[self.next][0]

    def _join_free_launches(self) -> None:
        """Sessions launched inside the open window are free: they join the current stretch,
        which stays in use (and open) until the later of the ends (a long session may still be
        in use when the next one starts)."""
        sessions, n = self.sessions, len(self.sessions)
        while self.next < n and sessions[self.next][0] < self.window_end:
            _start, in_use_end, charge_end = sessions[self.next]
            self.next += 1
            if in_use_end > self.in_use_end:
                self.in_use_end = in_use_end
            if charge_end > self.charge_end:
                self.charge_end = charge_end

    def in_use_at(self, t: int) -> bool:
        """Is the product in use (not merely open and idle) at the attempt time t?"""
        return self.pending == LAUNCH or t < self.in_use_end

    def charged(self, t: int) -> None:
        """The attempt at t was charged: a new window opens."""
        self.window_end = t + DAY
        if self.pending == LAUNCH:
            _start, in_use_end, charge_end = self.sessions[self.next]
            self.next += 1
            self.charge_end = max(self.charge_end, charge_end)
            self.in_use_end = max(self.in_use_end, in_use_end)

    def blocked(self, t: int) -> None:
        """The attempt at t was blocked: a launch is lost, a running session ends at t."""
        if self.pending == LAUNCH:
            self.next += 1
        else:
            self.charge_end = self.in_use_end = t
