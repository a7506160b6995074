"""How much memory one piece of work (a file's load, a pipeline step) may take: the operator's cap, what the
machine has available, and what the session has left, whichever is least."""

from __future__ import annotations

from dataclasses import dataclass

import psutil

from pipeline.settings import positive_int_setting

WORK_LIMIT_ENV = "GPL_MAX_LOAD_MB"
DEFAULT_WORK_LIMIT_MB = 1536


@dataclass(frozen=True)
class MemoryBudget:
    """The most memory one load or step may take, and what sets that limit (for messages)."""

    nbytes: int
    why: str

    @classmethod
    def for_session(cls, room: int | None = None) -> MemoryBudget:
        """The server's cap ($GPL_MAX_LOAD_MB, 1.5 GiB), half the memory available now, and the session's room."""
        cap = positive_int_setting(WORK_LIMIT_ENV, DEFAULT_WORK_LIMIT_MB) * 2**20
        limits = [
            cls(cap, "this server allows one load or step"),
            cls(psutil.virtual_memory().available // 2, "half the memory this server has available now"),
        ]
        if room is not None:
            limits.append(cls(max(room, 0), "this session has left of its memory limit"))
        return min(limits, key=lambda budget: budget.nbytes)
