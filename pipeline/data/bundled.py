"""Bundled datasets: tables that come with scikit-learn (installed, nothing downloaded).

scikit-learn is imported when a bundled table is loaded, not with this module: every page lists the tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.errors import DataError

BUNDLED: dict[str, tuple[str, str]] = {  # name → (description, its loader in sklearn.datasets)
    "iris": ("Iris flowers: 150 rows, 4 measurements, 3 species (classification)", "load_iris"),
    "wine": ("Wine recognition: 178 rows, 13 chemical features, 3 cultivars (classification)", "load_wine"),
    "breast_cancer": (
        "Breast cancer Wisconsin: 569 rows, 30 features, benign/malignant (classification)",
        "load_breast_cancer",
    ),
    "digits": ("Handwritten digits: 1,797 rows, 64 pixel columns, 10 classes (classification)", "load_digits"),
    "diabetes": ("Diabetes progression: 442 rows, 10 features (regression)", "load_diabetes"),
    "linnerud": ("Linnerud exercise: 20 rows, 3 exercises and 3 body measurements", "load_linnerud"),
}
SAMPLE_DATASET = "iris"


def bundled_frame(name: str) -> pd.DataFrame:
    """A bundled dataset as one pandas frame, features and target(s) together."""
    if name not in BUNDLED:
        raise DataError(f"No bundled dataset called {name!r}: choose one of {', '.join(BUNDLED)}.")
    from sklearn import datasets

    bunch = getattr(datasets, BUNDLED[name][1])(as_frame=True)
    frame = bunch.frame.copy()
    names = getattr(bunch, "target_names", None)
    if "target" in frame.columns and names is not None and len(names) == frame["target"].nunique():
        frame["target"] = pd.Series(np.asarray(names)[frame["target"].to_numpy()], dtype="str")
    return frame
