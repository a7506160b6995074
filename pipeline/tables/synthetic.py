"""Synthetic tables of any size, generated on the engine they are for.

Generators run on the engine's own array module (numpy on CPU, CuPy on GPU) with counter-based random streams, so
every engine gets the same values from the same seed. An engine is passed in (`Maker`), never imported: this
layer sits below the engines, which call it (a Dask engine builds each partition with it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.budget import WORK_OVERHEAD, MemoryBudget, gib
from pipeline.errors import DataError
from pipeline.tables.random_streams import WORKING_BYTES_PER_ROW, CounterRandom

MIN_ROWS = 1_000
MAX_ROWS = 100_000_000


class Maker(Protocol):
    """What a generator asks of the engine it makes a table on (every `pipeline.engines.Engine` offers it)."""

    @property
    def frames(self) -> Any: ...

    @property
    def xp(self) -> Any: ...

    @property
    def memory_of_its_own(self) -> bool: ...

    def from_arrow(self, table: pa.Table) -> Any: ...

    def with_missing(self, column: Any, missing: Any) -> Any: ...

    def room_for_data(self) -> tuple[int, str]: ...

    def generation_need(self, spec: SyntheticSpec) -> tuple[int, str]: ...


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate; each kind reads the fields it needs."""

    kind: str
    rows: int
    seed: int = 0
    features: int = 8
    classes: int = 2
    groups: int = 100
    na_percent: int = 0
    sort: bool = False
    first_row: int = 0  # with window_rows: make only rows first_row … first_row + window_rows - 1 (one partition)
    window_rows: int | None = None

    def describe(self) -> str:
        """The settings this kind uses, for people."""
        parts = [f"{self.rows:,} rows", f"seed {self.seed}"]
        if self.kind in ("classification", "regression", "blobs"):
            parts.append(f"{self.features} features")
        if self.kind == "classification":
            parts.append(f"{self.classes} classes")
        if self.kind == "blobs":
            parts.append(f"{self.classes} clusters")
        if self.kind == "groupby_g1":
            parts += [f"K={self.groups:,} groups", f"{self.na_percent}% missing", "sorted" if self.sort else "unsorted"]
        return f"{GENERATORS[self.kind].label}: " + ", ".join(parts)

    def build_on(self, engine: Maker) -> dict[str, Any]:
        """The tables on an engine that computes them itself (`Engine.generate` calls this)."""
        return generate(self, engine)


FIXED_WIDTH = {"float64": 8, "int64": 8, "Int64": 9, "datetime64[s]": 8, "bool": 1}  # bytes a value takes in pandas


@dataclass(frozen=True)
class Column:
    """A column a generator makes, as pandas holds it: its dtype and, for text (`str`), its longest label."""

    dtype: str
    chars: int = 0

    @property
    def row_bytes(self) -> int:
        """Bytes a row of it takes: a fixed width, or (text, Arrow strings) the label, an 8-byte offset, a valid bit."""
        return FIXED_WIDTH[self.dtype] if self.dtype in FIXED_WIDTH else 9 + self.chars


@dataclass(frozen=True)
class Made:
    """One table a generator makes: its rows and its columns by name."""

    rows: int
    columns: dict[str, Column]

    @property
    def nbytes(self) -> int:
        return self.rows * sum(column.row_bytes for column in self.columns.values())


@dataclass(frozen=True)
class Generator:
    """A generator: `build` makes its tables on an engine; `made` lists, from the same spec, the tables and columns
    it makes (the memory estimate is derived from them; a test keeps the two in step)."""

    label: str
    describe: str
    build: Callable[[Maker, SyntheticSpec], dict[str, Any]]
    made: Callable[[SyntheticSpec], dict[str, Made]]


def _frame(engine: Maker, columns: dict[str, Any]) -> Any:
    return engine.frames.DataFrame(columns)


def row_window(spec: SyntheticSpec) -> tuple[int, int]:
    """(first row, row count) this spec makes: every row, or the window of one partition."""
    return spec.first_row, spec.rows - spec.first_row if spec.window_rows is None else spec.window_rows


def _random(engine: Maker, spec: SyntheticSpec, seed: int | None = None) -> CounterRandom:
    """The spec's random streams over its row window: any window of them holds the values the whole table has."""
    first, count = row_window(spec)
    return CounterRandom(engine.xp, spec.seed if seed is None else seed, count, start=first)


def classification(engine: Maker, spec: SyntheticSpec) -> dict[str, Any]:
    """Gaussian classes: half the features move with the class, the rest are noise; 1% labels flipped."""
    rng = _random(engine, spec)
    label = rng.integers(0, 0, spec.classes)
    informative = max(1, spec.features // 2)
    columns = {}
    for j in range(spec.features):
        noise = rng.normal(10 + j)
        if j < informative:
            shift = ((label + j) % spec.classes).astype(engine.xp.float64) * 1.5
            columns[f"x{j}"] = noise + shift
        else:
            columns[f"x{j}"] = noise
    flipped = rng.uniform(1) < 0.01
    columns["target"] = engine.xp.where(flipped, rng.integers(2, 0, spec.classes), label)
    return {"": _frame(engine, columns)}


def regression(engine: Maker, spec: SyntheticSpec) -> dict[str, Any]:
    """y = X @ w + noise, with weights drawn from the seed and half the features relevant."""
    rng = _random(engine, spec)
    weights = CounterRandom(np, spec.seed + 1, spec.features).normal(0) * 10
    weights[spec.features // 2 + 1 :] = 0.0
    columns = {f"x{j}": rng.normal(10 + j) for j in range(spec.features)}
    target = rng.normal(0) * 5.0
    for j in range(spec.features):
        target = target + columns[f"x{j}"] * float(weights[j])
    columns["target"] = target
    return {"": _frame(engine, columns)}


def blobs(engine: Maker, spec: SyntheticSpec) -> dict[str, Any]:
    """Isotropic Gaussian clusters around centres in [-10, 10], standard deviation 1."""
    rng = _random(engine, spec)
    centers = (CounterRandom(np, spec.seed + 2, spec.classes * spec.features).uniform(0) * 20 - 10).reshape(
        spec.classes, spec.features
    )
    cluster = rng.integers(0, 0, spec.classes)
    device_centers = engine.xp.asarray(centers)
    columns = {f"x{j}": rng.normal(10 + j) + device_centers[cluster, j] for j in range(spec.features)}
    columns["cluster"] = cluster
    return {"": _frame(engine, columns)}


def id_labels(cardinality: int, width: int) -> pa.Table:
    """The labels id001, id002, ... of a key column, built once with pyarrow."""
    digits = pc.cast(pa.array(np.arange(1, cardinality + 1)), pa.string())
    labels = pc.binary_join_element_wise("id", pc.utf8_lpad(digits, width, "0"), "")
    return pa.table({"label": labels})


def _labels_for(engine: Maker, codes: Any, cardinality: int, width: int) -> Any:
    """A string column: label number `codes` (1-based) of id_labels, gathered on the engine."""
    dictionary = engine.from_arrow(id_labels(cardinality, width))["label"]
    return dictionary.take(codes - 1).reset_index(drop=True)


def _with_nulls(engine: Maker, column: Any, missing: Any) -> Any:
    series = engine.frames.Series(column) if not hasattr(column, "mask") else column
    return engine.with_missing(series, missing)


def groupby_g1(engine: Maker, spec: SyntheticSpec) -> dict[str, Any]:
    """The db-benchmark groupby table G1: id1..id6 keys, v1..v3 values, K groups."""
    n, k = spec.rows, spec.groups
    rng = _random(engine, spec)
    per_group = max(n // k, 1)
    columns = {
        "id1": _labels_for(engine, rng.integers(1, 1, k + 1), k, 3),
        "id2": _labels_for(engine, rng.integers(2, 1, k + 1), k, 3),
        "id3": _labels_for(engine, rng.integers(3, 1, per_group + 1), per_group, 10),
        "id4": rng.integers(4, 1, k + 1),
        "id5": rng.integers(5, 1, k + 1),
        "id6": rng.integers(6, 1, per_group + 1),
        "v1": rng.integers(7, 1, 6),
        "v2": rng.integers(8, 1, 16),
        "v3": (rng.uniform(9) * 100).round(6),
    }
    if spec.na_percent:
        share = spec.na_percent / 100
        columns = {
            name: _with_nulls(engine, column, rng.uniform(20 + i) < share)
            for i, (name, column) in enumerate(columns.items())
        }
    frame = _frame(engine, columns)
    if spec.sort and spec.window_rows is None:  # a partition is not sorted on its own: Dask sorts the whole
        frame = frame.sort_values([f"id{i}" for i in range(1, 7)]).reset_index(drop=True)
    return {"": frame}


JOIN_TABLES = ("x", "small", "medium", "big")
WHOLE_JOIN_TABLES = ("small", "medium")  # at most N/1,000 rows: always made whole, never in row windows


def join_sizes(rows: int) -> list[int]:
    """Rows of the right-hand tables small, medium and big for an x of `rows` rows."""
    return [max(rows // 10**6, 10), max(rows // 10**3, 10), rows]


def join_table(engine: Maker, spec: SyntheticSpec, table: str) -> Any:
    """One db-benchmark join table; x and big over the spec's row window, small and medium whole."""
    sizes = join_sizes(spec.rows)
    xp = engine.xp
    if table == "x":
        rng = _random(engine, spec)
        x = {f"id{i + 1}": rng.integers(i + 1, 1, size + 1) for i, size in enumerate(sizes)}
        for i, size in enumerate(sizes):
            x[f"id{i + 4}"] = _labels_for(engine, x[f"id{i + 1}"], size, 0)
        x["v1"] = (rng.uniform(7) * 100).round(6)
        return _frame(engine, x)
    keys = JOIN_TABLES.index(table)
    if table in WHOLE_JOIN_TABLES:
        first, rows = 0, sizes[keys - 1]
        right_rng = CounterRandom(xp, spec.seed + keys, rows)
    else:
        first, rows = row_window(spec)
        right_rng = _random(engine, spec, seed=spec.seed + keys)
    right = {}
    for i in range(keys):
        last = i == keys - 1
        key = xp.arange(first + 1, first + rows + 1) if last else right_rng.integers(10 + i, 1, sizes[i] + 1)
        right[f"id{i + 1}"] = xp.where(right_rng.uniform(20 + i) < 0.1, key + sizes[i], key)
    for i in range(keys):
        right[f"id{i + 4}"] = _labels_for(engine, right[f"id{i + 1}"], 2 * sizes[i], 0)
    right["v2"] = (right_rng.uniform(30) * 100).round(6)
    return _frame(engine, right)


def join_j1(engine: Maker, spec: SyntheticSpec) -> dict[str, Any]:
    """The db-benchmark join tables: x (N rows) and right-hand small (N/1e6), medium (N/1e3), big (N).

    Keys of x are drawn from 1..k per level; each right-hand table draws its keys from
    1..k too and moves about 10% of them above k, so roughly 90% of them match x, as in
    db-benchmark's J1 data. id4..id6 are the string forms of id1..id3.
    """
    return {table: join_table(engine, spec, table) for table in JOIN_TABLES}


EPOCH_2020_S = 1_577_836_800
THREE_YEARS_S = 3 * 365 * 86_400


def mixed(engine: Maker, spec: SyntheticSpec) -> dict[str, Any]:
    """A 20-column table of every kind a profile meets: numbers, categories, times, text, flags, gaps."""
    n = spec.rows
    xp = engine.xp
    rng = _random(engine, spec)
    first, count = row_window(spec)
    normal = rng.normal(1) * 10 + 50
    seconds = rng.integers(2, 0, THREE_YEARS_S) + EPOCH_2020_S
    columns: dict[str, Any] = {
        "normal": normal,
        "lognormal": xp.exp(rng.normal(3)),
        "uniform": rng.uniform(4) * 1000,
        "exponential": -xp.log1p(-rng.uniform(5)),
        "with_gaps": _with_nulls(engine, rng.normal(6), rng.uniform(7) < 0.1),
        "small_int": rng.integers(8, 0, 101),
        "large_int": rng.integers(9, 0, 1_000_001),
        "mostly_zero": xp.where(rng.uniform(10) < 0.6, 0.0, rng.normal(11)),
        "follows_normal": normal * 0.8 + rng.normal(12) * 2,
    }
    for stream, levels in enumerate((10, 100, 1_000, 10_000), start=13):
        columns[f"category_{levels}"] = _labels_for(engine, rng.integers(stream, 1, levels + 1), levels, 0)
    columns["category_gaps"] = _with_nulls(
        engine, _labels_for(engine, rng.integers(17, 1, 21), 20, 0), rng.uniform(18) < 0.2
    )
    zipf = xp.floor(xp.exp(rng.uniform(19) * math.log(1000))).astype(xp.int64)
    columns["category_skewed"] = _labels_for(engine, zipf, 1000, 0)
    columns["flag"] = rng.uniform(20) < 0.3
    columns["timestamp"] = engine.frames.Series(seconds).astype("datetime64[s]")
    columns["timestamp_gaps"] = _with_nulls(
        engine, engine.frames.Series(seconds + 3600).astype("datetime64[s]"), rng.uniform(21) < 0.05
    )
    columns["comment"] = _labels_for(engine, rng.integers(22, 1, max(n // 2, 1) + 1), max(n // 2, 1), 0)
    columns["row_id"] = xp.arange(first, first + count, dtype=xp.int64)
    return {"": _frame(engine, columns)}


def label_chars(cardinality: int, width: int) -> int:
    """Characters of the longest of `id_labels(cardinality, width)`."""
    return 2 + max(width, len(str(cardinality)))


def _features(spec: SyntheticSpec) -> dict[str, Column]:
    return {f"x{j}": Column("float64") for j in range(spec.features)}


def _one(spec: SyntheticSpec, columns: dict[str, Column]) -> dict[str, Made]:
    return {"": Made(row_window(spec)[1], columns)}


def groupby_g1_made(spec: SyntheticSpec) -> dict[str, Made]:
    per_group = max(spec.rows // spec.groups, 1)
    whole = "Int64" if spec.na_percent else "int64"  # pandas' nullable integers hold the missing values
    keys = {
        "id1": Column("str", label_chars(spec.groups, 3)),
        "id2": Column("str", label_chars(spec.groups, 3)),
        "id3": Column("str", label_chars(per_group, 10)),
    }
    numbers = {name: Column(whole) for name in ("id4", "id5", "id6", "v1", "v2")}
    return _one(spec, {**keys, **numbers, "v3": Column("float64")})


def join_j1_made(spec: SyntheticSpec) -> dict[str, Made]:
    sizes = join_sizes(spec.rows)
    x = {f"id{i + 1}": Column("int64") for i in range(3)}
    x |= {f"id{i + 4}": Column("str", label_chars(size, 0)) for i, size in enumerate(sizes)}
    tables = {"x": Made(row_window(spec)[1], {**x, "v1": Column("float64")})}
    for keys, table in enumerate(JOIN_TABLES[1:], start=1):
        rows = sizes[keys - 1] if table in WHOLE_JOIN_TABLES else row_window(spec)[1]
        right = {f"id{i + 1}": Column("int64") for i in range(keys)}
        right |= {f"id{i + 4}": Column("str", label_chars(2 * sizes[i], 0)) for i in range(keys)}
        tables[table] = Made(rows, {**right, "v2": Column("float64")})
    return tables


def mixed_made(spec: SyntheticSpec) -> dict[str, Made]:
    numbers = ("normal", "lognormal", "uniform", "exponential", "with_gaps")
    columns = {name: Column("float64") for name in numbers}
    columns |= {"small_int": Column("int64"), "large_int": Column("int64")}
    columns |= {"mostly_zero": Column("float64"), "follows_normal": Column("float64")}
    columns |= {f"category_{levels}": Column("str", label_chars(levels, 0)) for levels in (10, 100, 1_000, 10_000)}
    columns |= {"category_gaps": Column("str", label_chars(20, 0))}
    columns |= {"category_skewed": Column("str", label_chars(1000, 0))}
    columns |= {"flag": Column("bool"), "timestamp": Column("datetime64[s]"), "timestamp_gaps": Column("datetime64[s]")}
    comment = Column("str", label_chars(max(spec.rows // 2, 1), 0))
    return _one(spec, {**columns, "comment": comment, "row_id": Column("int64")})


GENERATORS: dict[str, Generator] = {
    "classification": Generator(
        "Classification",
        "Gaussian classes; features x0.., label `target`.",
        classification,
        lambda s: _one(s, {**_features(s), "target": Column("int64")}),
    ),
    "regression": Generator(
        "Regression",
        "Linear target with noise; features x0.., `target`.",
        regression,
        lambda s: _one(s, {**_features(s), "target": Column("float64")}),
    ),
    "blobs": Generator(
        "Blobs",
        "Gaussian clusters for clustering and embeddings; `cluster` is the true label.",
        blobs,
        lambda s: _one(s, {**_features(s), "cluster": Column("int64")}),
    ),
    "groupby_g1": Generator(
        "db-benchmark groupby (G1)",
        "id1..id6 keys (K groups), v1..v3 values, NA share, sorted flag.",
        groupby_g1,
        groupby_g1_made,
    ),
    "mixed": Generator(
        "Mixed table for profiling",
        "20 columns: numbers (normal, skewed, integer, zero-heavy, with gaps), categories of 10 to 10,000 "
        "levels, times, text, a flag and an id.",
        mixed,
        mixed_made,
    ),
    "join_j1": Generator(
        "db-benchmark join (J1)",
        "x, small, medium and big tables with ~90% matching keys.",
        join_j1,
        join_j1_made,
    ),
}


def validate(spec: SyntheticSpec) -> SyntheticSpec:
    """The spec, or a DataError naming the first parameter out of range."""
    if spec.kind not in GENERATORS:
        raise DataError(f"Unknown generator {spec.kind!r}: choose one of {', '.join(GENERATORS)}.")
    checks = [
        ("rows", spec.rows, MIN_ROWS, MAX_ROWS),
        ("seed", spec.seed, 0, 2**32 - 1),
        ("features", spec.features, 1, 500),
        ("classes", spec.classes, 2, 1000),
        ("groups", spec.groups, 1, max(spec.rows, 1)),
        ("na_percent", spec.na_percent, 0, 100),
    ]
    for field, value, low, high in checks:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise DataError(f"{field} must be a whole number, got {value!r}.")
        if not low <= value <= high:
            raise DataError(f"{field} must be between {low:,} and {high:,}; got {value:,}.")
    return replace(spec, rows=int(spec.rows))


# A generator holds the columns it has made while pandas copies them into the frame's blocks: its tables twice
# over, and a half more for Arrow's string builders and pandas' masks of missing values (measured on every
# generator by tests/unit/test_host_peaks.py); a sorted G1 table is sorted once made: a third copy, and the sort
# keys' codes (8 bytes a row for each of its six keys).
GENERATION_FACTOR = 2.5
SORTED_FACTOR = 1.0
SORT_KEY_BYTES = 6 * 8


def made_bytes(spec: SyntheticSpec) -> int:
    """Bytes the generated tables take once made, from the columns the generator lists."""
    return sum(table.nbytes for table in GENERATORS[spec.kind].made(spec).values())


def row_bytes(spec: SyntheticSpec) -> int:
    """Bytes a row of the spec's main (first) table takes."""
    first = next(iter(GENERATORS[spec.kind].made(spec).values()))
    return max(first.nbytes // max(first.rows, 1), 1)


def estimated_bytes(spec: SyntheticSpec) -> int:
    """Host memory generating the tables takes at its peak: the tables the generator lists, times
    GENERATION_FACTOR, plus the random streams' working arrays for the longest table (and the sort, when sorted)."""
    made = made_bytes(spec)
    rows = max(table.rows for table in GENERATORS[spec.kind].made(spec).values())
    need = GENERATION_FACTOR * made + WORKING_BYTES_PER_ROW * rows + WORK_OVERHEAD
    if spec.sort and spec.kind == "groupby_g1" and spec.window_rows is None:
        need += SORTED_FACTOR * made + SORT_KEY_BYTES * rows
    return int(need)


def partitioned_bytes(spec: SyntheticSpec, partition_rows: int, at_once: int) -> tuple[int, str]:
    """Bytes a cluster's workers take generating the tables in partitions of `partition_rows` rows, and the words for
    what that counts: the tables themselves (kept, in memory or spilled to disk), `at_once` partitions at their peak
    while they are made, and for a sorted G1 table a second copy for the sort (its shuffle moves every row)."""
    made = made_bytes(spec)
    making = at_once * estimated_bytes(replace(spec, first_row=0, window_rows=min(partition_rows, spec.rows)))
    need = made + making
    words = (
        f"the tables, {gib(made)}, kept by the workers in memory or spilled to disk, and {gib(making)} while "
        f"{at_once:,} partition{'s are' if at_once != 1 else ' is'} made at once"
    )
    if spec.sort and spec.kind == "groupby_g1":
        sort = int(SORTED_FACTOR * made + SORT_KEY_BYTES * spec.rows)
        need += sort
        words += f", and {gib(sort)} for the sort"
    return need, words


def check_fits(spec: SyntheticSpec, engine: Maker, budget: MemoryBudget | None = None) -> None:
    """A DataError, before any row is made, when the tables would not fit: on an engine with memory of its own (a
    GPU, Dask workers) in the room it has for data; on the host in `budget` (the session's, where given), else in
    the memory available."""
    doing = f"Generating {spec.rows:,} rows of {GENERATORS[spec.kind].label}"
    need, counted = engine.generation_need(spec)
    if budget is not None and not engine.memory_of_its_own:
        budget.check(
            need,
            doing,
            "Generate fewer rows (or features), remove datasets you no longer need, or generate it on a Dask "
            "cluster (Data page, “Dask (larger than memory)”), whose workers hold it.",
        )
        return
    room, where = engine.room_for_data()
    if need > room:
        raise DataError(
            f"{spec.rows:,} rows of {GENERATORS[spec.kind].label} need about {need / 2**30:.1f} GiB"
            f"{f' ({counted})' if counted else ''}, "
            f"but only {room / 2**30:.1f} GiB is left ({where}). Use fewer rows or features, or remove datasets."
        )


def dataset_name(spec: SyntheticSpec) -> str:
    """db-benchmark style names, e.g. G1_1e7_1e2_5_0; others kind_rows_seed."""

    def sci(value: int) -> str:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"

    if spec.kind == "groupby_g1":
        return f"G1_{sci(spec.rows)}_{sci(spec.groups)}_{spec.na_percent}_{int(spec.sort)}"
    if spec.kind == "join_j1":
        return f"J1_{sci(spec.rows)}_NA_0_0"
    return f"{spec.kind}_{sci(spec.rows)}_seed{spec.seed}"


def table_count(spec: SyntheticSpec) -> int:
    """How many tables the generator makes: four for the join set (x, small, medium, big), else one."""
    return 4 if spec.kind == "join_j1" else 1


def generate(spec: SyntheticSpec, engine: Maker) -> dict[str, Any]:
    """The generated tables on `engine`, by name suffix ('' for a single table), checked first against the engine's
    room (`check_fits`; the Data page checks the session's budget before it asks)."""
    spec = validate(spec)
    check_fits(spec, engine)
    return GENERATORS[spec.kind].build(engine, spec)
