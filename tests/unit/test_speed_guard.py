"""The speed guard's decisions on real measurements: a workload made slower by a slower implementation of the same
work fails, the same workload as it was passes, and every workload `make speed-guard` runs has a recorded ratio."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.speed_guard import (
    GUARD_FILE,
    MEMORY,
    TOLERANCE,
    Workload,
    judge,
    mixed_table,
    paired,
    read_guard,
    record,
    spearman_baseline,
    workloads,
)
from pipeline.engines import CPU, get_engine
from pipeline.profile import PRESETS, profile_frame
from pipeline.profile.correlations import correlations

ROWS = 20_000


@pytest.fixture(scope="module")
def spearman() -> dict:
    """Spearman's matrix of the `mixed` table two ways: the profile's, and one that ranks every pair's shared rows
    again (a sort per pair: the same matrix, several times the work); and the guard's baseline for it."""
    frame, cpu, settings = mixed_table(ROWS), get_engine(CPU), PRESETS["full"]
    columns = profile_frame(cpu, frame, settings).columns
    numeric = frame.select_dtypes("number")
    names = list(numeric.columns)

    def profiles() -> pd.DataFrame:
        return correlations(cpu, frame, columns, settings)[0]["spearman"]

    def sort_per_pair() -> pd.DataFrame:
        matrix = np.eye(len(names))
        for i, left in enumerate(names):
            for right in names[i + 1 :]:
                ranks = numeric[[left, right]].dropna().rank()
                matrix[i, names.index(right)] = matrix[names.index(right), i] = ranks[left].corr(ranks[right])
        return pd.DataFrame(matrix, index=names, columns=names)

    return {"ours": profiles, "slower": sort_per_pair, "baseline": spearman_baseline(frame)}


def test_the_slower_implementation_does_the_same_work(spearman):
    pd.testing.assert_frame_equal(spearman["ours"](), spearman["slower"](), atol=1e-12, rtol=0)


def test_a_workload_made_slower_fails_and_the_same_workload_as_recorded_passes(spearman, tmp_path):
    as_it_was = Workload("spearman", spearman["ours"], spearman["baseline"], 5)
    guard = record([[paired(as_it_was)]], "the test's own record", tmp_path / "guard.json")
    recorded = read_guard(tmp_path / "guard.json")["ratios"]
    assert recorded == guard["ratios"] and set(recorded) == {"spearman"}

    again = judge([paired(as_it_was)], recorded)[0]
    assert again.passed and again.problem() is None, again.problem()

    slower = judge([paired(Workload("spearman", spearman["slower"], spearman["baseline"], 5))], recorded)[0]
    assert not slower.passed
    assert slower.measured.ratio > TOLERANCE * recorded["spearman"]
    message = slower.problem()
    assert message.startswith("spearman is slower than recorded")
    assert f"{recorded['spearman']:.3f}× recorded" in message and "--record" in message


def test_a_workload_with_no_recorded_ratio_fails_with_what_to_do(spearman):
    verdict = judge([paired(Workload("new", spearman["ours"], spearman["baseline"], 1))], {"spearman": 1.0})[0]
    assert not verdict.passed
    assert "no ratio is recorded" in verdict.problem() and "--record" in verdict.problem()


def test_every_workload_the_guard_runs_has_a_recorded_ratio():
    names = {w.name for w in workloads(rows=2_000)} | {MEMORY}
    guard = json.loads(GUARD_FILE.read_text())
    assert names == set(guard["ratios"]), "record the guard's ratios again (python -m benchmarks.speed_guard --record)"
    assert guard["why"] and guard["recorded"]["git_commit"]
