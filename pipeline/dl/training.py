"""Neural networks with PyTorch (an optional extra): data, an MLP and a small CNN, a reported training loop.

Nothing here imports torch until it is used, so the app runs without it; `torch_missing_reason()`
says how to add it. scikit-learn (the digits, the split) is imported when used too. Data never comes from the
network: scikit-learn's 8x8 digits images, or any table loaded in the app (for the MLP).
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.engines.usage import UsageSampler, cpu_reader, cuda_reader
from pipeline.errors import DataError

OPTIMIZERS = ("adam", "sgd")
MAX_CLASSES = 100
MIN_ROWS_PER_SPLIT = 2
REPORTS_PER_EPOCH = 10
CPU_DEVICE, CUDA_DEVICE = "cpu", "cuda"


def torch_missing_reason() -> str | None:
    """Why PyTorch cannot be used here, or None when it can; the install command names this server's own Python
    (its virtual environment's), where a bare `pip` may be another one."""
    if importlib.util.find_spec("torch") is None:
        return (
            f"PyTorch is not installed. Add it with `{this_python()} -m pip install -r requirements-dl.txt` (a CPU "
            "build; on a machine with an NVIDIA GPU install a CUDA build of torch instead, see pytorch.org), then "
            "restart the app."
        )
    return None


def this_python() -> str:
    """The Python running this process, relative to the working folder when it is inside it (.venv/bin/python)."""
    python = Path(sys.executable)
    return str(python.relative_to(Path.cwd())) if python.is_relative_to(Path.cwd()) else str(python)


def _torch() -> Any:
    reason = torch_missing_reason()
    if reason:
        raise DataError(reason)
    # cuBLAS is deterministic only with a fixed workspace, set before its first use (PyTorch's reproducibility notes).
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch

    return torch


def devices() -> list[str]:
    """Where training can run here: the CPU, and CUDA when torch sees a GPU."""
    return [CPU_DEVICE, CUDA_DEVICE] if _torch().cuda.is_available() else [CPU_DEVICE]


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    amp: bool = False  # mixed precision; used on CUDA only
    seed: int = 0

    def checked(self, train_rows: int) -> TrainSettings:
        """The settings, or a DataError naming the first one out of range and what to use."""
        if not 1 <= self.epochs <= 1000:
            raise DataError(f"Epochs must be between 1 and 1,000; got {self.epochs}.")
        if not 1 <= self.batch_size <= train_rows:
            raise DataError(
                f"The batch size {self.batch_size:,} is larger than the {train_rows:,} training rows (or below 1). "
                f"Choose a batch size between 1 and {train_rows:,}."
            )
        if not (0 < self.learning_rate <= 10) or not math.isfinite(self.learning_rate):
            raise DataError(f"The learning rate must be above 0 and at most 10; got {self.learning_rate}.")
        if self.optimizer not in OPTIMIZERS:
            raise DataError(f"Unknown optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}.")
        return self


@dataclass
class DlData:
    """Train and test arrays (float32 features, int64 class codes) and what they are."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    image_shape: tuple[int, int] | None = None  # (height, width) for images; None for a table
    feature_names: list[str] = field(default_factory=list)
    test_rows: pd.DataFrame | None = None  # a table's test rows as loaded (features unscaled, and the target)


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """x_train, x_test, y_train, y_test and the test rows' positions in x."""
    from sklearn.model_selection import train_test_split

    if not 0.05 <= test_fraction <= 0.5:
        raise DataError(f"The test share must be between 5% and 50%; got {test_fraction:.0%}.")
    test_rows = round(len(y) * test_fraction)
    if min(test_rows, len(y) - test_rows) < MIN_ROWS_PER_SPLIT:
        raise DataError(
            f"{len(y):,} rows are too few to split {1 - test_fraction:.0%}/{test_fraction:.0%}: "
            f"each side needs at least {MIN_ROWS_PER_SPLIT} rows. Load more rows."
        )
    counts = np.bincount(y)
    stratify = y if counts.min() >= 2 and test_rows >= len(counts) else None
    x_train, x_test, y_train, y_test, _, test_positions = train_test_split(
        x, y, np.arange(len(y)), test_size=test_fraction, random_state=seed, stratify=stratify
    )
    return x_train, x_test, y_train, y_test, test_positions


def digits_data(test_fraction: float = 0.2, seed: int = 0) -> DlData:
    """scikit-learn's 1,797 handwritten digits, 8x8 pixels scaled to [0, 1], ten classes."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")
    x_train, x_test, y_train, y_test, _ = _split(x, digits.target.astype("int64"), test_fraction, seed)
    return DlData("digits", x_train, y_train, x_test, y_test, [str(c) for c in range(10)], (8, 8))


def table_data(
    frame: pd.DataFrame, target: str, features: list[str], name: str, test_fraction: float = 0.2, seed: int = 0
) -> DlData:
    """Numeric feature columns standardised on the training rows, the target as class codes."""
    if target not in frame.columns:
        raise DataError(f"There is no column {target!r} to predict. Pick a target from the table's columns.")
    features = [column for column in features if column != target]
    if not features:
        raise DataError("Pick at least one feature column besides the target.")
    missing = [column for column in features if column not in frame.columns]
    if missing:
        raise DataError(f"No column {', '.join(map(repr, missing))} in the table. Pick features from its columns.")
    not_numeric = [column for column in features if not pd.api.types.is_numeric_dtype(frame[column])]
    if not_numeric:
        raise DataError(
            f"{', '.join(map(repr, not_numeric))} {'is' if len(not_numeric) == 1 else 'are'} not numeric. Turn text "
            "into numbers first (Pipeline: one-hot or label encoding), or leave those columns out."
        )
    with_nan = [column for column in features if frame[column].isna().any() or not np.isfinite(frame[column]).all()]
    if with_nan:
        raise DataError(
            f"{', '.join(map(repr, with_nan))} hold missing or infinite values, which a network cannot learn from. "
            "Fill or drop them first (Pipeline: Fill missing values / Drop rows with missing values)."
        )
    labels = frame[target]
    if labels.isna().any():
        raise DataError(f"The target {target!r} has missing values. Drop those rows first (Pipeline: Drop missing).")
    classes = sorted(labels.unique(), key=str)
    if len(classes) < 2 or len(classes) > MAX_CLASSES:
        raise DataError(
            f"The target {target!r} has {len(classes):,} distinct values; classification needs 2 to {MAX_CLASSES}. "
            "Pick a column of categories as the target."
        )
    codes = pd.Categorical(labels, categories=classes).codes.astype("int64")
    x = frame[features].to_numpy(dtype="float32")
    x_train, x_test, y_train, y_test, test_positions = _split(x, codes, test_fraction, seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1.0
    return DlData(
        name,
        (x_train - mean) / std,
        y_train,
        (x_test - mean) / std,
        y_test,
        [str(c) for c in classes],
        feature_names=features,
        test_rows=frame.iloc[test_positions][[*features, target]].reset_index(drop=True),
    )


def build_model(data: DlData) -> Any:
    """A small CNN for images, an MLP for tables; the same initial weights for a seed on every device."""
    nn = _torch().nn
    classes = len(data.classes)
    if data.image_shape is not None:
        height, width = data.image_shape
        return nn.Sequential(
            nn.Unflatten(1, (1, height)),
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * (height // 2) * (width // 2), 64),
            nn.ReLU(),
            nn.Linear(64, classes),
        )
    features = data.x_train.shape[1]
    return nn.Sequential(nn.Linear(features, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, classes))


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float
    samples_per_s: float
    busy_percent: float | None = None  # mean device use while the epoch trained (device_usage)
    memory_mib: float | None = None  # peak memory in use meanwhile: the GPU's, or this process's on the CPU


@dataclass
class BatchRecord:
    """Training over the batches since the previous report, within one epoch."""

    epoch: int
    batch: int  # batches done in this epoch
    batches: int  # batches in an epoch
    step: int  # batches done since training began
    loss: float  # mean training loss over those batches
    accuracy: float  # training accuracy over those batches
    samples_per_s: float  # over the epoch so far


@dataclass
class TrainRun:
    """One training on one device: its history, how it ended, and the test-set outputs of the last epoch."""

    device: str
    settings: TrainSettings
    history: list[EpochRecord] = field(default_factory=list)
    batches: list[BatchRecord] = field(default_factory=list)
    stopped: str | None = None  # why training ended early (the user's stop, a diverging loss)
    finished: bool = False  # train() returned; False while it runs, or after it was interrupted
    error: str | None = None  # why it could not run (out of memory, …)
    usage_note: str | None = None  # why device use was not measured, when it was not
    probabilities: np.ndarray | None = None
    model: Any = None

    @property
    def seconds(self) -> float:
        return sum(record.seconds for record in self.history)

    def records(self) -> list[dict[str, Any]]:
        """The history as plain dictionaries, one per epoch (what charts and JSON take)."""
        return [asdict(record) for record in self.history]

    def history_dict(self) -> dict[str, Any]:
        """The run as JSON-ready data (for saving and overlaying later)."""
        return {
            "device": self.device,
            "settings": asdict(self.settings),
            "history": self.records(),
            "batches": [asdict(record) for record in self.batches],
            "stopped": self.stopped,
            "error": self.error,
            "usage_note": self.usage_note,
        }


def _seed(torch: Any, seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _evaluate(torch: Any, model: Any, x: Any, y: Any, batch_size: int) -> tuple[float, float, np.ndarray]:
    """Mean loss, accuracy and class probabilities over (x, y), in batches, without gradients."""
    loss_fn = torch.nn.functional.cross_entropy
    model.eval()
    total_loss, outputs = 0.0, []
    with torch.no_grad():
        for start in range(0, len(y), batch_size):
            logits = model(x[start : start + batch_size]).float()
            total_loss += float(loss_fn(logits, y[start : start + batch_size], reduction="sum"))
            outputs.append(torch.softmax(logits, dim=1))
    probabilities = torch.cat(outputs).cpu().numpy()
    accuracy = float((probabilities.argmax(axis=1) == y.cpu().numpy()).mean())
    model.train()
    return total_loss / len(y), accuracy, probabilities


def _diverged(loss: float, epoch: int, settings: TrainSettings) -> str:
    return (
        f"The loss became {loss} in epoch {epoch}: training diverged. Lower the "
        f"learning rate (now {settings.learning_rate:g}; try {settings.learning_rate / 10:g})."
    )


def train(
    data: DlData,
    settings: TrainSettings,
    device: str = CPU_DEVICE,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_batches: Callable[[BatchRecord], None] | None = None,
    report_every: int | None = None,
    into: TrainRun | None = None,
) -> TrainRun:
    """Train a fresh model on `device`, reporting each epoch and every `report_every` batches (default: about
    ten reports an epoch); failures are recorded on the run, not raised.

    A loss that becomes NaN or infinite stops training with the reason at the next report; `should_stop()`
    returning True (checked after every batch) stops it too. Times are taken with the device synchronised
    and leave out the time spent in the callbacks; device use is sampled meanwhile (`device_usage`).
    `into` is a run the caller already holds, filled in as training goes (kept if training is interrupted).
    """
    torch = _torch()
    settings = settings.checked(len(data.y_train))
    run = into or TrainRun(device, settings)
    run.finished = False
    if device not in devices():
        run.error = f"There is no {device!r} device here: torch sees {', '.join(devices())}."
        run.finished = True
        return run
    _seed(torch, settings.seed)
    try:
        model = build_model(data).to(device)
        x_train, y_train = torch.from_numpy(data.x_train).to(device), torch.from_numpy(data.y_train).to(device)
        x_test, y_test = torch.from_numpy(data.x_test).to(device), torch.from_numpy(data.y_test).to(device)
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        size = sum(array.nbytes for array in (data.x_train, data.y_train, data.x_test, data.y_test)) / 2**20
        run.error = (
            f"The data ({size:,.0f} MiB) and the model do not fit in the GPU's free memory. Train on the CPU, "
            "or use fewer rows or features (Pipeline: Sample rows)."
        )
        run.finished = True
        return run
    optimizer_class = torch.optim.Adam if settings.optimizer == "adam" else torch.optim.SGD
    optimizer = optimizer_class(model.parameters(), lr=settings.learning_rate)
    amp = settings.amp and device == CUDA_DEVICE
    scaler = torch.amp.GradScaler(device, enabled=amp)
    order = torch.Generator().manual_seed(settings.seed)
    rows = len(y_train)
    batches = math.ceil(rows / settings.batch_size)
    every = report_every or max(1, batches // REPORTS_PER_EPOCH)
    read, run.usage_note = cuda_reader(torch, device) if device == CUDA_DEVICE else (cpu_reader(), None)

    def synchronize() -> None:
        if device == CUDA_DEVICE:
            torch.cuda.synchronize()

    with UsageSampler(read) as sampler:
        try:
            for epoch in range(1, settings.epochs + 1):
                synchronize()
                sampler.take()  # readings from before this epoch's training are not its own
                started, paused = time.perf_counter(), 0.0
                window_loss = torch.zeros((), device=device)
                window_right = torch.zeros((), device=device, dtype=torch.int64)
                window_rows = done = 0
                permutation = torch.randperm(rows, generator=order).to(device)
                for batch in range(1, batches + 1):
                    chosen = permutation[(batch - 1) * settings.batch_size : batch * settings.batch_size]
                    optimizer.zero_grad(set_to_none=True)
                    with torch.autocast(device_type=device, dtype=torch.float16, enabled=amp):
                        logits = model(x_train[chosen])
                        loss = torch.nn.functional.cross_entropy(logits, y_train[chosen])
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                    window_loss += loss.detach().float() * len(chosen)
                    window_right += (logits.detach().argmax(dim=1) == y_train[chosen]).sum()
                    window_rows, done = window_rows + len(chosen), done + len(chosen)
                    if batch % every == 0 or batch == batches:
                        mean_loss = float(window_loss) / window_rows  # waits for the device
                        if not math.isfinite(mean_loss):
                            run.stopped = _diverged(mean_loss, epoch, settings)
                            break
                        record = BatchRecord(
                            epoch,
                            batch,
                            batches,
                            (epoch - 1) * batches + batch,
                            mean_loss,
                            int(window_right) / window_rows,
                            done / (time.perf_counter() - started - paused),
                        )
                        run.batches.append(record)
                        if on_batches is not None:
                            called = time.perf_counter()
                            on_batches(record)
                            paused += time.perf_counter() - called
                        window_loss.zero_()
                        window_right.zero_()
                        window_rows = 0
                    if should_stop is not None and should_stop():
                        run.stopped = f"Stopped by you in epoch {epoch}."
                        break
                synchronize()
                seconds = time.perf_counter() - started - paused
                usage = sampler.take()
                if run.stopped:
                    break
                train_loss, train_accuracy, _ = _evaluate(torch, model, x_train, y_train, 4096)
                test_loss, test_accuracy, run.probabilities = _evaluate(torch, model, x_test, y_test, 4096)
                record = EpochRecord(
                    epoch,
                    train_loss,
                    train_accuracy,
                    test_loss,
                    test_accuracy,
                    seconds,
                    rows / seconds,
                    usage.busy_percent,
                    usage.memory_mib,
                )
                run.history.append(record)
                if on_epoch is not None:
                    on_epoch(record)
        except torch.OutOfMemoryError:
            run.error = (
                f"The GPU ran out of memory with batches of {settings.batch_size:,}. Choose a smaller batch size "
                f"(e.g. {max(settings.batch_size // 4, 1):,}) or train on the CPU."
            )
            torch.cuda.empty_cache()
    run.usage_note = run.usage_note or sampler.failure
    run.model = model
    run.finished = True
    return run


def throughput(data: DlData, settings: TrainSettings, device: str, batch_sizes: list[int]) -> list[dict[str, Any]]:
    """Training samples per second and device use at each batch size on `device`: the second of two epochs (the
    first warms up).

    A batch size that fails (e.g. out of GPU memory) gives its message instead of a figure.
    """
    rows = []
    for size in batch_sizes:
        try:
            run = train(data, replace(settings, epochs=2, batch_size=size), device)
        except DataError as error:  # a batch size out of range for this data: said for that size only
            rows.append(
                {"device": device, "batch_size": size, "samples_per_s": None, "busy_percent": None, "error": str(error)}
            )
            continue
        timed = run.history[-1] if len(run.history) == 2 else None
        rows.append(
            {
                "device": device,
                "batch_size": size,
                "samples_per_s": timed.samples_per_s if timed else None,
                "busy_percent": timed.busy_percent if timed else None,
                "error": run.error or run.stopped,
            }
        )
    return rows
