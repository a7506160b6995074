"""The db-benchmark groupby (q1–q10) and join (q1–q5) questions, written once for pandas, cuDF and Dask.

Each question takes a Workspace (the engine and its tables) and returns its answer; `check`
reduces that to a row count and a checksum (sums of value columns), db-benchmark style, so
answers from different engines can be compared without comparing row order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.engines import Engine
from pipeline.engines.dask import is_dask_frame

CHECK_RTOL = 1e-6


@dataclass(frozen=True)
class Answer:
    """What a question's result must agree on across engines: rows and sums of its value columns."""

    rows: int
    checksum: tuple[float, ...]

    def disagreement(self, reference: Answer, tolerance: float | None = None) -> str | None:
        """None when this answer agrees with `reference`, else what differs.

        Sums must agree to a relative 1e-6; with `tolerance`, values (model metrics) to that
        absolute difference.
        """
        if self.rows != reference.rows:
            return f"{self.rows:,} rows where the reference has {reference.rows:,}"
        rtol, atol = (0.0, tolerance) if tolerance is not None else (CHECK_RTOL, 1e-9)
        if len(self.checksum) != len(reference.checksum) or not np.allclose(
            self.checksum, reference.checksum, rtol=rtol, atol=atol, equal_nan=True
        ):
            return f"checksum {list(self.checksum)} where the reference has {list(reference.checksum)}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "checksum": list(self.checksum)}


def answer_of(engine: Engine, frame: Any, columns: list[str]) -> Answer:
    """Rows of an answer frame and the sums of `columns`, missing values and NaN skipped, counted by `engine` (a lazy
    one counts on its cluster, in one pass over the partitions, and brings back only the numbers).

    cuDF keeps NaN apart from missing (null) values; both are left out of the sum on every engine.
    """
    counts = [frame.shape[0]]
    for column in columns:
        values = frame[column].astype("float64").fillna(0.0)
        counts.append(values[values == values].sum())
    rows, *sums = engine.compute(dict(enumerate(counts))).values()
    return Answer(int(rows), tuple(float(total) for total in sums))


def sums_of(*columns: str) -> Callable[[Any, Engine], Answer]:
    return lambda frame, engine: answer_of(engine, frame, list(columns))


@dataclass
class Workspace:
    """What a question runs on: one engine, its tables by name, and a scratch folder for files."""

    engine: Engine
    tables: dict[str, Any]
    folder: Path | None = None

    def __getitem__(self, name: str) -> Any:
        return self.tables[name]


@dataclass(frozen=True)
class Question:
    """One timed question: what it asks, how to run it, and how to reduce its result to an Answer (`check`, given the
    result and the engine that made it).

    `engines` limits the engines it applies to (None: every engine); peers answer the
    groupby and join questions with their own code (pipeline.bench.peers). `tolerance` is
    the absolute difference allowed between answers (None: sums must agree exactly).
    """

    suite: str
    name: str
    label: str
    run: Callable[[Workspace], Any]
    check: Callable[[Any, Engine], Answer]
    engines: frozenset[str] | None = field(default=None)
    tolerance: float | None = None

    def applies_to(self, engine: str) -> bool:
        return self.engines is None or engine in self.engines


GROUPING = {"sort": False, "dropna": False}
# Aggregations are given as {column: function(s)} and the keys come back as columns through reset_index():
# the forms pandas, cuDF and Dask all take (Dask's groupby has no as_index).


def _aggregated(frame: Any, by: str | list[str], how: Any) -> Any:
    return frame.groupby(by, **GROUPING).agg(how).reset_index()


def q6_median_sd(x: Any) -> Any:
    result = x.groupby(["id4", "id5"], **GROUPING).agg({"v3": ["median", "std"]})
    result.columns = ["median_v3", "sd_v3"]
    return result.reset_index()


def q7_range(x: Any) -> Any:
    extremes = _aggregated(x, "id3", {"v1": "max", "v2": "min"})
    return extremes.assign(range_v1_v2=extremes["v1"] - extremes["v2"])[["id3", "range_v1_v2"]]


def _top_two(frame: Any) -> Any:
    return frame.sort_values("v3", ascending=False).groupby("id6", **GROUPING).head(2)


def q8_top_two(x: Any) -> Any:
    ranked = x[["id6", "v3"]].dropna(subset=["v3"])
    if is_dask_frame(ranked):  # engine check: db-benchmark's q8 has its own form on partitions
        # Dask: a shuffle brings each id6's rows into one partition, which then answers as pandas/cuDF do; a global
        # sort followed by a grouped head grows far faster than the rows there (1.7 s at 1e6 rows, 14.5 s at 3e6).
        return ranked.shuffle("id6").map_partitions(_top_two)
    return _top_two(ranked)


def q9_r_squared(x: Any) -> Any:
    """Squared Pearson correlation of v1 and v2 per (id2, id4), from per-group sums.

    db-benchmark's pandas solution calls a Python function per group; sums give the same
    number with one vectorised aggregation on every engine.
    """
    pairs = x[["id2", "id4", "v1", "v2"]].dropna()
    v1 = pairs["v1"].astype("float64")
    v2 = pairs["v2"].astype("float64")
    parts = pairs[["id2", "id4"]].assign(n=1.0, sx=v1, sy=v2, sxx=v1 * v1, syy=v2 * v2, sxy=v1 * v2)
    sums = _aggregated(parts, ["id2", "id4"], "sum")
    n = sums["n"]
    covariance = n * sums["sxy"] - sums["sx"] * sums["sy"]
    spread = (n * sums["sxx"] - sums["sx"] ** 2) * (n * sums["syy"] - sums["sy"] ** 2)
    return sums[["id2", "id4"]].assign(r2=covariance * covariance / spread)


def q10_all_keys(engine: Engine, x: Any) -> Any:
    """About one group per row: the engine keeps a result that long in several partitions (Dask's split_out)."""
    grouped = x.groupby([f"id{i}" for i in range(1, 7)], **GROUPING)
    counted = engine.aggregate(grouped, {"v3": "sum", "v1": "count"}, many_groups=True).reset_index()
    return counted.rename(columns={"v1": "count"})


def _groupby(name: str, label: str, run: Callable[[Any], Any], *checked: str) -> Question:
    return Question("groupby", name, label, lambda w: run(w["x"]), sums_of(*checked))


def _join(name: str, label: str, right: str, on: str, how: str = "inner") -> Question:
    return Question("join", name, label, lambda w: w["x"].merge(w[right], on=on, how=how), sums_of("v1", "v2"))


GROUPBY_QUESTIONS = [
    _groupby("q1", "sum v1 by id1", lambda x: _aggregated(x, "id1", {"v1": "sum"}), "v1"),
    _groupby("q2", "sum v1 by id1:id2", lambda x: _aggregated(x, ["id1", "id2"], {"v1": "sum"}), "v1"),
    _groupby("q3", "sum v1 mean v3 by id3", lambda x: _aggregated(x, "id3", {"v1": "sum", "v3": "mean"}), "v1", "v3"),
    _groupby(
        "q4",
        "mean v1:v3 by id4",
        lambda x: _aggregated(x, "id4", {"v1": "mean", "v2": "mean", "v3": "mean"}),
        "v1",
        "v2",
        "v3",
    ),
    _groupby(
        "q5",
        "sum v1:v3 by id6",
        lambda x: _aggregated(x, "id6", {"v1": "sum", "v2": "sum", "v3": "sum"}),
        "v1",
        "v2",
        "v3",
    ),
    _groupby("q6", "median v3 sd v3 by id4 id5", q6_median_sd, "median_v3", "sd_v3"),
    _groupby("q7", "max v1 - min v2 by id3", q7_range, "range_v1_v2"),
    _groupby("q8", "largest two v3 by id6", q8_top_two, "v3"),
    _groupby("q9", "regression v1 v2 by id2 id4", q9_r_squared, "r2"),
    Question(
        "groupby", "q10", "sum v3 count by id1:id6", lambda w: q10_all_keys(w.engine, w["x"]), sums_of("v3", "count")
    ),
]

JOIN_QUESTIONS = [
    _join("q1", "small inner on int", "small", "id1"),
    _join("q2", "medium inner on int", "medium", "id2"),
    _join("q3", "medium outer on int", "medium", "id2", how="left"),
    _join("q4", "medium inner on factor", "medium", "id5"),
    _join("q5", "big inner on int", "big", "id3"),
]
