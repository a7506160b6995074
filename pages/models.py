"""Models: train the same algorithm with the same settings on scikit-learn and cuML, and compare the results."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from pipeline.catalog import Dataset
from pipeline.charts import MAX_CHART_ROWS, matrix_chart, phase_time_chart, scatter_chart
from pipeline.engines import CPU, GPU
from pipeline.features import FeatureSpec, check_spec
from pipeline.kinds import BOOLEAN, NUMERIC, TEXT, column_kind
from pipeline.model_card import card_json, engines_agreement, model_card, predictions_frame
from pipeline.models import CLASSIFICATION, EMBEDDING, REGRESSION, TASKS, Algorithm, Param, algorithms_for
from pipeline.training import ModelRun, train
from ui import format as fmt
from ui.charts import show_chart
from ui.state import active_dataset_or_stop, shown_errors

RESULT_KEY = "model_result"
NO_LABELS = "(none)"


def usable_columns(frame: Any) -> list[str]:
    return [c for c in frame.columns if column_kind(frame[c]) in (NUMERIC, BOOLEAN, TEXT)]


def setting_widget(algorithm: Algorithm, param: Param) -> Any:
    key = f"model_{algorithm.key}_{param.name}"
    if param.choices is not None:
        return st.selectbox(param.label, param.choices, key=key, help=param.help or None)
    if isinstance(param.default, int):
        return st.number_input(param.label, int(param.low), int(param.high), param.default, key=key)
    return st.number_input(param.label, float(param.low), float(param.high), param.default, key=key, format="%g")


def choose(dataset: Dataset) -> tuple[FeatureSpec, Algorithm, dict[str, Any]]:
    frame = dataset.primary.frame
    columns = usable_columns(frame)
    task = st.radio("Task", list(TASKS), format_func=TASKS.get, horizontal=True, key="model_task")
    supervised = task in (CLASSIFICATION, REGRESSION)
    left, right = st.columns(2)
    if supervised:
        choices = [c for c in columns if task == CLASSIFICATION or column_kind(frame[c]) == NUMERIC]
        default = choices.index("target") if "target" in choices else len(choices) - 1
        target = left.selectbox("Target", choices, index=max(default, 0), key=f"model_target_{task}")
    else:
        picked = left.selectbox(
            "Reference labels (optional, for adjusted Rand and colours)",
            [NO_LABELS, *columns],
            key=f"model_labels_{task}",
        )
        target = None if picked == NO_LABELS else picked
    algorithms = algorithms_for(task)
    algorithm = right.selectbox("Algorithm", algorithms, format_func=lambda a: a.label, key=f"model_algorithm_{task}")
    features = st.multiselect(
        "Features",
        [c for c in columns if c != target],
        default=[c for c in columns if c != target],
        key=f"model_features_{task}_{target}",
    )
    with st.expander("Settings", expanded=False):
        st.caption(algorithm.notes or "The same settings on both libraries.")
        cells = st.columns(3)
        settings = {}
        for i, param in enumerate(algorithm.params):
            with cells[i % 3]:
                settings[param.name] = setting_widget(algorithm, param)
        test_fraction = st.slider("Test share", 0.05, 0.5, 0.2, key="model_test_share") if supervised else 0.2
    spec = FeatureSpec(task, tuple(features), target, test_fraction=test_fraction, non_negative=algorithm.non_negative)
    return spec, algorithm, settings


def run_all(dataset: Dataset, spec: FeatureSpec, algorithm: Algorithm, settings: dict[str, Any]) -> dict[str, ModelRun]:
    runs = {}
    bar = st.progress(0.0, text="Training…")
    for i, (name, copy) in enumerate(dataset.copies.items()):
        bar.progress(i / len(dataset.copies), text=f"Training {algorithm.label} on {copy.engine.label}…")
        runs[name] = train(copy.engine, copy.frame, spec, algorithm, settings)
    bar.empty()
    return runs


def metrics_table(runs: dict[str, ModelRun]) -> pd.DataFrame:
    names = list(dict.fromkeys(m for run in runs.values() for m in run.metrics))
    table = pd.DataFrame({"metric": names})
    for run in runs.values():
        table[run.engine.label] = [run.metrics.get(m) for m in names]
    cpu, gpu = runs.get(CPU), runs.get(GPU)
    if cpu and gpu and cpu.ok and gpu.ok:
        table["GPU − CPU"] = [
            None if cpu.metrics.get(m) is None or gpu.metrics.get(m) is None else gpu.metrics[m] - cpu.metrics[m]
            for m in names
        ]
    return table


def timings(runs: dict[str, ModelRun]) -> pd.DataFrame:
    rows = [
        {"engine": run.engine.label, "phase": phase, "seconds": seconds}
        for run in runs.values()
        for phase, seconds in run.seconds.items()
    ]
    return pd.DataFrame(rows, columns=["engine", "phase", "seconds"])


def confusion(run: ModelRun) -> pd.DataFrame:
    labels = [str(c) for c in run.classes]
    counts = pd.crosstab(
        pd.Categorical(np.asarray(labels, dtype=object)[run.y_test.astype(int)], categories=labels),
        pd.Categorical(np.asarray(labels, dtype=object)[run.predictions.astype(int)], categories=labels),
        dropna=False,
    )
    counts.index, counts.columns = labels, labels
    return counts


def sample_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if len(frame) <= MAX_CHART_ROWS else frame.sample(MAX_CHART_ROWS, random_state=0)


def show_charts(runs: dict[str, ModelRun]) -> None:
    done = {name: run for name, run in runs.items() if run.ok}
    if not done:
        return
    task = next(iter(done.values())).algorithm.task
    columns = st.columns(len(done))
    for column, (name, run) in zip(columns, done.items(), strict=True):
        with column:
            st.markdown(f"**{run.engine.label}**")
            if task == CLASSIFICATION and len(run.classes) <= 30:
                matrix = confusion(run)
                show_chart(
                    matrix_chart(matrix, "rows", labels=True), matrix.reset_index(), f"confusion_{name}", f"cm_{name}"
                )
                st.caption("Rows: actual class; columns: predicted class.")
            elif task == REGRESSION:
                points = sample_rows(pd.DataFrame({"actual": run.y_test, "predicted": run.predictions}))
                show_chart(scatter_chart(points, "actual", "predicted"), points, f"predicted_{name}", f"pv_{name}")
            elif task == EMBEDDING:
                points = pd.DataFrame({"component 1": run.predictions[:, 0], "component 2": run.predictions[:, 1]})
                if run.y_test is not None:
                    points["label"] = np.asarray([str(c) for c in run.classes], dtype=object)[run.y_test.astype(int)]
                points = sample_rows(points)
                chart = scatter_chart(points, "component 1", "component 2", "label" if "label" in points else None)
                show_chart(chart, points, f"embedding_{name}", f"emb_{name}")
            if run.importances is not None and run.importances.shape[-1] == len(run.feature_names):
                weights = pd.DataFrame({"feature": run.feature_names, "weight": np.abs(run.importances).mean(axis=0)})
                st.caption("Feature importance (forests) or mean absolute coefficient (linear models), top 20")
                st.dataframe(weights.nlargest(20, "weight"), hide_index=True)


def show_result(dataset: Dataset, spec: FeatureSpec, runs: dict[str, ModelRun]) -> None:
    st.subheader("Result")
    for run in runs.values():
        if run.error:
            st.error(f"{run.engine.label}: {run.error}", icon=":material/error:")
    done = [run for run in runs.values() if run.ok]
    if not done:
        return
    metrics = st.columns(len(done) + 1)
    for column, run in zip(metrics, done, strict=False):
        column.metric(f"Fit on {run.engine.label}", fmt.seconds(run.fit_seconds))
    cpu, gpu = runs.get(CPU), runs.get(GPU)
    if cpu and gpu and cpu.ok and gpu.ok and gpu.fit_seconds:
        metrics[-1].metric("GPU speed-up (fit)", f"{cpu.fit_seconds / gpu.fit_seconds:,.2f}×")
    elif len(runs) == 1:
        st.caption("Only one engine holds this dataset; the System page says why the GPU engine is unavailable.")
    st.dataframe(metrics_table(runs), hide_index=True, width="stretch")
    agreement = engines_agreement(runs)
    if agreement:
        st.caption("Agreement between the engines: " + ", ".join(f"{k} {v:.3f}" for k, v in agreement.items()))
    times = timings(runs)
    show_chart(phase_time_chart(times), times, "model_times", "model_times")
    st.caption("Prepare: feature encoding and split on the engine; to host: copying outputs back for metrics.")
    show_charts(runs)
    card = model_card(dataset.name, dataset.shape[0], spec, runs)
    left, right = st.columns(2)
    left.download_button(
        "Model card (JSON)",
        card_json(card),
        "model_card.json",
        "application/json",
        key="model_card",
        icon=":material/description:",
    )
    right.download_button(
        "Predictions (CSV)",
        lambda: predictions_frame(runs).to_csv(index=False),
        "predictions.csv",
        "text/csv",
        key="model_predictions",
        on_click="ignore",
        icon=":material/table:",
    )


st.title("Models")
dataset = active_dataset_or_stop()
rows, width = dataset.shape
labels = " and ".join(copy.engine.label for copy in dataset.copies.values())
st.caption(f"**{dataset.name}** · {rows:,} rows × {width:,} columns · trains on {labels}.")
spec, algorithm, settings = choose(dataset)
if st.button(f"Train on {labels}", key="model_go", type="primary", icon=":material/play_arrow:"):
    with shown_errors("training the model"):
        check_spec(spec, dataset.primary.frame)
        algorithm.settings(settings)
        runs = run_all(dataset, spec, algorithm, settings)
        st.session_state[RESULT_KEY] = (dataset.id, spec, algorithm.key, settings, runs)
stored = st.session_state.get(RESULT_KEY)
if stored and stored[:4] == (dataset.id, spec, algorithm.key, settings):
    show_result(dataset, spec, stored[4])
