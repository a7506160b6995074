"""The whole-process profile benchmark (`python -m benchmarks.profile_process`): real child processes taking turns,
how each ended, their peak memory, and the ratios of a small real run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from benchmarks.profile_process import OURS, PEER, ROOT, Program, race, run, run_process, summary
from pipeline.system import git_commit

MIB = 2**20


def python(code: str, label: str = "", memory_bytes: int | None = None) -> Program:
    return Program(label, (sys.executable, "-c", code), ROOT, "full", memory_bytes)


def test_programs_take_turns_after_a_warm_up_and_stop_at_their_first_bad_end(tmp_path: Path) -> None:
    log = tmp_path / "order.txt"

    def signing(letter: str, then: str, memory_bytes: int | None = None) -> Program:
        return python(f"open({str(log)!r}, 'a').write({letter!r}); {then}", letter, memory_bytes)

    line_up = [
        signing("A", "pass"),
        signing("B", "bytearray(2**31)", memory_bytes=512 * MIB),
        signing("C", "import time; time.sleep(30)"),
        signing("D", "raise SystemExit('no table here')"),
    ]
    runs = race(line_up, repeats=2, limit_s=1, work=tmp_path)

    assert log.read_text() == "ABCD" + "A" + "A"
    assert [run.outcome for run in runs["A"]] == ["ok"] * 3
    assert runs["B"][0].outcome == "out of memory"
    assert runs["C"][0].outcome == "time limit" and 1 <= runs["C"][0].seconds < 10
    assert runs["D"][0].outcome == "failed: no table here"
    assert summary(runs["C"])["outcome"].startswith("time limit after 1.")
    assert summary(runs["C"])["median_s"] is None
    assert summary(runs["A"])["runs_s"] == [round(run.seconds, 4) for run in runs["A"][1:]]


def test_peak_memory_of_the_largest_process_and_of_the_whole_tree(tmp_path: Path) -> None:
    holding = "import time; b = b'x' * (200 << 20); time.sleep(1)"
    parent = (
        "import subprocess, sys, time; b = b'x' * (200 << 20); "
        f"subprocess.run([sys.executable, '-c', {holding!r}], check=True)"
    )
    ended = run_process(python(parent), limit_s=30, work=tmp_path)

    assert ended.outcome == "ok"
    assert 200 * MIB < ended.peak_bytes < 350 * MIB  # the larger of the two, not their sum
    assert ended.tree_peak_bytes > 400 * MIB  # both at once


def test_a_small_real_run_against_this_checkout_and_a_stand_in_peer(tmp_path: Path) -> None:
    said = {"describe_s": 0.01, "versions": {"ydata_profiling": "stand-in"}}
    peer = [sys.executable, "-c", f"print({json.dumps(said)!r})"]
    report = run([1000], 1, ["full"], [ROOT], peer, None, 120, tmp_path)

    rows = {row["program"]: row for row in report["results"]}
    commit = git_commit(ROOT)
    ours, checkout = rows[f"{OURS} full (this tree)"], rows[f"{OURS} full ({commit})"]
    assert [row["outcome"] for row in rows.values()] == ["ok"] * 3
    assert json.loads((tmp_path / "GPU_Pipeline_Lab_full_this_tree.json").read_text())["table"]["rows"] == 1000
    assert report["peer"]["versions"] == {"ydata_profiling": "stand-in"}
    assert report["against"] == [{"path": str(ROOT), "commit": commit}]
    assert ours["ydata_minimal_over_this"] == round(rows[PEER]["median_s"] / ours["median_s"], 2)
    assert ours[f"{commit}_over_this"] == round(checkout["median_s"] / ours["median_s"], 2)
    assert rows[PEER]["ydata_minimal_over_this"] == 1.0 and rows[PEER][f"{commit}_over_this"] is None
    assert ours["peak_rss_mib"] > 50  # pandas and pyarrow imported
    assert {"read", "table", "columns", "total"} <= ours["phases_last_run_s"].keys()
    assert rows[PEER]["phases_last_run_s"] == {"get_description": 0.01}


def test_a_small_program_started_from_a_large_process_has_its_own_peak(tmp_path: Path) -> None:
    held = b"x" * (600 * MIB)  # this process is large when it starts the program: its peak must not count
    ended = run_process(python("import time; b = b'x' * (50 << 20); time.sleep(0.3)"), limit_s=30, work=tmp_path)

    assert len(held) == 600 * MIB and ended.outcome == "ok"
    assert 50 * MIB < ended.peak_bytes < 150 * MIB
    assert 50 * MIB < ended.tree_peak_bytes < 150 * MIB


def test_a_program_ends_with_the_benchmark_when_the_benchmark_is_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "program.pid"
    program = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    benchmark = (
        "import sys; from pathlib import Path; from benchmarks.profile_process import Program, ROOT, run_process; "
        f"run_process(Program('', (sys.executable, '-c', {program!r}), ROOT, 'full'), 60, Path({str(tmp_path)!r}))"
    )
    runner = subprocess.Popen([sys.executable, "-c", benchmark], cwd=ROOT)
    deadline = time.monotonic() + 20
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    program = psutil.Process(int(pid_file.read_text()))
    try:
        runner.send_signal(signal.SIGINT)
        assert runner.wait(timeout=20) != 0
        assert not program.is_running() or program.status() == psutil.STATUS_ZOMBIE
    finally:  # what a failure here would leave running
        runner.kill()
        if program.is_running():
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(program.pid), signal.SIGKILL)
