"""Tables for the Explore page: profile phases by engine and each engine's speed-up."""

from __future__ import annotations

import pandas as pd

from pipeline.profile.local import Profile
from ui.views import engine_speedups


def profile_times(profiles: dict[str, Profile]) -> pd.DataFrame:
    """Seconds per profile phase and engine (columns: engine, phase, seconds)."""
    return pd.DataFrame(
        [
            {"engine": p.engine_label, "phase": phase, "seconds": seconds}
            for p in profiles.values()
            for phase, seconds in p.phases.items()
        ],
        columns=["engine", "phase", "seconds"],
    )


def profile_speedups(profiles: dict[str, Profile]) -> dict[str, float]:
    """Each other engine's profile speed-up over the reference engine's, by label."""
    return engine_speedups(profiles, lambda p: p.seconds, lambda p: p.engine_label)
