"""A seeded sample of the readers' fuzzing run (`python -m benchmarks.fuzz_readers`): two files of every generator
through the real upload path, in a worker process under a watchdog, as the full run loads them. None may crash
the worker, raise anything but a DataError, time out, or be refused with a message that names no problem."""

from __future__ import annotations

import time

import pytest

from benchmarks.fuzz_files import MAX_FILE_BYTES, NAMES, make_file
from benchmarks.fuzz_readers import classify, run_files

SEED = 1  # the full run uses seed 0: the sample covers other files
SAMPLE = range(2 * len(NAMES))  # indices pick generators round robin: two files of each


@pytest.fixture(scope="module")
def sample() -> dict[str, list[dict]]:
    records: dict[str, list[dict]] = {name: [] for name in NAMES}
    for record in run_files((make_file(SEED, index) for index in SAMPLE), batch=len(SAMPLE), timeout_s=60):
        records[record["generator"]].append(record)
    return records


def _described(record: dict) -> str:
    return (
        f"file {record['index']} of seed {record['seed']} ({record['generator']}: {record['what']}, "
        f"mutated {record['mutated']}): {record['outcome']} {record['why']} {record.get('message', '')[:600]}"
    )


@pytest.mark.parametrize("generator", NAMES)
def test_every_fuzzed_file_loads_or_is_refused_with_a_specific_message(sample, generator):
    records = sample[generator]
    assert len(records) == 2
    wrong = [record for record in records if record["outcome"] not in ("loaded", "refused", "refused_at_limit")]
    assert not wrong, "\n".join(map(_described, wrong))
    mismatched = [record for record in records if record["mismatch"]]
    assert not mismatched, "\n".join(f"{_described(r)}: {r['mismatch']}" for r in mismatched)


def test_the_same_seed_makes_the_same_files():
    first = [make_file(SEED, index) for index in SAMPLE]
    time.sleep(2.1)  # zip archives date their members to 2 seconds: a clock read would show
    again = [make_file(SEED, index) for index in SAMPLE]
    assert [file.data for file in first] == [file.data for file in again]
    assert max(len(file.data) for file in first) <= MAX_FILE_BYTES


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("x.csv could not be read: the reader failed on it (exit 1). It was read…", "refused_generic"),
        ("x.arrow could not be read: the reader stopped on it (SIGSEGV): the file…", "refused_generic"),
        ("Could not read x.xlsx: It is not a readable Excel workbook (MemoryError: ). Save it…", "refused_generic"),
        ("Could not read x.csv: ", "refused_generic"),
        ("x.parquet is too large once decoded: reading it passed the limit of 1,024 MiB…", "refused_at_limit"),
        ("x.csv has 30,000 columns; this app takes at most 10,000. Keep the columns you need…", "refused"),
    ],
)
def test_refusals_that_name_no_problem_are_told_apart(message, category):
    assert classify("refused", message)[0] == category
