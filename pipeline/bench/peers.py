"""CPU peers, polars and DuckDB, answering the same groupby and join questions on the CPU engine's data.

Both are optional extras (requirements-peers.txt). Each peer receives the pandas tables once,
converts them to its own form outside the clock, and answers with a frame whose value columns
carry the same names as pandas' answer, so one checksum serves all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

POLARS = "polars"
DUCKDB = "duckdb"
PEER_LABELS = {POLARS: "polars (CPU)", DUCKDB: "DuckDB (CPU)"}
INSTALL_HINT = "pip install -r requirements-peers.txt"


def peer_missing_reason(name: str) -> str | None:
    """None when the peer can be imported, else why not and how to add it."""
    try:
        importlib.import_module(name)
    except ImportError as error:
        return f"{PEER_LABELS[name]} is not installed ({error}); add it with `{INSTALL_HINT}`."
    return None


class AnswerColumns:
    """An answer as a peer gives it, with just what `answer_of` reads: its shape and columns by name."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    @property
    def shape(self) -> tuple[int, int]:
        return self.table.num_rows, self.table.num_columns

    def __getitem__(self, column: str) -> pd.Series:
        return self.table.column(column).to_pandas()


@dataclass
class Peer:
    """A peer with its copy of the tables; `answers` maps suite/question to a function of those tables."""

    name: str
    tables: dict[str, Any]
    answers: dict[tuple[str, str], Callable[[dict[str, Any]], Any]]
    compute: Callable[[Any], pa.Table]

    @property
    def label(self) -> str:
        return PEER_LABELS[self.name]

    def run(self, suite: str, question: str) -> AnswerColumns:
        """The answer, fully computed as an Arrow table."""
        return AnswerColumns(self.compute(self.answers[(suite, question)](self.tables)))

    def knows(self, suite: str, question: str) -> bool:
        return (suite, question) in self.answers


def polars_peer(frames: dict[str, pd.DataFrame]) -> Peer:
    import polars as pl

    tables = {name: pl.from_pandas(frame) for name, frame in frames.items()}
    col = pl.col

    def q9(t: dict[str, Any]) -> Any:
        return (
            t["x"]
            .drop_nulls(["v1", "v2"])
            .group_by(["id2", "id4"])
            .agg((pl.corr(col("v1").cast(pl.Float64), col("v2").cast(pl.Float64)) ** 2).alias("r2"))
        )

    answers = {
        ("groupby", "q1"): lambda t: t["x"].group_by("id1").agg(col("v1").sum()),
        ("groupby", "q2"): lambda t: t["x"].group_by(["id1", "id2"]).agg(col("v1").sum()),
        ("groupby", "q3"): lambda t: t["x"].group_by("id3").agg(col("v1").sum(), col("v3").mean()),
        ("groupby", "q4"): lambda t: t["x"].group_by("id4").agg(col("v1").mean(), col("v2").mean(), col("v3").mean()),
        ("groupby", "q5"): lambda t: t["x"].group_by("id6").agg(col("v1").sum(), col("v2").sum(), col("v3").sum()),
        ("groupby", "q6"): lambda t: (
            t["x"].group_by(["id4", "id5"]).agg(col("v3").median().alias("median_v3"), col("v3").std().alias("sd_v3"))
        ),
        ("groupby", "q7"): lambda t: (
            t["x"].group_by("id3").agg((col("v1").max() - col("v2").min()).alias("range_v1_v2"))
        ),
        ("groupby", "q8"): lambda t: t["x"].drop_nulls("v3").group_by("id6").agg(col("v3").top_k(2)).explode("v3"),
        ("groupby", "q9"): q9,
        ("groupby", "q10"): lambda t: (
            t["x"].group_by([f"id{i}" for i in range(1, 7)]).agg(col("v3").sum(), pl.len().alias("count"))
        ),
        ("join", "q1"): lambda t: t["x"].join(t["small"], on="id1"),
        ("join", "q2"): lambda t: t["x"].join(t["medium"], on="id2"),
        ("join", "q3"): lambda t: t["x"].join(t["medium"], on="id2", how="left"),
        ("join", "q4"): lambda t: t["x"].join(t["medium"], on="id5"),
        ("join", "q5"): lambda t: t["x"].join(t["big"], on="id3"),
    }
    return Peer(POLARS, tables, answers, lambda result: result.to_arrow())


DUCKDB_SQL = {
    ("groupby", "q1"): "SELECT id1, sum(v1) AS v1 FROM x GROUP BY id1",
    ("groupby", "q2"): "SELECT id1, id2, sum(v1) AS v1 FROM x GROUP BY id1, id2",
    ("groupby", "q3"): "SELECT id3, sum(v1) AS v1, avg(v3) AS v3 FROM x GROUP BY id3",
    ("groupby", "q4"): "SELECT id4, avg(v1) AS v1, avg(v2) AS v2, avg(v3) AS v3 FROM x GROUP BY id4",
    ("groupby", "q5"): "SELECT id6, sum(v1) AS v1, sum(v2) AS v2, sum(v3) AS v3 FROM x GROUP BY id6",
    ("groupby", "q6"): "SELECT id4, id5, median(v3) AS median_v3, stddev(v3) AS sd_v3 FROM x GROUP BY id4, id5",
    ("groupby", "q7"): "SELECT id3, max(v1) - min(v2) AS range_v1_v2 FROM x GROUP BY id3",
    ("groupby", "q8"): "SELECT id6, v3 FROM (SELECT id6, v3, row_number() OVER (PARTITION BY id6 ORDER BY v3 DESC)"
    " AS rank FROM x WHERE v3 IS NOT NULL) WHERE rank <= 2",
    ("groupby", "q9"): "SELECT id2, id4, pow(corr(v1, v2), 2) AS r2 FROM x WHERE v1 IS NOT NULL AND v2 IS NOT NULL"
    " GROUP BY id2, id4",
    ("groupby", "q10"): "SELECT id1, id2, id3, id4, id5, id6, sum(v3) AS v3, count(*) AS count FROM x"
    " GROUP BY id1, id2, id3, id4, id5, id6",
    ("join", "q1"): "SELECT x.*, small.id4 AS small_id4, small.v2 FROM x JOIN small USING (id1)",
    ("join", "q2"): "SELECT x.*, medium.id1 AS medium_id1, medium.v2 FROM x JOIN medium USING (id2)",
    ("join", "q3"): "SELECT x.*, medium.id1 AS medium_id1, medium.v2 FROM x LEFT JOIN medium USING (id2)",
    ("join", "q4"): "SELECT x.*, medium.id1 AS medium_id1, medium.v2 FROM x JOIN medium USING (id5)",
    ("join", "q5"): "SELECT x.*, big.id1 AS big_id1, big.v2 FROM x JOIN big USING (id3)",
}


def duckdb_peer(frames: dict[str, pd.DataFrame]) -> Peer:
    import duckdb

    connection = duckdb.connect()
    for name, frame in frames.items():
        connection.register(name, pa.Table.from_pandas(frame, preserve_index=False))
    answers = {key: (lambda _tables, sql=sql: connection.sql(sql)) for key, sql in DUCKDB_SQL.items()}
    return Peer(DUCKDB, {}, answers, lambda relation: relation.to_arrow_table())


PEER_BUILDERS: dict[str, Callable[[dict[str, pd.DataFrame]], Peer]] = {POLARS: polars_peer, DUCKDB: duckdb_peer}
