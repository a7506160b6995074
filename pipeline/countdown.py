"""Time left for long work, as a countdown that never rises: from measured rates where known, else the pace so far.

Work is reported as a done share, `(parts finished + share of the current part) / parts` when it runs in `parts`
(an algorithm at a row count, a suite at a size). A part's time is predicted from `Rates`: the seconds measured for
the same kind of work at the nearest size, scaled by size; a kind not measured yet takes the seconds per unit of size
of the parts finished in this run. Before that, the time left is the pace so far extrapolated: per unit of size over
the size left when the work runs in parts (a first part of 10,000 rows before parts of 100,000 and 1,000,000 is a
hundredth of the work, not a third), else `elapsed / done × (1 − done)`; before any progress there is no estimate.

What is shown counts down with the clock between reports. A new estimate below it replaces it; one above it never
raises it: the countdown slows instead, so that it reaches zero when the new estimate says. Work that outlasts every
estimate shows zero ("longer than estimated") until it ends, never a number that grows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Part:
    """One part of the work, in the order parts run: the kind of work (what rates are kept by) and its size."""

    kind: str
    size: float


@dataclass
class Rates:
    """Seconds measured for kinds of work at sizes (the last measurement at each size kept)."""

    seen: dict[str, dict[float, float]] = field(default_factory=dict)

    def record(self, kind: str, size: float, seconds: float) -> None:
        if size > 0 and seconds >= 0:
            self.seen.setdefault(kind, {})[size] = seconds

    def predict(self, kind: str, size: float) -> float | None:
        """Seconds for `kind` at `size`: the nearest measured size (on a log scale) scaled linearly; None if unseen."""
        measured = self.seen.get(kind)
        if not measured or size <= 0:
            return None
        nearest = min(measured, key=lambda seen: abs(math.log(seen / size)))
        return measured[nearest] * size / nearest


@dataclass
class Countdown:
    """The time left shown while work runs; `report` as it goes, `left` at any moment (times in seconds, any clock)."""

    started: float
    parts: list[Part] = field(default_factory=list)
    rates: Rates = field(default_factory=Rates)
    _finished: int = 0
    _part_started: float = 0.0
    _run_seconds: float = 0.0  # of the parts finished in this run
    _run_size: float = 0.0
    _anchor: tuple[float, float, float] | None = None  # (when, value then, seconds down per second)
    _done: float = 0.0

    def __post_init__(self) -> None:
        self._part_started = self.started

    def report(self, done: float, now: float) -> None:
        """The work is `done` (0 to 1) at `now`: measure the parts that finished, estimate again."""
        self._done = min(max(done, 0.0), 1.0)
        if self.parts:
            self._finish_parts(now)
        estimate = self._estimate(now)
        if estimate is None:
            return
        shown = self.left(now)
        if shown is None or estimate <= shown:
            self._anchor = (now, estimate, 1.0)
        else:  # never up: slow down so as to reach zero when the new estimate does
            self._anchor = (now, shown, shown / estimate)

    def left(self, now: float) -> float | None:
        """Seconds left as shown at `now`; None before there is any estimate."""
        if self._anchor is None:
            return None
        when, value, speed = self._anchor
        return max(value - speed * max(now - when, 0.0), 0.0)

    def _finish_parts(self, now: float) -> None:
        """Record the parts that finished since the last report, their time shared by size."""
        finished = min(int(self._done * len(self.parts) + 1e-9), len(self.parts))
        if finished <= self._finished:
            return
        ended = self.parts[self._finished : finished]
        spent, total = now - self._part_started, sum(part.size for part in ended)
        for part in ended:
            seconds = spent * part.size / total if total else spent / len(ended)
            self.rates.record(part.kind, part.size, seconds)
            self._run_seconds += seconds
            self._run_size += part.size
        self._finished, self._part_started = finished, now

    def _predict(self, part: Part) -> float | None:
        known = self.rates.predict(part.kind, part.size)
        if known is not None:
            return known
        return self._run_seconds / self._run_size * part.size if self._run_size else None

    def _estimate(self, now: float) -> float | None:
        if self._done >= 1.0:
            return 0.0
        if self.parts:
            predicted = [self._predict(part) for part in self.parts[self._finished :]]
            if all(seconds is not None for seconds in predicted):
                current, *rest = predicted
                within = self._done * len(self.parts) - self._finished
                now_left = current * (1 - within) if within > 0 else max(current - (now - self._part_started), 0.0)
                return now_left + sum(rest)
            return self._pace_by_size(now)
        elapsed = now - self.started
        return elapsed / self._done * (1 - self._done) if self._done > 0 else None

    def _pace_by_size(self, now: float) -> float | None:
        """The pace so far per unit of size over the size left: parts of different sizes (10,000, 100,000 and
        1,000,000 rows) are not equal shares of the work, so their count would say almost nothing is left."""
        sizes = [part.size for part in self.parts]
        within = self._done * len(sizes) - self._finished
        done = sum(sizes[: self._finished]) + (within * sizes[self._finished] if self._finished < len(sizes) else 0.0)
        return (now - self.started) / done * (sum(sizes) - done) if done > 0 else None
