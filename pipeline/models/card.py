"""What a model run is worth keeping: a model card (JSON) and the predictions of every engine (CSV)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from pipeline.models.features import FeatureSpec
from pipeline.models.metrics import agreement
from pipeline.models.training import ModelRun
from pipeline.profile import plain
from pipeline.system import environment

CARD_SCHEMA = "gpu-pipeline-lab/model-card"


def engines_agreement(runs: dict[str, ModelRun]) -> dict[str, Any]:
    """How alike the first two engines' outputs are (empty with fewer than two successful runs)."""
    done = [run for run in runs.values() if run.ok and run.predictions is not None]
    if len(done) < 2 or done[0].predictions.shape != done[1].predictions.shape:
        return {}
    return agreement(done[0].algorithm.task, done[0].predictions, done[1].predictions)


def model_card(dataset: str, rows: int, spec: FeatureSpec, runs: dict[str, ModelRun]) -> dict[str, Any]:
    """Data, settings, metrics, timings per engine, engine agreement and the environment, JSON-ready."""
    first = next(iter(runs.values()))
    algorithm = first.algorithm
    card = {
        "schema": CARD_SCHEMA,
        "version": 1,
        "data": {"dataset": dataset, "rows": rows, **asdict(spec), "features_after_encoding": first.feature_names},
        "algorithm": {
            "key": algorithm.key,
            "label": algorithm.label,
            "task": algorithm.task,
            "scikit-learn": algorithm.sklearn,
            "cuML": algorithm.cuml,
            "settings": first.settings,
            "fixed": algorithm.fixed,
            "notes": algorithm.notes,
        },
        "engines": {
            name: {
                "label": run.engine.label,
                "seconds": run.seconds,
                "metrics": run.metrics,
                "error": run.error,
                "classes": run.classes,
            }
            for name, run in runs.items()
        },
        "agreement": engines_agreement(runs),
        "environment": environment(),
    }
    return jsonable(card)


def jsonable(value: Any) -> Any:
    """Nested dicts and lists with every scalar made JSON-ready (numpy numbers, NaN as None)."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(item) for item in value]
    return plain(value)


def card_json(card: dict[str, Any]) -> str:
    return json.dumps(card, indent=2, allow_nan=False) + "\n"


def predictions_frame(runs: dict[str, ModelRun]) -> pd.DataFrame:
    """One row per scored row: the actual value (or reference label) and each engine's output, labels decoded."""
    columns: dict[str, Any] = {}
    for name, run in runs.items():
        if not run.ok or run.predictions is None:
            continue
        decode = (lambda codes, run=run: np.asarray(run.classes, dtype=object)[codes]) if run.classes else None
        if run.y_test is not None and "actual" not in columns:
            columns["actual"] = decode(run.y_test.astype(int)) if decode else run.y_test
        output = run.predictions
        if output.ndim == 2:
            for i in range(output.shape[1]):
                columns[f"{name} component {i + 1}"] = output[:, i]
        elif decode and run.algorithm.task == "classification":
            columns[f"{name} prediction"] = decode(output.astype(int))
        else:
            columns[f"{name} {'cluster' if run.algorithm.task == 'clustering' else 'prediction'}"] = output
    return pd.DataFrame(columns)
