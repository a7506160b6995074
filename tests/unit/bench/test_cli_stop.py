"""`python -m pipeline.bench` stopped part-way, as a user or a job scheduler stops it: a real process sent Ctrl-C
(SIGINT) or SIGTERM keeps the records it finished, prints no traceback and ends with one line and status 130."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.bench.results import OK
from tests.support.paths import REPO_ROOT


def _records(path: Path) -> list[dict]:
    """The records in the results file as it is now (none before it is first written)."""
    return json.loads(path.read_text())["records"] if path.exists() else []


@pytest.mark.parametrize(
    ("signum", "engines"),
    [(signal.SIGINT, "cpu,dask-cpu"), (signal.SIGTERM, "cpu")],
    ids=["ctrl-c while dask computes", "sigterm"],
)
def test_a_stopped_run_keeps_the_records_it_finished_and_ends_in_one_line(tmp_path, signum, engines):
    """With Dask, the signal comes while the cluster answers q1 (pandas answered it first): its work is cancelled and
    the cluster shut down quietly."""
    out, csv = tmp_path / "results.json", tmp_path / "results.csv"
    command = [sys.executable, "-m", "pipeline.bench", "--suite", "groupby", "--engines", engines, "--sizes", "1e6"]
    command += ["--repeat", "30", "--dask-workers", "1", "--dask-memory", "1GiB", "--out", str(out), "--csv", str(csv)]
    run = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 40
        while not _records(out) and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.1)
        assert _records(out), "each record is written as it finishes"
        run.send_signal(signum)
        stdout, stderr = run.communicate(timeout=60)
    finally:
        run.kill()
        run.wait()
    assert run.returncode == 130, stderr[-3000:]
    assert "KeyboardInterrupt" not in stderr and f'File "{REPO_ROOT / "pipeline"}' not in stderr, stderr[-3000:]
    if "dask" not in engines:  # a Dask worker closed mid-task may log its own shutdown race (a heartbeat cut short)
        assert "Traceback" not in stderr, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    said = re.fullmatch(r"interrupted: (\d+) records? finished, written to (.+) and (.+)", last)
    assert said and said.group(2, 3) == (str(out), str(csv)), last
    records = _records(out)
    assert len(records) == int(said[1]) >= 1 and {r["status"] for r in records} == {OK}
    assert records[0]["question"] == "q1" and records[0]["median_s"] > 0
    assert csv.read_text().count("\n") == len(records) + 1
    assert "| groupby | q1 | 1,000,000 |" in stdout, "the table of what finished"
