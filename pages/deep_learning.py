"""Deep learning: train a small network with PyTorch on the CPU and the GPU, watch both curves live, evaluate."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from pipeline.dl.evaluation import batches_frame, comparison, evaluate, histories_json, history_frame, load_histories
from pipeline.dl.training import (
    CUDA_DEVICE,
    OPTIMIZERS,
    TrainRun,
    TrainSettings,
    devices,
    digits_data,
    table_data,
    throughput,
    torch_missing_reason,
    train,
)
from pipeline.render.charts import curve_chart, matrix_chart, throughput_chart, training_curves_chart
from pipeline.tables.column_kinds import NUMERIC, column_kind
from ui import format as fmt
from ui.chart_panel import show_chart
from ui.shell import within_app
from ui.state import catalog, shown_errors

within_app()

RUNS_KEY = "dl_runs"
DATA_KEY = "dl_data"
OVERLAYS_KEY = "dl_overlays"
SWEEP_KEY = "dl_sweep"
STOP_KEY = "dl_stop"
SWEEP_SIZES = [8, 16, 32, 64, 128, 256, 512, 1024]
PROGRESS_EVERY_S = 0.25  # the progress bar is redrawn at most this often (redrawing costs the browser, not the clock)
DIGITS = "Handwritten digits (8×8 images, CNN)"
TABLE = "The active dataset (table, MLP)"
DEVICE_LABELS = {"cpu": "CPU (PyTorch)", CUDA_DEVICE: "GPU (PyTorch CUDA)"}

st.title("Deep learning")
reason = torch_missing_reason()
if reason:
    st.info(reason, icon=":material/info:")
    st.caption("Every other page works without PyTorch; this one needs it.")
    st.stop()

available = devices()
st.caption(
    "Train the same network with the same seed on "
    + " and ".join(DEVICE_LABELS[d] for d in available)
    + ", one after the other; the curves grow as each epoch ends."
)
if CUDA_DEVICE not in available:
    st.caption(":material/info: PyTorch sees no CUDA GPU here, so only the CPU trains.")


def choose_data():
    """The data to learn from, checked; None (with the message shown) when it cannot be used."""
    source = st.radio("Data", [DIGITS, TABLE], horizontal=True, key="dl_source")
    test_share = st.slider("Test share", 0.1, 0.5, 0.2, 0.05, key="dl_test")
    if source == DIGITS:
        return digits_data(test_share)
    dataset = catalog().active
    if dataset is None:
        st.info("No dataset is loaded: load one on the Data page, or use the digits.", icon=":material/info:")
        return None
    frame = dataset.primary.engine.to_pandas(dataset.primary.frame)
    left, right = st.columns([1, 2])
    target = left.selectbox("Target (classes)", list(frame.columns), index=len(frame.columns) - 1, key="dl_target")
    numeric = [c for c in frame.columns if c != target and column_kind(frame[c]) == NUMERIC]
    features = right.multiselect("Features (numeric)", numeric, default=numeric, key="dl_features")
    return table_data(frame, target, features, dataset.name, test_share)


def choose_settings() -> TrainSettings:
    columns = st.columns(6)
    return TrainSettings(
        epochs=int(columns[0].number_input("Epochs", 1, 1000, 10, key="dl_epochs")),
        batch_size=int(columns[1].number_input("Batch size", 1, 1_000_000, 64, key="dl_batch")),
        learning_rate=float(columns[2].number_input("Learning rate", 1e-6, 10.0, 1e-3, format="%.4g", key="dl_lr")),
        optimizer=columns[3].selectbox("Optimizer", OPTIMIZERS, key="dl_optimizer"),
        amp=columns[4].checkbox(
            "Mixed precision (GPU)", key="dl_amp", disabled=CUDA_DEVICE not in available, help="float16 autocast"
        ),
        seed=int(columns[5].number_input("Seed", 0, 2**31 - 1, 0, key="dl_seed")),
    )


def live_training(data, settings: TrainSettings) -> None:
    """Train on every device in turn; each epoch redraws the curves, and a progress bar follows the batches.

    Each run sits in the session from its start and is filled in as it trains, so the Stop button (or any
    other click: Streamlit then stops this script) keeps the epochs done.
    """
    runs: dict[str, TrainRun] = {}
    st.session_state[RUNS_KEY] = runs
    st.session_state[DATA_KEY] = data
    stop_slot = st.empty()
    stop_slot.button("Stop training", key=STOP_KEY, icon=":material/stop_circle:")
    progress_slot, chart_slot = st.empty(), st.empty()
    for device in available:
        label = DEVICE_LABELS[device]
        runs[label] = TrainRun(device, settings)
        shown_at = [0.0]

        def show_epoch(_record) -> None:
            histories = {name: run.records() for name, run in runs.items()}
            chart_slot.altair_chart(training_curves_chart(history_frame(histories)))

        def show_batches(record, label=label, shown_at=shown_at) -> None:
            if time.perf_counter() - shown_at[0] < PROGRESS_EVERY_S and record.batch != record.batches:
                return
            shown_at[0] = time.perf_counter()
            done = (record.epoch - 1 + record.batch / record.batches) / settings.epochs
            progress_slot.progress(
                min(done, 1.0),
                text=f"{label}: epoch {record.epoch} of {settings.epochs}, batch {record.batch} of {record.batches}"
                f" · training loss {record.loss:.4f} · {record.samples_per_s:,.0f} samples/s",
            )

        train(data, settings, device, on_epoch=show_epoch, on_batches=show_batches, into=runs[label])
    for slot in (stop_slot, progress_slot, chart_slot):
        slot.empty()


def note_interrupted(runs: dict[str, TrainRun]) -> None:
    """Say why a run that did not finish stopped: the Stop button, or another click on the page."""
    for run in runs.values():
        if not run.finished:
            cause = "Stopped by you" if st.session_state.get(STOP_KEY) else "Stopped because the page was used"
            run.stopped = f"{cause} after {len(run.history)} of {run.settings.epochs} epochs; those are kept."
            run.finished = True


def show_results() -> None:
    runs = st.session_state.get(RUNS_KEY) or {}
    overlays = st.session_state.get(OVERLAYS_KEY) or {}
    if not runs and not overlays:
        return
    note_interrupted(runs)
    st.subheader("Curves")
    histories = {name: run.records() for name, run in runs.items()}
    curves = history_frame({**histories, **overlays})
    show_chart(training_curves_chart(curves), curves, "training_curves", "dl_curves")
    st.caption(
        "Solid lines: the test set; dashed: the training set; dotted: the device. Device busy %: on the GPU, "
        "the share of time a kernel was running (NVML); on the CPU, this process's CPU time as a share of all "
        "cores. Sampled every 50 ms, so epochs under half a second give rough figures."
    )
    steps = batches_frame(runs)
    if len(steps):
        with st.expander("Training loss and accuracy every few batches"):
            show_chart(training_curves_chart(steps, x="step"), steps, "batch_curves", "dl_steps")
    for name, run in runs.items():
        if run.error:
            st.error(f"{name}: {run.error}", icon=":material/error:")
        if run.stopped:
            st.warning(f"{name}: {run.stopped}", icon=":material/warning:")
        if run.usage_note:
            st.caption(f":material/info: {name}: {run.usage_note}")
    table = comparison(runs)
    if len(table):
        st.subheader("Comparison")
        st.dataframe(
            fmt.people_table(table),  # busy % and peak memory are "—" where a device does not report them
            hide_index=True,
            column_config={
                "s per epoch": st.column_config.NumberColumn(format="%.3f"),
                "total s": st.column_config.NumberColumn(format="%.2f"),
                "samples/s": st.column_config.NumberColumn(format="%,.0f"),
                "test accuracy": st.column_config.NumberColumn(format="%.3f"),
                "speed-up": st.column_config.NumberColumn(format="%.2f×"),
            },
        )
        data = st.session_state.get(DATA_KEY)
        st.download_button(
            "Save the run history (JSON)",
            data=histories_json(runs, data.name if data else ""),
            file_name="training_history.json",
            mime="application/json",
            icon=":material/download:",
            on_click="ignore",
        )
        evaluation_section(data, {name: run for name, run in runs.items() if run.history})


def evaluation_section(data, runs: dict) -> None:
    if not runs or data is None:
        return
    st.subheader("Evaluation on the test set")
    name = st.selectbox("Run", list(runs), key="dl_eval_run")
    with shown_errors("evaluating the model"):
        result = evaluate(data, runs[name])
        metrics = st.columns(3)
        metrics[0].metric("Accuracy", f"{result.summary['accuracy']:.3f}")
        metrics[1].metric("Balanced accuracy", f"{result.summary['balanced accuracy']:.3f}")
        metrics[2].metric("F1 (macro)", f"{result.summary['F1 (macro)']:.3f}")
        left, right = st.columns(2)
        with left:
            st.markdown("**Confusion matrix**")
            chart = matrix_chart(result.confusion, "count", titles=("predicted class", "true class"))
            show_chart(chart, result.confusion.reset_index(), "confusion", "dl_cm")
        with right:
            st.markdown("**Precision–recall per class**")
            show_chart(curve_chart(result.pr_curves, "recall", "precision"), result.pr_curves, "pr", "dl_pr")
        st.dataframe(fmt.people_table(result.per_class), hide_index=True)
        worst_view(data, result.worst)


def worst_view(data, worst: pd.DataFrame) -> None:
    """Images: the misclassified ones the model was surest of, as a gallery. Tables: the rows with the
    largest residual 1 - p(true class), with their feature values."""
    if data.image_shape is None:
        st.markdown(f"**Worst residuals** (1 − probability of the true class; {len(worst)} rows, largest first)")
        st.dataframe(
            worst,
            hide_index=True,
            column_config={
                "position": st.column_config.NumberColumn("test row"),
                "p(true)": st.column_config.NumberColumn(format="%.3f"),
                "residual": st.column_config.NumberColumn(format="%.3f"),
            },
        )
        return
    wrong = worst[~worst["correct"]]
    if not len(wrong):
        st.success("No test image is misclassified.", icon=":material/check_circle:")
        return
    st.markdown(f"**Misclassified, least probability on the true class first** ({len(wrong)} shown)")
    columns = st.columns(8)
    for slot, row in zip(columns * 3, wrong.to_dict("records"), strict=False):
        image = np.kron(data.x_test[row["position"]], np.ones((8, 8)))  # 8×8 pixels drawn 64×64
        caption = f"true {row['true']} → {row['predicted']} (p(true) {row['p(true)']:.0%})"
        slot.image(image, caption=caption, clamp=True)


def overlay_earlier_runs() -> None:
    with st.expander("Overlay earlier runs"):
        uploaded = st.file_uploader("Training history (JSON saved from this page)", type=["json"], key="dl_history")
        if uploaded is not None and st.button("Overlay", key="dl_overlay_go"):
            with shown_errors("loading the history"):
                loaded = load_histories(uploaded.getvalue().decode("utf-8", errors="replace"), uploaded.name)
                st.session_state.setdefault(OVERLAYS_KEY, {}).update(loaded)
        if st.session_state.get(OVERLAYS_KEY) and st.button("Remove overlays", key="dl_overlay_clear"):
            st.session_state.pop(OVERLAYS_KEY)


data, settings = None, TrainSettings()
with shown_errors("preparing the data"):
    data = choose_data()
    settings = choose_settings()
    if data is not None:
        st.caption(
            f"{data.name}: {len(data.y_train):,} training and {len(data.y_test):,} test rows, "
            f"{len(data.classes)} classes."
        )
        if st.button("Train on " + " and ".join(DEVICE_LABELS[d] for d in available), type="primary", key="dl_go"):
            settings.checked(len(data.y_train))
            live_training(data, settings)
overlay_earlier_runs()
show_results()


def batch_size_sweep(data, settings: TrainSettings) -> None:
    with st.expander("Throughput against batch size", expanded=SWEEP_KEY in st.session_state):
        sizes = st.multiselect("Batch sizes", SWEEP_SIZES, default=[16, 64, 256], key="dl_sweep_sizes")
        usable = [size for size in sizes if size <= len(data.y_train)]
        if st.button("Measure", key="dl_sweep_go", disabled=not usable, icon=":material/speed:"):
            with st.spinner("Two epochs per batch size and device…"):
                rows = [row for device in available for row in throughput(data, settings, device, usable)]
            frame = pd.DataFrame(rows)
            frame["device"] = frame["device"].map(DEVICE_LABELS)
            st.session_state[SWEEP_KEY] = frame
        frame = st.session_state.get(SWEEP_KEY)
        if frame is not None:
            show_chart(throughput_chart(frame), frame, "throughput", "dl_sweep_chart")
            for row in frame.dropna(subset=["error"]).itertuples():
                st.warning(f"{row.device}, batch {row.batch_size}: {row.error}", icon=":material/warning:")


if data is not None:
    batch_size_sweep(data, settings)
