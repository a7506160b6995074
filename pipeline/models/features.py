"""Features and target for a model, prepared the same way on each engine with the Pipeline's own steps.

Missing numbers are filled with the column's median and text with its most frequent value;
text and flags become one-hot columns (up to `max_levels` levels) or label codes; numbers
are standardised, except for algorithms that need non-negative input (naive Bayes): those
keep non-negative columns as they are and min-max scale the others. The same
seeded train/test split (`train_test_split` step) marks the same rows on both engines.
Fill and scaling statistics come from all rows, as in the Pipeline page, not from the
training rows alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pipeline.steps.library  # noqa: F401  (registers every step kind)
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.models.algorithms import CLASSIFICATION, REGRESSION
from pipeline.steps.spec import Context, Step, apply_step
from pipeline.tables.column_kinds import BOOLEAN, NUMERIC, TEXT, column_kind

SPLIT = "__split__"
MAX_CLASSES = 1000
MIN_TRAIN_ROWS = 2


@dataclass(frozen=True)
class FeatureSpec:
    """What to learn from: the feature columns, the target and the split.

    For clustering and embeddings the target is optional: reference labels, used only to
    score the clusters (adjusted Rand) and never shown to the algorithm.
    """

    task: str
    features: tuple[str, ...]
    target: str | None = None
    test_fraction: float = 0.2
    max_levels: int = 20
    non_negative: bool = False
    seed: int = 0

    @property
    def supervised(self) -> bool:
        return self.task in (CLASSIFICATION, REGRESSION)


@dataclass
class Prepared:
    """Float32 feature matrices and targets on one engine; `classes` are the labels behind codes 0..k-1."""

    engine: Engine
    x_train: Any
    x_test: Any
    y_train: Any | None
    y_test: Any | None
    feature_names: list[str]
    classes: list[Any] | None
    dropped_rows: int


def check_spec(spec: FeatureSpec, frame: Any) -> None:
    """A DataError naming the first problem with the columns chosen, before anything is computed."""
    columns = list(frame.columns)
    if not spec.features:
        raise DataError("Choose at least one feature column.")
    missing = [c for c in (*spec.features, *([spec.target] if spec.target else [])) if c not in columns]
    if missing:
        raise DataError(f"Column {missing[0]!r} is not in this dataset; choose from {', '.join(map(str, columns))}.")
    if spec.supervised and not spec.target:
        raise DataError(f"{spec.task.capitalize()} needs a target column.")
    if spec.target in spec.features:
        raise DataError(f"The target {spec.target!r} cannot also be a feature; remove it from the features.")
    unusable = [c for c in spec.features if column_kind(frame[c]) not in (NUMERIC, BOOLEAN, TEXT)]
    if unusable:
        raise DataError(
            f"Feature {unusable[0]!r} is a date or other non-tabular value; turn it into numbers first "
            "(Pipeline: date parts), or leave it out."
        )
    if spec.task == REGRESSION and column_kind(frame[spec.target]) != NUMERIC:
        raise DataError(f"Regression needs a numeric target; {spec.target!r} is not. Choose classification.")
    if not 0.05 <= spec.test_fraction <= 0.5:
        raise DataError(f"The test share must be between 5% and 50%; got {spec.test_fraction:.0%}.")


def feature_steps(spec: FeatureSpec, frame: Any, engine: Engine) -> list[Step]:
    """The Pipeline steps that turn the chosen columns into numbers, decided from the table's columns."""
    kinds = {c: column_kind(frame[c]) for c in spec.features}
    numeric = [c for c, kind in kinds.items() if kind == NUMERIC]
    other = [c for c, kind in kinds.items() if kind != NUMERIC]
    steps = [Step("select", {"columns": [*spec.features, *([spec.target] if spec.target else [])]})]
    if spec.target:
        steps.append(Step("drop_missing", {"columns": [spec.target], "how": "any"}))
    if numeric:
        steps.append(Step("fill_missing", {"columns": numeric, "method": "median"}))
        if not spec.non_negative:
            steps.append(Step("scale", {"columns": numeric, "method": "standard"}))
        elif negative := [c for c in numeric if float(engine.compute(frame[c].min())) < 0]:
            steps.append(Step("scale", {"columns": negative, "method": "minmax"}))
    if other:
        steps.append(Step("fill_missing", {"columns": other, "method": "mode"}))
    for column in other:
        few = int(engine.compute(frame[column].nunique())) <= spec.max_levels
        steps.append(
            Step("one_hot", {"columns": [column], "max_levels": spec.max_levels})
            if few or kinds[column] == BOOLEAN
            else Step("label_encode", {"column": column})
        )
    if spec.supervised:
        steps.append(
            Step("train_test_split", {"test_fraction": spec.test_fraction, "seed": spec.seed, "column": SPLIT})
        )
    return steps


def target_codes(engine: Engine, series: Any, classes: list[Any] | None = None) -> tuple[Any, list[Any]]:
    """Class codes 0..k-1 in sorted order of the labels (the series' own, or `classes` of the whole column), and
    the labels; a DataError for 1 or too many classes."""
    classes = classes or sorted(engine.to_pandas(series.drop_duplicates()).tolist())
    if len(classes) < 2:
        raise DataError(f"The target {series.name!r} has one class ({classes[0]!r}); a classifier needs two or more.")
    if len(classes) > MAX_CLASSES:
        raise DataError(
            f"The target {series.name!r} has {len(classes):,} classes (at most {MAX_CLASSES:,}); "
            "for a continuous target choose regression."
        )
    codes = series.astype(engine.local.frames.CategoricalDtype(classes)).cat.codes.astype("int32")
    return engine.int_values(codes).astype("int32"), classes


def prepare(engine: Engine, frame: Any, spec: FeatureSpec) -> Prepared:
    """Feature matrices (float32) and targets on `engine`, split as the spec says."""
    check_spec(spec, frame)
    context = Context(engine)
    table = frame
    for step in feature_steps(spec, frame, engine):  # a lazy engine holds each result (see the runner)
        table = engine.persist(apply_step(step, table, context))
    dropped = engine.row_count(frame) - engine.row_count(table)
    names = [c for c in table.columns if c not in (spec.target, SPLIT)]
    if not spec.supervised:
        matrix = engine.float_values(table[names], "float32")
        labels, classes = target_codes(engine, table[spec.target]) if spec.target else (None, None)
        return Prepared(engine, matrix, matrix[:0], labels, None, names, classes, dropped)
    # rows are split as frames, before they become arrays: a Dask array cut by a lazy mask loses its lengths
    test_rows = table[SPLIT] == "test"
    train, test = table[~test_rows], table[test_rows]
    if engine.row_count(train) < MIN_TRAIN_ROWS or engine.row_count(test) < 1:
        raise DataError(
            f"After leaving out rows without a target, {engine.row_count(table):,} rows remain: too few to split "
            "into training and test rows. Use a larger dataset or a larger test share."
        )
    if spec.task == CLASSIFICATION:
        classes = sorted(engine.to_pandas(table[spec.target].drop_duplicates()).tolist())
        y_train, _ = target_codes(engine, train[spec.target], classes)
        y_test, _ = target_codes(engine, test[spec.target], classes)
    else:
        classes = None
        y_train, y_test = (engine.float_values(part[spec.target], "float32") for part in (train, test))
    x_train, x_test = (engine.float_values(part[names], "float32") for part in (train, test))
    return Prepared(engine, x_train, x_test, y_train, y_test, names, classes, dropped)
