"""Models: train the same algorithm with the same settings on scikit-learn and cuML, and compare the results."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from pipeline.countdown import Part, Rates
from pipeline.data.catalog import Dataset
from pipeline.models.algorithms import (
    CLASSIFICATION,
    CLUSTERING,
    EMBEDDING,
    REGRESSION,
    TASKS,
    Algorithm,
    Param,
    algorithms_for,
)
from pipeline.models.card import card_json, engines_agreement, model_card, predictions_frame
from pipeline.models.defaults import default_target
from pipeline.models.features import FeatureSpec, check_spec
from pipeline.models.metrics import curves
from pipeline.models.training import (
    BASELINE_LABEL,
    HEADLINE,
    ModelRun,
    compare_rows,
    leaderboard,
    scaling_curve,
    train_everywhere,
)
from pipeline.published.size_model import TimedWork
from pipeline.render.charts import (
    MAX_CHART_ROWS,
    bar_chart,
    curve_chart,
    matrix_chart,
    matrix_height,
    phase_time_chart,
    predicted_chart,
    scatter_chart,
    time_vs_rows_chart,
)
from pipeline.render.csv_export import safe_csv
from pipeline.tables.column_kinds import BOOLEAN, NUMERIC, TEXT, column_kind
from pipeline.tables.column_roles import ColumnFacts, column_facts, left_out
from ui import format as fmt
from ui.chart_panel import show_chart
from ui.choices import last_choice, last_index, remember
from ui.published_panel import published_estimates
from ui.shell import within_app
from ui.state import active_dataset_or_stop, eta_bar, shown_errors, working_on
from ui.views.models import (
    compared_speedups,
    confusion,
    fit_speedups,
    leaderboard_shown,
    metrics_table,
    phase_times,
)
from ui.workspace import COMPARISON_KEY as COMPARE_KEY
from ui.workspace import FEATURES_KEY
from ui.workspace import TRAINING_KEY as RESULT_KEY

within_app()

PREVIOUS_COMPARE_KEY = "model_compare_before"  # the fullest earlier comparison, kept while a new one runs
RATES_KEY = "model_rates"  # seconds measured per algorithm and size, for the time left
SCALING_KEY = "model_scaling"
NO_LABELS = "(none)"
FACTS_KEY = "model_column_facts"


def usable_columns(frame: Any) -> list[str]:
    return [c for c in frame.columns if column_kind(frame[c]) in (NUMERIC, BOOLEAN, TEXT)]


def facts_of(dataset: Dataset, columns: list[str]) -> dict[str, ColumnFacts]:
    """What the defaults are decided from, worked out once per dataset."""
    key = (dataset.id, tuple(columns))
    stored = st.session_state.get(FACTS_KEY)
    if not stored or stored[0] != key:
        stored = (key, column_facts(dataset.primary.frame, columns))
        st.session_state[FACTS_KEY] = stored
    return stored[1]


def setting_widget(algorithm: Algorithm, param: Param) -> Any:
    key = f"model_{algorithm.key}_{param.name}"
    if param.choices is not None:
        index = last_index(key, param.choices)
        return remember(key, st.selectbox(param.label, param.choices, index=index, key=key, help=param.help or None))
    value = last_choice(key, param.default, param.accepts)
    if isinstance(param.default, int):
        return remember(key, st.number_input(param.label, int(param.low), int(param.high), value, key=key))
    low, high = float(param.low), float(param.high)
    return remember(key, st.number_input(param.label, low, high, value, key=key, format="%g"))


def choose(dataset: Dataset) -> tuple[FeatureSpec, Algorithm, dict[str, Any]]:
    frame = dataset.primary.frame
    columns = usable_columns(frame)
    tasks = list(TASKS)
    index = last_index("model_task", tasks)
    task = remember(
        "model_task", st.radio("Task", tasks, index, format_func=TASKS.get, horizontal=True, key="model_task")
    )
    supervised = task in (CLASSIFICATION, REGRESSION)
    left, right = st.columns(2)
    facts = facts_of(dataset, columns)
    if supervised:
        key = f"model_target_{task}"
        choices = [c for c in columns if task == CLASSIFICATION or facts[c].kind == NUMERIC]
        index = last_index(key, choices, default_target(facts, task, choices))
        target = remember(key, left.selectbox("Target", choices, index=index, key=key))
    else:
        key, labels = f"model_labels_{task}", [NO_LABELS, *columns]
        label = "Reference labels (optional, for adjusted Rand and colours)"
        picked = remember(key, left.selectbox(label, labels, index=last_index(key, labels), key=key))
        target = None if picked == NO_LABELS else picked
    algorithms = algorithms_for(task)
    key = f"model_algorithm_{task}"
    index = last_index(key, [a.key for a in algorithms])
    algorithm = right.selectbox("Algorithm", algorithms, index, format_func=lambda a: a.label, key=key)
    remember(key, algorithm.key)
    skipped = {name: why for name, why in left_out(facts).items() if name != target}
    options = [c for c in columns if c != target]
    chosen = st.session_state.setdefault(FEATURES_KEY, {})  # by dataset and target: kept while off the page
    features = st.multiselect(
        "Features",
        options,
        default=[c for c in chosen.get((dataset.id, target), [c for c in options if c not in skipped]) if c in options],
        key=f"model_features_{target}",
    )
    chosen[(dataset.id, target)] = features
    if skipped:
        st.caption(
            "Left out by default (add them back above if you mean to): "
            + "; ".join(f"{name!r}: {why}" for name, why in skipped.items())
        )
    unusable = [str(name) for name in frame.columns if name not in columns]
    if unusable:
        st.caption(
            "Not offered as features or targets: "
            + ", ".join(map(repr, unusable))
            + " (dates or nested values; the Pipeline's date parts turn dates into numbers)."
        )
    with st.expander("Settings", expanded=False):
        st.caption(algorithm.notes or "The same settings on both libraries.")
        cells = st.columns(3)
        settings = {}
        for i, param in enumerate(algorithm.params):
            with cells[i % 3]:
                settings[param.name] = setting_widget(algorithm, param)
        share = last_choice("model_test_share", 0.2, lambda v: isinstance(v, float) and 0.05 <= v <= 0.5)
        test_fraction = (
            remember("model_test_share", st.slider("Test share", 0.05, 0.5, share, key="model_test_share"))
            if supervised
            else 0.2
        )
    spec = FeatureSpec(task, tuple(features), target, test_fraction=test_fraction, non_negative=algorithm.non_negative)
    return spec, algorithm, settings


def copies_of(dataset: Dataset) -> dict[str, tuple[Any, Any]]:
    return {name: (copy.engine, copy.frame) for name, copy in dataset.copies.items()}


def with_progress(label: str, work: Any) -> Any:
    """Run `work(progress)` with a progress bar that goes away when it is done."""
    bar = st.progress(0.0, text=label)
    result = work(lambda done, text: bar.progress(min(done, 1.0), text=text))
    bar.empty()
    return result


def sample_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if len(frame) <= MAX_CHART_ROWS else frame.sample(MAX_CHART_ROWS, random_state=0)


def labelled(run: ModelRun, codes: np.ndarray) -> np.ndarray:
    return np.asarray([str(c) for c in run.classes], dtype=object)[codes.astype(int)]


def show_engine_charts(name: str, run: ModelRun) -> None:
    task = run.algorithm.task
    if task == CLASSIFICATION:
        if len(run.classes) <= 30:
            share = st.toggle("Share of each actual class", key=f"cm_share_{name}")
            matrix = confusion(run, normalise=share)
            chart = matrix_chart(
                matrix, "share" if share else "rows", labels=True, titles=("predicted class", "actual class")
            )
            show_chart(
                chart, matrix.reset_index(), f"confusion_{name}", f"cm_{name}", height=matrix_height(len(matrix))
            )
    elif task == REGRESSION:
        points = sample_rows(pd.DataFrame({"actual": run.y_test, "predicted": run.predictions}))
        show_chart(predicted_chart(points), points, f"predicted_{name}", f"pv_{name}")
        st.caption("Dashed: y = x, where a prediction equals the actual value.")
        residuals = sample_rows(pd.DataFrame({"predicted": run.predictions, "residual": run.y_test - run.predictions}))
        show_chart(scatter_chart(residuals, "predicted", "residual"), residuals, f"residuals_{name}", f"res_{name}")
    else:
        xy = run.predictions if task == EMBEDDING else run.x_view
        points = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1] if xy.shape[1] > 1 else 0.0})
        colour = None
        if task == CLUSTERING:
            points["cluster"], colour = run.predictions.astype(str), "cluster"
        elif run.y_test is not None:
            points["label"], colour = labelled(run, run.y_test), "label"
        points = sample_rows(points)
        show_chart(scatter_chart(points, "x", "y", colour), points, f"{task}_{name}", f"scatter_{name}")
        if task == CLUSTERING:
            st.caption("x, y: the first two principal components of the features, coloured by cluster (-1: noise).")
    if run.importances is not None and run.importances.shape[-1] == len(run.feature_names):
        weights = pd.DataFrame({"label": run.feature_names, "weight": np.abs(run.importances).mean(axis=0)})
        top = weights.nlargest(20, "weight")
        title = "importance" if run.algorithm.key.startswith("random_forest") else "mean |coefficient|"
        show_chart(bar_chart(top, "weight", title), top, f"importance_{name}", f"imp_{name}")


def show_curves(runs: dict[str, ModelRun]) -> None:
    """ROC and precision-recall curves of every engine on one chart each."""
    found = {"roc": [], "pr": []}
    for run in runs.values():
        if run.ok and run.scores is not None:
            for kind, points in curves(run.y_test, run.scores, run.classes).items():
                found[kind].append(points.assign(series=run.engine.label + " · " + points["class"]))
    if not found["roc"]:
        st.caption("No ROC or precision-recall curves: this model gives no class scores.")
        return
    left, right = st.columns(2)
    roc, pr = pd.concat(found["roc"]), pd.concat(found["pr"])
    with left:
        show_chart(curve_chart(roc, "false positive rate", "true positive rate", diagonal=True), roc, "roc", "roc")
    with right:
        show_chart(curve_chart(pr, "recall", "precision"), pr, "precision_recall", "pr")


def show_charts(runs: dict[str, ModelRun]) -> None:
    done = {name: run for name, run in runs.items() if run.ok}
    if not done:
        return
    if next(iter(done.values())).algorithm.task == CLASSIFICATION:
        show_curves(done)
    for column, (name, run) in zip(st.columns(len(done)), done.items(), strict=True):
        with column:
            st.markdown(f"**{run.engine.label}**")
            show_engine_charts(name, run)


def show_scaling(dataset: Dataset, spec: FeatureSpec, run: ModelRun) -> None:
    """Fit time on growing shares of the rows, on demand (it trains the model four more times per engine)."""
    key = (dataset.id, spec, run.algorithm.key, tuple(run.settings.items()))
    if st.button("Fit time against rows", key="model_scaling_go", icon=":material/show_chart:"):
        with shown_errors("measuring fit time against rows"):
            curve = with_progress(
                "Measuring…",
                lambda report: scaling_curve(copies_of(dataset), spec, run.algorithm, run.settings, report),
            )
            st.session_state[SCALING_KEY] = (key, curve)
    stored = st.session_state.get(SCALING_KEY)
    if any(copy.engine.lazy for copy in dataset.copies.values()):
        st.caption("Fit time against rows leaves the Dask engines out: it times the first rows, not partitions.")
    if stored and stored[0] == key and not stored[1].empty:
        title = f"{run.algorithm.label}: fit time on the first 10%, 25%, 50% and all rows"
        show_chart(time_vs_rows_chart(stored[1], title), stored[1], "fit_time_vs_rows", "model_scaling_chart")


def compare_everything(dataset: Dataset, spec: FeatureSpec) -> None:
    key = (dataset.id, replace(spec, non_negative=False))
    with st.expander(f"Compare every {TASKS[spec.task].lower()} algorithm"):
        st.caption(
            "Default settings, the same features and split; a leaderboard best first by "
            f"{HEADLINE[spec.task]}, with fit and predict times, the GPU speed-up of each fit where the GPU ran, "
            "and a baseline to beat. t-SNE, UMAP and HDBSCAN grow fast with rows: sample large tables first "
            "(Pipeline: sample)."
        )
        if st.button("Compare all", key="model_compare_go", icon=":material/leaderboard:"):
            with shown_errors("comparing the algorithms"):
                check_spec(spec, dataset.primary.frame)
                compare_with_stop(dataset, spec, key)
    rows = comparison(key)
    if rows is None:
        return
    st.subheader("Leaderboard")  # outside the expander: it stays in view whatever the expander does
    total = len(algorithms_for(spec.task))
    done = algorithms_done(rows)
    before = st.session_state.get(PREVIOUS_COMPARE_KEY)
    if done < total:
        kept = " beside the run before" if before and before[0] == key else ""
        st.warning(
            f"Stopped after {done} of {total} algorithms; those are kept{kept}. Compare all again for the rest.",
            icon=":material/warning:",
        )
    if done < total and before and before[0] == key:
        now_column, before_column = st.columns(2)
        with now_column:
            st.markdown(f"**This run** ({done} of {total} algorithms)")
            show_leaderboard(rows, spec.task, "now")
        with before_column:
            st.markdown(f"**The run before** ({algorithms_done(before[1])} of {total} algorithms)")
            show_leaderboard(before[1], spec.task, "before")
        return
    show_leaderboard(rows, spec.task, "now")


def comparison(key: Any) -> list[dict[str, Any]] | None:
    """The rows of the last comparison for `key` (this dataset and spec), or None."""
    stored = st.session_state.get(COMPARE_KEY)
    return stored[1] if stored and stored[0] == key else None


def algorithms_done(rows: list[dict[str, Any]]) -> int:
    return sum(1 for row in rows if row["algorithm"] not in BASELINE_LABEL.values())


def show_leaderboard(rows: list[dict[str, Any]], task: str, key: str) -> None:
    table = leaderboard(rows, task)
    st.dataframe(leaderboard_shown(table), hide_index=True, width="stretch")
    bars = compared_speedups(table)
    if bars.empty:
        st.caption("Speed-ups appear when the dataset is on more than one engine.")
        return
    for engine, group in bars.groupby("engine", sort=False):
        chart = bar_chart(group, "speedup", f"{engine} speed-up of fit (×)", color="#76b900")
        show_chart(chart, group, "speedups", f"cmp_{key}_{engine}")


def compare_with_stop(dataset: Dataset, spec: FeatureSpec, key: Any) -> None:
    """Train every algorithm in turn, keeping each row in the session as it comes, so that Stop (or any other
    click, which makes Streamlit stop this script) keeps the algorithms done, and the fullest earlier comparison of
    the same choices beside them until this one finishes. The bar counts down the time left from the seconds
    measured for each algorithm at this size (earlier comparisons in this session), else from the pace so far."""
    earlier = [
        stored
        for stored in (st.session_state.get(COMPARE_KEY), st.session_state.get(PREVIOUS_COMPARE_KEY))
        if stored and stored[0] == key and algorithms_done(stored[1])
    ]
    if earlier:
        st.session_state[PREVIOUS_COMPARE_KEY] = max(earlier, key=lambda stored: algorithms_done(stored[1]))
    rows: list[dict[str, Any]] = []
    st.session_state[COMPARE_KEY] = (key, rows)
    stop_slot = st.empty()
    stop_slot.button("Stop comparing", key="model_compare_stop", icon=":material/stop_circle:")
    algorithms = algorithms_for(spec.task)
    engines = " and ".join(dataset.copies)
    size = dataset.shape[0] * max(len(spec.features), 1)  # cells: the time grows with rows and features
    parts = [Part(f"{algorithm.key} on {engines}", size) for algorithm in algorithms]
    rates = st.session_state.setdefault(RATES_KEY, Rates())
    with working_on(dataset), eta_bar(st, "Comparing…", parts, rates) as report:
        for row in compare_rows(copies_of(dataset), spec, report):
            rows.append(row)
    st.session_state.pop(PREVIOUS_COMPARE_KEY, None)  # finished: this comparison stands alone
    stop_slot.empty()
    st.toast(f"Compared {len(algorithms)} algorithms.")


def show_result(dataset: Dataset, spec: FeatureSpec, algorithm: Algorithm, runs: dict[str, ModelRun]) -> None:
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
    ratios = fit_speedups(runs)
    for label, ratio in ratios.items():
        metrics[-1].metric(f"{label} speed-up (fit)", f"{ratio:,.2f}×")
    if len(runs) == 1:
        st.caption("Only one engine holds this dataset; the System page says why the GPU engine is unavailable.")
    published_estimates(
        [TimedWork(f"{algorithm.label} (fit)", algorithm.key, done[0].fit_seconds, dataset.shape[0], library="cuML")],
        "model_published",
    )
    if done[0].dropped_rows:
        st.info(f"{done[0].dropped_rows:,} rows without a target value were left out.", icon=":material/info:")
    st.dataframe(fmt.people_table(metrics_table(runs)), hide_index=True, width="stretch")
    agreement = engines_agreement(runs)
    if agreement:
        st.caption("Agreement between the engines: " + ", ".join(f"{k} {v:.3f}" for k, v in agreement.items()))
    times = phase_times(runs)
    show_chart(phase_time_chart(times), times, "model_times", "model_times")
    st.caption("Prepare: feature encoding and split on the engine; to host: copying outputs back for metrics.")
    show_charts(runs)
    show_scaling(dataset, spec, next(iter(runs.values())))
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
        lambda: safe_csv(predictions_frame(runs)),
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
        with working_on(dataset):
            runs = with_progress(
                "Training…", lambda report: train_everywhere(copies_of(dataset), spec, algorithm, settings, report)
            )
        st.session_state[RESULT_KEY] = (dataset.id, spec, algorithm.key, settings, runs)
stored = st.session_state.get(RESULT_KEY)
if stored and stored[:4] == (dataset.id, spec, algorithm.key, settings):
    with shown_errors("showing the result"):  # a result read back from a workspace file is anyone's
        show_result(dataset, spec, algorithm, stored[4])
compare_everything(dataset, spec)
