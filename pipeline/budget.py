"""How much memory one piece of work (a file's load, generating a table, a pipeline step, a profile) may take in
this server's process: the operator's cap, what the machine has available, and what the session has left,
whichever is least. Work is estimated and checked against it before it starts."""

from __future__ import annotations

from dataclasses import dataclass

import psutil

from pipeline.errors import DataError
from pipeline.settings import positive_int_setting

WORK_LIMIT_ENV = "GPL_MAX_LOAD_MB"
DEFAULT_WORK_LIMIT_MB = 1536
# Any piece of work takes this much whatever its size (allocator arenas, small Python objects, indexes): the
# estimates add it to what they derive from the data, so small work is not estimated at nothing.
WORK_OVERHEAD = 8 * 2**20


def gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:,.2f} GiB"


@dataclass(frozen=True)
class MemoryBudget:
    """The most memory one load or step may take, and what sets that limit (for messages)."""

    nbytes: int
    why: str

    @classmethod
    def for_session(cls, room: int | None = None, server_room: int | None = None) -> MemoryBudget:
        """The server's cap ($GPL_MAX_LOAD_MB, 1.5 GiB), half the memory available now, the session's room, and
        what all the server's sessions together may still take."""
        cap = positive_int_setting(WORK_LIMIT_ENV, DEFAULT_WORK_LIMIT_MB) * 2**20
        limits = [
            cls(cap, "this server allows one load or step"),
            cls(psutil.virtual_memory().available // 2, "half the memory this server has available now"),
        ]
        if room is not None:
            why = "this session has left of its memory limit (remove datasets it no longer needs to make room)"
            limits.append(cls(max(room, 0), why))
        if server_room is not None:
            why = "all sessions of this server may still take together (try again once others have ended)"
            limits.append(cls(max(server_room, 0), why))
        return min(limits, key=lambda budget: budget.nbytes)

    def check(self, need: int, doing: str, instead: str) -> None:
        """A DataError, before the work starts, when `doing` needs more than this budget: it names the estimate,
        the limit and what sets it, and `instead` (what to do)."""
        if need > self.nbytes:
            raise DataError(
                f"{doing} needs about {gib(need)} of memory at its peak, more than the "
                f"{gib(self.nbytes)} {self.why}. {instead}"
            )
