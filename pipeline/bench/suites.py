"""The benchmark suites: which generated tables each one needs and which questions it asks of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipeline.bench.model_questions import MODEL_QUESTIONS
from pipeline.bench.questions import GROUPBY_QUESTIONS, JOIN_QUESTIONS, Answer, Question, Workspace, sums_of
from pipeline.engines import CPU, GPU, Engine, get_engine
from pipeline.profile import PRESETS as PROFILE_PRESETS
from pipeline.profile import profile_frame
from pipeline.steps.presets import preset_recipe
from pipeline.steps.runner import check_recipe
from pipeline.steps.spec import Context, Step, apply_step
from pipeline.tables.column_kinds import NUMERIC, column_kind
from pipeline.tables.synthetic import SyntheticSpec

Questions = Callable[[dict[str, Any], Path], list[Question]]
# Feature counts of the model tables: cuML's benchmark shapes (classification/regression 50, blobs 64).
GENERATOR_SHAPES = {
    "classification": {"features": 50},
    "regression": {"features": 50},
    "blobs": {"features": 64, "classes": 8},
}


@dataclass(frozen=True)
class Suite:
    """A group of questions on generated tables; `peers` says whether polars/DuckDB answer them too.

    `generator` names one generator kind (its table is called x, or x/small/medium/big for
    J1), or several by table name. `questions` receives the CPU engine's tables (to write
    files or check a recipe once) and a scratch folder.
    """

    name: str
    description: str
    generator: str | dict[str, str]
    questions: Questions
    peers: bool = False

    def specs(self, rows: int, seed: int, groups: int) -> dict[str, SyntheticSpec]:
        """What to generate at `rows`, by table-name prefix ('' for a single-kind suite)."""
        kinds = {"": self.generator} if isinstance(self.generator, str) else self.generator
        return {
            prefix: SyntheticSpec(kind, rows, seed=seed, groups=min(groups, rows), **GENERATOR_SHAPES.get(kind, {}))
            for prefix, kind in kinds.items()
        }


def _fixed(questions: list[Question]) -> Questions:
    return lambda _tables, _folder: questions


IO_FORMATS = {"csv": "CSV", "parquet": "Parquet"}


def _writer(fmt: str) -> Callable[[Workspace], Any]:
    """Write the table with the engine's own `to_csv`/`to_parquet`; the answer is the table written."""

    def run(w: Workspace) -> Any:
        getattr(w["x"], f"to_{fmt}")(str(w.folder / f"written-{w.engine.name}.{fmt}"), index=False)
        return w["x"]

    return run


def _reader(fmt: str, path: Path) -> Callable[[Workspace], Any]:
    return lambda w: getattr(w.engine.frames, f"read_{fmt}")(str(path))


def io_questions(cpu_tables: dict[str, Any], folder: Path) -> list[Question]:
    """Write and read CSV and Parquet with each engine's own functions, and the host-to-device copy.

    Reads all read the same files, written once by pandas before any clock starts.
    """
    frame: pd.DataFrame = cpu_tables["x"]
    values = sums_of("v1", "v2", "v3")
    questions = []
    for fmt, name in IO_FORMATS.items():
        getattr(frame, f"to_{fmt}")(folder / f"table.{fmt}", index=False)
        questions.append(
            Question(
                "io", f"{fmt} write", f"write the table as {name}", _writer(fmt), lambda t, _engine: Answer(len(t), ())
            )
        )
        questions.append(
            Question("io", f"{fmt} read", f"read the {name} file", _reader(fmt, folder / f"table.{fmt}"), values)
        )
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    copy = Question(
        "io",
        "to device",
        "copy the table from host memory to the GPU",
        lambda w: w.engine.from_arrow(arrow),
        values,
        engines=frozenset({GPU}),
    )
    return [*questions, copy]


def numeric_sums(frame: Any, engine: Engine) -> Answer:
    """Rows and the sum of every numeric column: a checksum for tables whose columns a recipe decides."""
    return sums_of(*[c for c in frame.columns if column_kind(frame[c]) == NUMERIC])(frame, engine)


def _run_steps(steps: list[Step]) -> Callable[[Workspace], Any]:
    def run(w: Workspace) -> Any:
        context = Context(w.engine)
        frame = w["x"]
        for step in steps:  # a lazy engine holds each step's result, so the next step's statistics start there
            frame = w.engine.persist(apply_step(step, frame, context))
        return frame

    return run


def steps_questions(preset: str) -> Questions:
    """The preset's recipe, checked once against the CPU table, run as one question."""

    def questions(cpu_tables: dict[str, Any], _folder: Path) -> list[Question]:
        frame = cpu_tables["x"]
        steps = check_recipe(preset_recipe(preset, frame), frame, get_engine(CPU))
        label = f"pipeline preset '{preset}'"
        return [Question("steps", preset, label, _run_steps(steps), numeric_sums)]

    return questions


def profile_answer(profile: Any, _engine: Engine) -> Answer:
    """Rows, and the sums of missing counts, distinct counts and numeric means over all columns."""
    means = [c.stats["mean"] for c in profile.columns if c.kind == NUMERIC and c.stats.get("mean") is not None]
    return Answer(
        profile.table.rows,
        (
            float(sum(c.missing for c in profile.columns)),
            float(sum(c.distinct for c in profile.columns)),
            float(sum(means)),
        ),
    )


PROFILE_QUESTIONS = [
    Question(
        "profile",
        preset,
        f"profile every column ({preset} preset)",
        lambda w, preset=preset: profile_frame(w.engine, w["x"], PROFILE_PRESETS[preset]),
        profile_answer,
    )
    for preset in ("minimal", "full")
]

SUITES: dict[str, Suite] = {
    "io": Suite(
        "io", "CSV and Parquet write and read of the G1 table; host-to-device copy", "groupby_g1", io_questions
    ),
    "groupby": Suite(
        "groupby", "db-benchmark groupby q1–q10 on G1 (K=100)", "groupby_g1", _fixed(GROUPBY_QUESTIONS), peers=True
    ),
    "join": Suite("join", "db-benchmark join q1–q5 on J1", "join_j1", _fixed(JOIN_QUESTIONS), peers=True),
    "steps": Suite(
        "steps",
        "the Pipeline page's presets on the mixed 20-column table",
        "mixed",
        lambda tables, folder: [
            *steps_questions("clean_and_encode")(tables, folder),
            *steps_questions("time_and_text")(tables, folder),
        ],
    ),
    "profile": Suite("profile", "the Explore page's profile of the mixed table", "mixed", _fixed(PROFILE_QUESTIONS)),
    "models": Suite(
        "models",
        "fit every Models-page algorithm (k-NN also predicts) on generated tables: classification and "
        "regression 50 features, blobs 64; SVC, HDBSCAN, t-SNE and UMAP on the first 50,000 rows",
        {"classification": "classification", "regression": "regression", "blobs": "blobs"},
        _fixed(MODEL_QUESTIONS),
    ),
}
NOT_YET: dict[str, str] = {}
