"""Bundled datasets: tables that come with scikit-learn (installed, nothing downloaded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets as sk_datasets

from pipeline.errors import DataError

BUNDLED: dict[str, tuple[str, Callable[..., Any]]] = {
    "iris": ("Iris flowers: 150 rows, 4 measurements, 3 species (classification)", sk_datasets.load_iris),
    "wine": ("Wine recognition: 178 rows, 13 chemical features, 3 cultivars (classification)", sk_datasets.load_wine),
    "breast_cancer": (
        "Breast cancer Wisconsin: 569 rows, 30 features, benign/malignant (classification)",
        sk_datasets.load_breast_cancer,
    ),
    "digits": (
        "Handwritten digits: 1,797 rows, 64 pixel columns, 10 classes (classification)",
        sk_datasets.load_digits,
    ),
    "diabetes": ("Diabetes progression: 442 rows, 10 features (regression)", sk_datasets.load_diabetes),
    "linnerud": ("Linnerud exercise: 20 rows, 3 exercises and 3 body measurements", sk_datasets.load_linnerud),
}
SAMPLE_DATASET = "iris"


def bundled_frame(name: str) -> pd.DataFrame:
    """A bundled dataset as one pandas frame, features and target(s) together."""
    if name not in BUNDLED:
        raise DataError(f"No bundled dataset called {name!r}: choose one of {', '.join(BUNDLED)}.")
    bunch = BUNDLED[name][1](as_frame=True)
    frame = bunch.frame.copy()
    names = getattr(bunch, "target_names", None)
    if "target" in frame.columns and names is not None and len(names) == frame["target"].nunique():
        frame["target"] = pd.Series(np.asarray(names)[frame["target"].to_numpy()], dtype="str")
    return frame
