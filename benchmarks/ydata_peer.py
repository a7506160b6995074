"""Time ydata-profiling on one Parquet file; runs inside the peer's own virtual environment (pandas < 3).

    PEER_PYTHON benchmarks/ydata_peer.py TABLE.parquet --repeats 3
    PEER_PYTHON benchmarks/ydata_peer.py TABLE.parquet --whole

Prints one JSON line. By default: the first (cold) run on the first 10,000 rows as warm-up, then the timed runs
of `ProfileReport(minimal=True).get_description()` on the whole table (reading the file is not timed). With
--whole: one process, one profile, no warm-up (its imports, reading the file and `get_description()` once), to be
timed from outside as a whole process (`benchmarks.profile_process`); the line holds its versions and the seconds
`get_description()` took.
Imports nothing from this project: it cannot, pandas 3 is not installed there.
"""

import argparse
import json
import time
import warnings

import pandas as pd
from ydata_profiling import ProfileReport, __version__

VERSIONS = {"ydata_profiling": __version__, "pandas": pd.__version__}


def describe(frame: pd.DataFrame) -> float:
    start = time.perf_counter()
    ProfileReport(frame, minimal=True, progress_bar=False).get_description()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("table")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--whole", action="store_true", help="read and describe once, for a whole-process time")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    frame = pd.read_parquet(args.table)
    if args.whole:
        print(json.dumps({"describe_s": describe(frame), "versions": VERSIONS}))
        return
    warmup = describe(frame.head(10_000))
    runs = [describe(frame) for _ in range(args.repeats)]
    print(json.dumps({"warmup_s": warmup, "runs_s": runs, "versions": VERSIONS}))


if __name__ == "__main__":
    main()
