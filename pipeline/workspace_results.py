"""The pages' last results on a dataset as plain data, for a workspace: a pipeline run's times and checks (not its
rows), a training (times, metrics, and its outputs as numeric arrays), a leaderboard's rows, and the features chosen
per target on the Models page.

`to_plain` gives JSON-ready values, handing each array to a sink that keeps it (as Parquet) and names it by number;
`from_plain` reads them back from anyone: every value is checked for its type and every array for its shape, and a
run on an engine the dataset is not restored on (a GPU this server lacks, a Dask cluster) is left out, named.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.models.algorithms import CLASSIFICATION, TASKS
from pipeline.models.algorithms import algorithm as algorithm_named
from pipeline.models.card import jsonable
from pipeline.models.features import MAX_CLASSES, FeatureSpec
from pipeline.models.training import ModelRun
from pipeline.parity import Parity
from pipeline.steps.runner import PipelineRun, SideBySide, StepRun
from pipeline.steps.spec import Recipe

ARRAYS = ("predictions", "scores", "y_test", "importances", "x_view")  # a ModelRun's outputs, kept as arrays
MAX_ROWS = 1_000  # leaderboard rows, chosen feature lists: far more than the pages make
MAX_TEXT = 10_000  # characters of one kept text (a column name, an error message)

ArraySink = Callable[[np.ndarray], int]  # keeps an array, returns its number
ArraySource = Callable[[int], np.ndarray]  # the array kept under a number


@dataclass
class PipelineOutcome:
    """The Pipeline page's last run on a dataset: the recipe it ran (as JSON) and its result."""

    recipe: str
    result: SideBySide


@dataclass
class Training:
    """The Models page's last training on a dataset: what was chosen, and each engine's run."""

    spec: FeatureSpec
    algorithm: str
    settings: dict[str, Any]
    runs: dict[str, ModelRun]


@dataclass
class Comparison:
    """The Models page's last leaderboard on a dataset (every algorithm of a task, default settings)."""

    spec: FeatureSpec
    rows: list[dict[str, Any]]


@dataclass
class DatasetResults:
    """What the pages last made from one dataset, beside its recipe."""

    pipeline: PipelineOutcome | None = None
    training: Training | None = None
    comparison: Comparison | None = None
    features: dict[str | None, list[str]] = field(default_factory=dict)  # Models' features, by target

    def __bool__(self) -> bool:
        return any((self.pipeline, self.training, self.comparison, self.features))


def to_plain(results: DatasetResults, keep: ArraySink) -> dict[str, Any]:
    """JSON-ready values; the arrays of a training go to `keep`, named by the number it returns."""
    plain: dict[str, Any] = {"features": [[target, list(names)] for target, names in results.features.items()]}
    if results.pipeline is not None:
        plain["pipeline"] = _pipeline_plain(results.pipeline)
    if results.training is not None:
        plain["training"] = _training_plain(results.training, keep)
    if results.comparison is not None:
        plain["comparison"] = {"spec": _spec_plain(results.comparison.spec), "rows": jsonable(results.comparison.rows)}
    return plain


def _pipeline_plain(outcome: PipelineOutcome) -> dict[str, Any]:
    return {
        "recipe": json.loads(outcome.recipe),
        "runs": {
            name: [
                {**jsonable({k: v for k, v in vars(s).items() if k != "step"}), "step": s.step.to_dict()}
                for s in run.steps
            ]
            for name, run in outcome.result.runs.items()
        },
        "parity": [
            None if p is None else {"mismatches": p.mismatches, "notes": p.notes} for p in outcome.result.parity
        ],
    }


def _spec_plain(spec: FeatureSpec) -> dict[str, Any]:
    return jsonable(asdict(spec))


def _training_plain(training: Training, keep: ArraySink) -> dict[str, Any]:
    runs = {}
    for name, run in training.runs.items():
        arrays = {key: keep(np.asarray(getattr(run, key))) for key in ARRAYS if getattr(run, key) is not None}
        runs[name] = {
            **jsonable(
                {
                    "settings": run.settings,
                    "seconds": run.seconds,
                    "feature_names": run.feature_names,
                    "classes": run.classes,
                    "metrics": run.metrics,
                    "baseline": run.baseline,
                    "dropped_rows": run.dropped_rows,
                    "error": run.error,
                }
            ),
            "arrays": arrays,
        }
    return {
        "spec": _spec_plain(training.spec),
        "algorithm": training.algorithm,
        "settings": jsonable(training.settings),
        "runs": runs,
    }


def from_plain(plain: Any, arrays: ArraySource, engines: list[Engine]) -> tuple[DatasetResults, list[str]]:
    """Results read back and checked, with what was left out (runs on engines this server lacks); a DataError
    names the first value that is not what this app writes."""
    _expect(isinstance(plain, dict), "a dataset's results should be an object")
    by_name = {engine.name: engine for engine in engines}
    left_out: list[str] = []
    results = DatasetResults(features=_features(plain.get("features") or []))
    if plain.get("pipeline") is not None:
        results.pipeline = _pipeline(plain["pipeline"], by_name, left_out)
    if plain.get("training") is not None:
        results.training = _training(plain["training"], arrays, by_name, left_out)
    if plain.get("comparison") is not None:
        comparison = plain["comparison"]
        _expect(isinstance(comparison, dict), "a leaderboard should be an object")
        rows = _list(comparison.get("rows"), "the leaderboard's rows")
        results.comparison = Comparison(
            _spec(comparison.get("spec")), [_scalars(row, "a leaderboard row") for row in rows]
        )
    return results, left_out


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise DataError(f"workspace.json: {what}.")


def _list(value: Any, what: str, most: int = MAX_ROWS) -> list[Any]:
    _expect(isinstance(value, list) and len(value) <= most, f"{what} should be a list of at most {most:,}")
    return value


def _text(value: Any, what: str) -> str:
    _expect(isinstance(value, str) and len(value) <= MAX_TEXT, f"{what} should be a short text")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _number(value: Any, what: str, optional: bool = True) -> float | int | None:
    if value is None and optional:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    _expect(ok, f"{what} should be a number")
    return value


def _whole(value: Any, what: str, optional: bool = True) -> int | None:
    number = _number(value, what, optional)
    _expect(number is None or (isinstance(number, int) and number >= 0), f"{what} should be a whole number")
    return number


def _scalar(value: Any, what: str) -> Any:
    if isinstance(value, str):
        return _text(value, what)
    _expect(value is None or isinstance(value, (bool, int, float)), f"{what} should be a number or a text")
    return value


def _scalars(value: Any, what: str) -> dict[str, Any]:
    _expect(isinstance(value, dict) and len(value) <= MAX_ROWS, f"{what} should be an object")
    return {_text(key, what): _scalar(item, what) for key, item in value.items()}


def _texts(value: Any, what: str) -> list[str]:
    return [_text(item, what) for item in _list(value, what, most=100_000)]


def _features(value: Any) -> dict[str | None, list[str]]:
    chosen: dict[str | None, list[str]] = {}
    for pair in _list(value, "the chosen features"):
        _expect(isinstance(pair, list) and len(pair) == 2, "the chosen features should be [target, features] pairs")
        chosen[_optional_text(pair[0], "a target")] = _texts(pair[1], "the chosen features")
    return chosen


def _spec(value: Any) -> FeatureSpec:
    names = {f.name for f in fields(FeatureSpec)}
    _expect(
        isinstance(value, dict) and set(value) == names, "a model's choices should name " + ", ".join(sorted(names))
    )
    _expect(value["task"] in TASKS, f"the task should be one of {', '.join(TASKS)}")
    share = _number(value["test_fraction"], "the test share", optional=False)
    _expect(0 < share < 1, "the test share should be between 0 and 1")
    _expect(isinstance(value["non_negative"], bool), "non_negative should be true or false")
    return FeatureSpec(
        task=value["task"],
        features=tuple(_texts(value["features"], "the features")),
        target=_optional_text(value["target"], "the target"),
        test_fraction=float(share),
        max_levels=_whole(value["max_levels"], "max_levels", optional=False),
        non_negative=value["non_negative"],
        seed=_whole(value["seed"], "the seed", optional=False),
    )


def _engine(name: Any, by_name: dict[str, Engine], left_out: list[str], what: str) -> Engine | None:
    engine = by_name.get(_text(name, "an engine's name"))
    if engine is None:
        left_out.append(f"{what} on {name} is left out: that engine does not hold the dataset now")
    return engine


def _pipeline(value: Any, by_name: dict[str, Engine], left_out: list[str]) -> PipelineOutcome:
    _expect(isinstance(value, dict), "a pipeline run should be an object")
    recipe = Recipe.from_json(json.dumps(value.get("recipe")))
    runs: dict[str, PipelineRun] = {}
    _expect(isinstance(value.get("runs"), dict), "a pipeline run's runs should be an object by engine")
    for name, steps in value["runs"].items():
        engine = _engine(name, by_name, left_out, "The last pipeline run")
        if engine is not None:
            runs[name] = PipelineRun(engine, [_step_run(step) for step in _list(steps, "a run's steps")])
    parity = [_parity(p) for p in _list(value.get("parity"), "the checks after each step")]
    return PipelineOutcome(recipe.to_json(), SideBySide(runs, parity))


def _parity(value: Any) -> Parity | None:
    if value is None:
        return None
    _expect(isinstance(value, dict), "a check after a step should be an object")
    return Parity(_texts(value.get("mismatches"), "a mismatch"), _texts(value.get("notes"), "a note"))


def _step_run(value: Any) -> StepRun:
    _expect(isinstance(value, dict), "a step's run should be an object")
    step = Recipe.from_json(json.dumps({"version": 1, "steps": [value.get("step")]})).steps[0]
    return StepRun(
        number=_whole(value.get("number"), "a step's number", optional=False),
        step=step,
        seconds=_number(value.get("seconds"), "a step's seconds"),
        rows=_whole(value.get("rows"), "a step's rows"),
        columns=_whole(value.get("columns"), "a step's columns"),
        error=_optional_text(value.get("error"), "a step's error"),
        memory_bytes=_whole(value.get("memory_bytes"), "a step's memory"),
    )


def _training(value: Any, arrays: ArraySource, by_name: dict[str, Engine], left_out: list[str]) -> Training:
    _expect(isinstance(value, dict) and isinstance(value.get("runs"), dict), "a training should hold its runs")
    spec = _spec(value.get("spec"))
    algorithm = algorithm_named(_text(value.get("algorithm"), "the algorithm"))
    _expect(algorithm.task == spec.task, f"{algorithm.label} is not a {TASKS[spec.task].lower()} algorithm")
    settings = _scalars(value.get("settings") or {}, "the settings")
    algorithm.settings(settings)  # a DataError names a setting the algorithm does not have, or a bad value
    runs = {}
    for name, plain in value["runs"].items():
        engine = _engine(name, by_name, left_out, f"The last training of {algorithm.label}")
        if engine is not None:
            runs[name] = _model_run(plain, engine, algorithm, arrays)
    return Training(spec, algorithm.key, settings, runs)


def _model_run(value: Any, engine: Engine, algorithm: Any, arrays: ArraySource) -> ModelRun:
    _expect(isinstance(value, dict), "a training run should be an object")
    seconds = {
        _text(k, "a phase"): _number(v, "a phase's seconds", optional=False)
        for k, v in _scalars(value.get("seconds") or {}, "the seconds").items()
    }
    classes = value.get("classes")
    if classes is not None:
        classes = [_scalar(c, "a class") for c in _list(classes, "the classes", most=MAX_CLASSES)]
    run = ModelRun(
        engine,
        algorithm,
        algorithm.settings(_scalars(value.get("settings") or {}, "the settings")),
        seconds=seconds,
        feature_names=_texts(value.get("feature_names") or [], "the feature names"),
        classes=classes,
        metrics=_scalars(value.get("metrics") or {}, "the metrics"),
        dropped_rows=_whole(value.get("dropped_rows") or 0, "the rows left out", optional=False),
        baseline=_scalars(value.get("baseline") or {}, "the baseline"),
        error=_optional_text(value.get("error"), "the error"),
    )
    kept = value.get("arrays") or {}
    _expect(isinstance(kept, dict) and set(kept) <= set(ARRAYS), f"a training's arrays are {', '.join(ARRAYS)}")
    for key, number in kept.items():
        setattr(run, key, arrays(_whole(number, "an array's number", optional=False)))
    _check_shapes(run)
    return run


def _check_shapes(run: ModelRun) -> None:
    """The arrays of a run agree with each other (one row per scored row) and class codes name its classes."""
    rows = {len(a) for a in (run.predictions, run.scores, run.y_test, run.x_view) if a is not None}
    _expect(len(rows) <= 1, "a training's outputs should have one row per scored row")
    if run.importances is not None:
        _expect(run.importances.ndim == 2, "importances should be a table")
    if run.algorithm.task == CLASSIFICATION or (run.classes is not None and run.y_test is not None):
        count = len(run.classes or [])
        for codes in (run.y_test, run.predictions if run.algorithm.task == CLASSIFICATION else None):
            if codes is not None:
                ok = codes.ndim == 1 and (len(codes) == 0 or (codes.min() >= 0 and codes.max() < count))
                _expect(ok, "a class code names no class")
