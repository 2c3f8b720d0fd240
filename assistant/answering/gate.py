"""A bounded, first-come queue in front of a model that writes a few answers at once.

llama.cpp runs `slots` sequences at a time; more requests than that used to queue inside it with
nothing shown, until a client timed out. Here a request takes a slot or waits in line, reporting
its place and the expected wait as it moves up; a full line, or a wait longer than the budget,
is refused at once (`BusyError`), and the assistant answers from the quoted passages instead.
Hand-written because the wait must be observable step by step (to show the queue position) and
abandoned the moment the client leaves, which neither `threading.Semaphore` nor anyio's limiter
offers.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import AssistantError


class BusyError(AssistantError):
    """No slot within the wait budget, or the line is full: answer without the model."""


class RequestCancelled(AssistantError):
    """The client left while the request waited or was being answered."""


@dataclass(frozen=True)
class Waiting:
    """Where a request stands in line: 1 means next."""

    position: int
    expected_seconds: float


class GenerationGate:
    """`slots` requests write at once; up to `max_waiting` wait their turn, each at most `wait_budget` seconds."""

    def __init__(self, slots: int, max_waiting: int, wait_budget: float) -> None:
        self.slots, self.max_waiting, self.wait_budget = slots, max_waiting, wait_budget
        self._cond = threading.Condition()
        self._busy = 0
        self._line: deque[int] = deque()
        self._tickets = itertools.count()
        self._durations: deque[float] = deque(maxlen=32)

    @property
    def queue_length(self) -> int:
        with self._cond:
            return len(self._line)

    @property
    def busy(self) -> int:
        with self._cond:
            return self._busy

    def expected_seconds(self, position: int) -> float:
        """A rough wait: the answers ahead of this one, `slots` at a time, at the recent pace."""
        typical = statistics.median(self._durations) if self._durations else 8.0
        return round(typical * position / self.slots, 1)

    def wait_for_slot(self, cancel: threading.Event | None = None) -> Iterator[Waiting]:
        """Yields the place in line whenever it changes; returns holding a slot (call `release` after).

        Raises BusyError when the line is full or the budget runs out, RequestCancelled (holding no
        slot) as soon as `cancel` is set.
        """
        with self._cond:
            if self._busy < self.slots and not self._line:
                self._busy += 1
                return
            if len(self._line) >= self.max_waiting:
                raise BusyError(f"{len(self._line)} answers already waiting for the model")
            ticket = next(self._tickets)
            self._line.append(ticket)
        deadline = time.monotonic() + self.wait_budget
        reported = None
        try:
            while True:
                with self._cond:
                    position = self._line.index(ticket) + 1
                    if position == 1 and self._busy < self.slots:
                        self._line.popleft()
                        self._busy += 1
                        self._cond.notify_all()
                        return
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise BusyError(f"no free slot within {self.wait_budget:.0f} s")
                    if cancel is not None and cancel.is_set():
                        raise RequestCancelled("the client left while waiting for the model")
                    if position != reported:
                        update = Waiting(position, self.expected_seconds(position))
                    else:
                        update = None
                        self._cond.wait(timeout=min(left, 0.25))
                if update is not None:
                    reported = position
                    yield update
        finally:
            with self._cond:
                if ticket in self._line:
                    self._line.remove(ticket)
                    self._cond.notify_all()

    def release(self, seconds: float | None = None) -> None:
        with self._cond:
            self._busy = max(0, self._busy - 1)
            if seconds is not None:
                self._durations.append(seconds)
            self._cond.notify_all()
