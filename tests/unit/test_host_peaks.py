"""The host-memory models against the real peaks: every step kind (a cast to each target type), every generator and
the profile (minimal and full), each measured in a fresh process at two sizes (tests/support/peaks.py says how),
must peak below what its model estimates before it runs. A model that falls behind its code fails here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.engines import CpuEngine
from pipeline.profile import PRESETS, profile_frame
from pipeline.profile.memory import profile_need
from pipeline.steps.params import CAST_TARGETS
from pipeline.steps.spec import STEP_KINDS, Context, Schema, Step, apply_step, checked, host_need
from pipeline.tables.synthetic import GENERATORS, SyntheticSpec, estimated_bytes, generate
from tests.support.peaks import Prepare, measure_peaks

SIZES = (200_000, 800_000)
CPU = CpuEngine()
CITIES = 1_000


def table(rows: int) -> pd.DataFrame:
    """Every column type a step meets: numbers with gaps, whole floats, text of few and many values, times, flags."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    x[rng.random(rows) < 0.1] = np.nan
    cities = np.array([f"city_{i}" for i in range(CITIES)], dtype=object)
    seconds = rng.integers(1_500_000_000, 1_700_000_000, rows)
    return pd.DataFrame(
        {
            "x": x,
            "n": rng.integers(0, 1_000_000, rows),
            "whole": rng.integers(0, 1_000, rows).astype("float64"),
            "city": pd.array(cities[rng.integers(0, CITIES, rows)], dtype="str"),
            "colour": pd.array(cities[rng.integers(0, 20, rows)], dtype="str"),
            "note": pd.array([f"note {v:08d}" for v in rng.integers(0, rows // 2, rows)], dtype="str"),
            "when": pd.to_datetime(seconds, unit="s").astype("datetime64[s]"),
            "day": pd.array(pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%d"), dtype="str"),
            "code": pd.array(rng.integers(0, 100_000, rows).astype(str), dtype="str"),
            "ok": rng.random(rows) < 0.3,
        }
    )


def cities() -> pd.DataFrame:
    return pd.DataFrame(
        {"city": pd.array([f"city_{i}" for i in range(CITIES)], dtype="str"), "score": np.arange(1.0 * CITIES)}
    )


CASTS = {"float64": "n", "int64": "whole", "str": "n", "category": "note", "datetime": "n", "bool": "n"}
STEPS = {
    "select": Step("select", {"columns": ["x", "city"]}),
    "drop": Step("drop", {"columns": ["ok"]}),
    "rename": Step("rename", {"mapping": {"x": "value"}}),
    **{f"cast to {to}": Step("cast", {"column": column, "to": to}) for to, column in CASTS.items()},
    "cast text to datetime": Step("cast", {"column": "day", "to": "datetime"}),
    "cast text to float64": Step("cast", {"column": "code", "to": "float64"}),
    "filter": Step(
        "filter",
        {"conditions": [{"column": "x", "op": ">", "value": -9}, {"column": "city", "op": "contains", "value": "_"}]},
    ),
    "drop_missing": Step("drop_missing", {}),
    "drop_duplicates": Step("drop_duplicates", {"columns": ["city", "note"]}),
    "sort": Step("sort", {"columns": ["note"]}),
    "sort numbers": Step("sort", {"columns": ["n", "x"]}),
    "sample": Step("sample", {"fraction": 0.99}),
    "train_test_split": Step("train_test_split", {}),
    "fill_missing": Step("fill_missing", {"columns": ["x"], "method": "median"}),
    "datetime_parts": Step("datetime_parts", {"column": "when", "parts": ["year", "month", "weekday", "hour"]}),
    "string": Step("string", {"column": "note", "op": "upper"}),
    "log1p": Step("log1p", {"columns": ["n"]}),
    "scale": Step("scale", {"columns": ["x", "n"], "method": "robust"}),
    "clip": Step("clip", {"columns": ["x"]}),
    "quantile_bin": Step("quantile_bin", {"column": "x"}),
    "rolling_mean": Step("rolling_mean", {"column": "x", "window": 5}),
    "one_hot": Step("one_hot", {"columns": ["colour"], "max_levels": 50}),
    "label_encode": Step("label_encode", {"column": "note"}),
    "group_aggregate": Step(
        "group_aggregate",
        {
            "by": ["city"],
            "aggregations": [{"column": "x", "function": "mean"}, {"column": "note", "function": "nunique"}],
        },
    ),
    "join": Step("join", {"dataset": "cities", "on": ["city"], "how": "left"}),
}
GENERATED = {
    **{kind: SyntheticSpec(kind, rows=1) for kind in GENERATORS},
    "groupby_g1 with gaps, sorted": SyntheticSpec("groupby_g1", rows=1, na_percent=5, sort=True),
}


def step_case(step: Step) -> Prepare:
    def prepare(rows: int) -> tuple[Callable[[], Any], int]:
        frame, others = table(rows), {"cities": cities()}
        context = Context(CPU, others)
        ready = checked(step, Schema.of(frame), {name: Schema.of(other) for name, other in others.items()})
        return (lambda: apply_step(ready, frame, context)), host_need(ready, frame, context)[0]

    return prepare


def generator_case(spec: SyntheticSpec) -> Prepare:
    def prepare(rows: int) -> tuple[Callable[[], Any], int]:
        sized = SyntheticSpec(**{**spec.__dict__, "rows": rows})
        return (lambda: generate(sized, CPU)), estimated_bytes(sized)

    return prepare


def profile_case(preset: str) -> Prepare:
    def prepare(rows: int) -> tuple[Callable[[], Any], int]:
        frame = table(rows)
        return (lambda: profile_frame(CPU, frame, PRESETS[preset])), profile_need(frame, PRESETS[preset])

    return prepare


PEAK_CASES: dict[str, Prepare] = {
    **{f"step {name}": step_case(step) for name, step in STEPS.items()},
    **{f"generate {name}": generator_case(spec) for name, spec in GENERATED.items()},
    **{f"profile {preset}": profile_case(preset) for preset in ("minimal", "full")},
}


def test_every_kind_of_work_peaks_below_its_model():
    assert {step.kind for step in STEPS.values()} == set(STEP_KINDS), "every step kind is measured"
    assert {step.params["to"] for step in STEPS.values() if step.kind == "cast"} == set(CAST_TARGETS)
    assert {spec.kind for spec in GENERATED.values()} == set(GENERATORS)
    peaks = measure_peaks(__name__, list(PEAK_CASES), SIZES)
    assert len(peaks) == len(PEAK_CASES) * len(SIZES)
    above = [str(peak) for peak in peaks if peak.peak > peak.model]
    assert not above, "peaks above their model:\n" + "\n".join(above)
