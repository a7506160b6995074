"""Damaged files of every format, made by mutating valid ones, never crash the process or raise anything but a
DataError. Each format runs in a child process, so a crash fails the test instead of the test run."""

from __future__ import annotations

import json

import pytest

from tests.support.child import run_child

FUZZ = """
    import io, json, random
    import pandas as pd
    import pyarrow as pa
    import pyarrow.feather as feather
    from pipeline.engines import get_engine
    from pipeline.errors import DataError
    from pipeline.data.io import Source, prepare, read_on_engine

    rows = range(40)
    frame = pd.DataFrame({{"id": rows, "x": [i / 3 for i in rows], "s": [f"v{{i}}" * (i % 4) for i in rows],
                          "l": [[i, i + 1] for i in rows], "st": [{{"a": i, "b": str(i)}} for i in rows]}})
    flat = frame[["id", "x", "s"]]
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fmt = "{fmt}"
    if fmt == "csv":
        base, name = flat.to_csv(index=False).encode(), "f.csv"
    elif fmt == "parquet":
        buffer = io.BytesIO(); frame.to_parquet(buffer); base, name = buffer.getvalue(), "f.parquet"
    elif fmt == "feather":
        sink = pa.BufferOutputStream(); feather.write_feather(table, sink, compression="zstd")
        base, name = sink.getvalue().to_pybytes(), "f.arrow"
    elif fmt == "stream":
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        base, name = sink.getvalue().to_pybytes(), "f.arrow"
    elif fmt == "jsonl":
        base, name = frame.to_json(orient="records", lines=True).encode(), "f.jsonl"
    else:
        buffer = io.BytesIO(); flat.to_excel(buffer, index=False); base, name = buffer.getvalue(), "f.xlsx"
    rng = random.Random({seed})
    outcomes = {{}}
    for _ in range({count}):
        data = bytearray(base)
        for _ in range(rng.choice([1, 1, 2, 4, 16])):
            at = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.6:
                data[at] = rng.randrange(256)
            elif roll < 0.8:
                del data[at : at + rng.randrange(1, 64)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        try:
            read_on_engine(prepare(Source.from_bytes(name, bytes(data))), get_engine("cpu"))
            outcome = "loaded"
        except DataError:
            outcome = "refused"
        except Exception as error:
            outcome = f"{{type(error).__name__}}: {{error}}"[:200]
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    print(json.dumps(outcomes))
"""


@pytest.mark.parametrize(
    ("fmt", "count"), [("csv", 150), ("jsonl", 150), ("xlsx", 40), ("parquet", 20), ("feather", 20), ("stream", 20)]
)
def test_mutated_files_are_loaded_or_refused_with_a_message_and_never_crash(fmt, count):
    done = run_child(FUZZ.format(fmt=fmt, seed=7, count=count), timeout=600)
    assert done.returncode == 0, f"the process died ({done.returncode}): {done.stderr[-2000:]}"
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(outcomes) <= {"loaded", "refused"}, outcomes
    assert outcomes.get("refused", 0) > 0, "the mutations damage files"
