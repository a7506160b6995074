"""The stand-ins `make preflight` runs the gpu tier on refuse what cuDF and CuPy refuse, reorder what cuDF leaves
unordered and record the calls made. They run in a child process, so this process never sees a `cudf` module."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.paths import REPO_ROOT

STANDIN = REPO_ROOT / "tests" / "standin"

CHECKS = r"""
import json, sys
import numpy as np, pandas as pd, pyarrow as pa
import cudf, cupy
from standin_support import CALLS, REFUSED

def refused(action):
    try:
        action()
    except TypeError as error:
        return str(error)
    return None

columns = {"k": ["b", "a", "b", "c"], "v": [1, None, 3, 4], "f": [True, None, False, True], "x": [0.0, None, 1, 2]}
table = pa.table(columns)
frame = cudf.DataFrame.from_arrow(table)
series = frame["v"]
out = {
    "asarray": refused(lambda: np.asarray(series)),
    "iterate": refused(lambda: list(series)),
    "tolist": refused(lambda: series.tolist()),
    "device_asarray": refused(lambda: np.asarray(series.to_cupy(na_value=np.nan))),
    "explicit": cupy.asnumpy(series.to_cupy(dtype="float64", na_value=np.nan)).tolist(),
    "dtypes": [str(frame["v"].dtype), str(frame["f"].dtype), str(frame["x"].dtype)],
    "host_dtypes": [str(d) for d in frame.to_pandas().dtypes],
    "groupby": frame.groupby("k").v.sum().index.to_list(),
    "groupby_sorted": frame.groupby("k", sort=True).v.sum().index.to_list(),
    "unique": type(frame["k"].unique()).__name__,
    "merge": frame.merge(frame[["k"]].drop_duplicates(), on="k")["k"].to_pandas().to_list(),
    "values": type(frame["v"].values).__name__,
    "calls": sorted({name for (library, name, _) in CALLS if library == "cudf"}),
    "refused": dict(REFUSED),
}
print(json.dumps(out))
"""


def test_the_stand_ins_refuse_reorder_and_record():
    env = {"PYTHONPATH": str(STANDIN), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", CHECKS], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "Implicit conversion to a host NumPy array" in out["asarray"]
    assert "not iterable" in out["iterate"]
    assert "tolist" in out["tolist"]
    assert "Implicit conversion to a NumPy array" in out["device_asarray"]
    assert out["explicit"][0] == 1.0 and out["explicit"][2] == 3.0
    assert out["dtypes"] == ["Int64", "boolean", "Float64"]  # nulls kept apart, as cuDF keeps them
    assert out["host_dtypes"] == ["str", "float64", "object", "float64"]  # cuDF's to_pandas
    assert out["groupby"] == ["c", "b", "a"] and out["groupby_sorted"] == ["a", "b", "c"]
    assert out["unique"] == "Series"
    assert out["merge"] != ["b", "b", "a", "c"]  # not pandas' order
    assert out["values"] == "ndarray"
    assert {"DataFrame.groupby", "DataFrame.merge", "SeriesGroupBy.sum", "Series.to_cupy"} <= set(out["calls"])
    assert out["refused"] == {
        "cudf.Series.__array__": 1,
        "cudf.Series.__iter__": 1,
        "cudf.Series.tolist": 1,
        "cupy.ndarray.__array__": 1,
    }
