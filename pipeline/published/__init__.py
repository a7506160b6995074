"""Published CPU-vs-GPU figures from other people's hardware, shipped with the app and kept apart from measurements.

Each JSON file in this folder holds one source (title, address, date, hardware, software, method) and the
speed-ups it publishes, each for a kind of work (`WORKS`) and the table size it was measured at. A machine without
a GPU can only estimate what a GPU would do for its own work from these figures and the fixed cost of a GPU call
(`size_model`): everything built here says "published" or "estimate", never "measured".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.errors import DataError

FOLDER = Path(__file__).parent
WORKS = (
    "group-by",
    "join",
    "concatenate",
    "value counts",
    "text operations",
    "random forest",
    "k-means",
    "linear models",
    "nearest neighbours",
    "PCA",
    "HDBSCAN, t-SNE, UMAP",
)
# The work of a Pipeline step kind or a model algorithm, where a published figure covers something like it.
WORK_OF = {
    "group_aggregate": "group-by",
    "join": "join",
    "string": "text operations",
    "logistic_regression": "linear models",
    "linear_regression": "linear models",
    "ridge": "linear models",
    "lasso": "linear models",
    "elastic_net": "linear models",
    "random_forest_classifier": "random forest",
    "random_forest_regressor": "random forest",
    "knn_classifier": "nearest neighbours",
    "knn_regressor": "nearest neighbours",
    "kmeans": "k-means",
    "hdbscan": "HDBSCAN, t-SNE, UMAP",
    "tsne": "HDBSCAN, t-SNE, UMAP",
    "umap": "HDBSCAN, t-SNE, UMAP",
    "pca": "PCA",
}
# The work of a Benchmark suite, where a published figure covers something like it.
SUITE_WORK = {"groupby": "group-by", "join": "join"}
SOURCE_FIELDS = ("title", "publisher", "url", "date", "hardware", "software", "method")
COLUMNS = [
    "work",
    "operation",
    "rows",
    "speedup_low",
    "speedup_high",
    "source",
    "url",
    "gpu",
    "cpu",
    "software",
    "date",
]
ESTIMATE_NOTE = (
    "Estimate from figures published for someone else's hardware (not measured on this machine): a fixed GPU cost "
    "per call, timed by sources on small tables, plus the CPU time measured here divided by the published speed-up "
    "of similar work, which was measured on large tables."
)


@dataclass(frozen=True)
class Source:
    """One publication's figures, as its file gives them."""

    name: str
    about: dict
    figures: pd.DataFrame


def _checked(name: str, text: str) -> Source:
    data = json.loads(text)
    about = data.get("source", {})
    missing = [key for key in SOURCE_FIELDS if not about.get(key)]
    missing += [f"hardware.{part}" for part in ("gpu", "cpu") if not about.get("hardware", {}).get(part)]
    if missing:
        raise DataError(f"Published figures {name} lack {', '.join(missing)}.")
    rows = []
    for figure in data.get("figures", []):
        if figure.get("work") not in WORKS:
            raise DataError(f"Published figures {name}: unknown work {figure.get('work')!r}; known: {WORKS}.")
        low = figure.get("speedup_low", figure.get("speedup"))
        high = figure.get("speedup_high", figure.get("speedup"))
        if not (isinstance(low, int | float) and isinstance(high, int | float) and 0 < low <= high):
            raise DataError(f"Published figures {name}: {figure.get('operation')!r} has no valid speed-up.")
        rows.append(
            {
                "work": figure["work"],
                "operation": figure.get("operation", ""),
                "rows": figure.get("rows"),
                "speedup_low": float(low),
                "speedup_high": float(high),
                "source": about["title"],
                "url": about["url"],
                "gpu": about["hardware"]["gpu"],
                "cpu": about["hardware"]["cpu"],
                "software": about["software"],
                "date": about["date"],
            }
        )
    if not rows:
        raise DataError(f"Published figures {name} hold no figure.")
    return Source(name, about, pd.DataFrame(rows, columns=COLUMNS))


def sources() -> list[Source]:
    """Every source shipped in this folder, checked."""
    return [_checked(path.name, path.read_text(encoding="utf-8")) for path in sorted(FOLDER.glob("*.json"))]


def published_figures() -> pd.DataFrame:
    """Every shipped figure, one row each, with its source, hardware and date."""
    return pd.concat([source.figures for source in sources()], ignore_index=True)


def work_of(kind: str) -> str | None:
    """The published work like a step kind or algorithm name, or None where nothing published is alike."""
    return WORK_OF.get(kind)


def speedup_range(figures: pd.DataFrame, work: str) -> tuple[float, float] | None:
    """The lowest and highest published speed-up for a kind of work, or None where none is published."""
    alike = figures[figures["work"] == work]
    if alike.empty:
        return None
    return float(alike["speedup_low"].min()), float(alike["speedup_high"].max())


def published_span(low: float, high: float) -> str:
    """A published speed-up, or range of them, as text: `138.5×`, `15×–80×`."""
    return f"{low:,.4g}×" if low == high else f"{low:,.4g}×–{high:,.4g}×"
