"""`python -m pipeline.profile` as a user runs it: a real process, real files, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import psutil
import pytest

from tests.support import files
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT


def profile(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.profile", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_a_good_file_gives_json_and_a_standalone_html_report(tmp_path):
    table = tmp_path / "sales.csv"
    table.write_bytes(files.csv_bytes())
    out, report = tmp_path / "profile.json", tmp_path / "report.html"
    done = profile(str(table), "--engine", "cpu", "--out", str(out), "--html", str(report))
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["table"]["rows"] == 4 and result["engine"]["name"] == "cpu"
    assert [c["name"] for c in result["columns"]] == ["id", "price", "city", "ok"]
    assert result["seconds"]["total"] > 0
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 4
    assert "<script" not in page and "http://" not in page.split("<svg", 1)[0], "nothing to fetch"
    assert "wrote" in done.stderr


def test_what_the_reader_noticed_is_printed_and_kept(tmp_path):
    table = tmp_path / "weather.csv"
    table.write_text("date,ambiguous\n2012/01/01,01/02/2003\n2012/01/02,03/04/2003\n")
    done = profile(str(table), "--engine", "cpu", "--out", str(tmp_path / "p.json"))
    assert done.returncode == 0, done.stderr
    assert "note: Column 'date' holds dates written as year/month/day" in done.stderr
    assert "note: Column 'ambiguous' looks like dates" in done.stderr
    result = json.loads((tmp_path / "p.json").read_text())
    assert any("'ambiguous' looks like dates" in note for note in result["read_notes"])
    assert next(c for c in result["columns"] if c["name"] == "date")["kind"] == "datetime"


# `python -m pipeline.profile ARGS`, telling on stderr, each time a process is started, whether the command line's
# own modules had been imported by then (an audit hook sees every subprocess.Popen).
WATCHED_RUN = """
import runpy, sys
started = []
sys.addaudithook(lambda event, args: event == "subprocess.Popen" and started.append(
    ("reader" if "serve(" in " ".join(map(str, args[1])) else "other", "pipeline.profile.cli" in sys.modules)))
sys.argv[0] = "pipeline.profile"
try:
    runpy.run_module("pipeline.profile", run_name="__main__", alter_sys=True)
finally:
    print("STARTED", started, file=sys.stderr)
"""


def test_the_reader_process_starts_before_the_command_line_imports_its_modules(tmp_path):
    """Started first, the reader process imports its libraries while the command line imports its own, rather than
    after them at the first load; that one reader process then reads the file (started once)."""
    table = tmp_path / "sales.parquet"
    table.write_bytes(files.parquet_bytes())
    done = subprocess.run(
        [sys.executable, "-c", WATCHED_RUN, str(table), "--engine", "cpu", "--preset", "minimal"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["table"]["rows"] == 4
    started = done.stderr.split("STARTED ")[1].strip()
    assert started == "[('reader', False)]", done.stderr


def test_json_goes_to_standard_output_by_default(tmp_path):
    table = tmp_path / "t.parquet"
    table.write_bytes(files.parquet_bytes())
    done = profile(str(table), "--engine", "cpu", "--preset", "minimal")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["correlations"] == {} and result["table"]["duplicate_rows"] is None


@pytest.mark.parametrize(
    ("setup", "arguments", "message"),
    [
        (None, ["missing.csv"], "does not exist"),
        ("empty", ["{path}"], "is empty (0 bytes)"),
        ("junk", ["{path}"], "not a Parquet file"),
        ("csv", ["{path}", "--engine", "tpu"], "invalid choice: 'tpu'"),
        ("csv", ["{path}", "--out", "/no/such/folder/x.json"], "does not exist"),
        ("folder", ["{path}"], "is not a file"),
        ("header", ["{path}"], "no rows"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, setup, arguments, message):
    path = tmp_path / {"junk": "t.parquet", "folder": "sub"}.get(setup or "", "t.csv")
    if setup == "empty":
        path.write_bytes(b"")
    elif setup == "junk":
        path.write_bytes(b"\x00\x01binary junk" * 50)
    elif setup == "csv":
        path.write_bytes(files.csv_bytes())
    elif setup == "folder":
        path.mkdir()
    elif setup == "header":
        path.write_bytes(b"a,b\n")
    done = profile(*(a.format(path=path) for a in arguments))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_asking_for_the_gpu_without_one_says_why(tmp_path):
    from pipeline.engines import GPU, detect

    status = next(s for s in detect() if s.name == GPU)
    if status.available:
        pytest.skip("this machine has a GPU engine")
    table = tmp_path / "t.csv"
    table.write_bytes(files.csv_bytes())
    done = profile(str(table), "--engine", "gpu")
    assert done.returncode == 2 and status.reason in done.stderr


def test_a_folder_of_parquet_files_on_an_operators_dask_cluster_agrees_with_the_cpu_profile(tmp_path, operator_cluster):
    rng = np.random.default_rng(7)
    whole = pd.DataFrame(
        {
            "amount": rng.exponential(size=30_000),
            "shop": rng.choice(["north", "south", "east"], 30_000),
            "items": rng.integers(0, 50, 30_000),
        }
    )
    whole.loc[::9, "amount"] = np.nan
    folder = tmp_path / "sales"
    folder.mkdir()
    for number in range(3):
        whole.iloc[number * 10_000 : (number + 1) * 10_000].to_parquet(folder / f"part-{number}.parquet", index=False)
    whole.to_parquet(tmp_path / "whole.parquet", index=False)
    relative = os.path.relpath(folder, ROOT)  # from the command's working folder (Dask hands workers full paths)
    on_dask = profile(relative, "--engine", "dask-cpu", "--scheduler", operator_cluster.address, "--preset=minimal")
    assert on_dask.returncode == 0, on_dask.stderr
    on_cpu = profile(str(tmp_path / "whole.parquet"), "--engine", "cpu", "--preset", "minimal")
    assert on_cpu.returncode == 0, on_cpu.stderr
    dask, cpu = json.loads(on_dask.stdout), json.loads(on_cpu.stdout)
    assert dask["engine"]["name"] == "dask-cpu" and "read lazily by the Dask workers as 3 partitions" in on_dask.stderr
    assert dask["table"]["rows"] == cpu["table"]["rows"] == 30_000
    assert dask["table"]["missing_cells"] == cpu["table"]["missing_cells"]
    for left, right in zip(dask["columns"], cpu["columns"], strict=True):
        assert (left["name"], left["count"], left["missing"]) == (right["name"], right["count"], right["missing"])
        if left["kind"] == "numeric":
            for statistic in ("mean", "std", "min", "max"):
                assert left["stats"][statistic] == pytest.approx(right["stats"][statistic], rel=1e-9), statistic


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["{folder}", "--engine", "dask-cpu", "--scheduler", "10.0.0.5:8786"], "is not a scheduler address"),
        (["{folder}", "--engine", "dask-cpu", "--scheduler", "tcp://127.0.0.1:1"], "the connection was refused"),
        (["{folder}/*.json", "--engine", "dask-cpu", "--scheduler", "{scheduler}"], "No Parquet or CSV file matches"),
        (["{folder}/none", "--engine", "dask-cpu", "--scheduler", "{scheduler}"], "does not exist"),
        (["{folder}", "--engine", "cpu", "--scheduler", "tcp://127.0.0.1:1"], "are for --engine dask-cpu"),
        (["{folder}", "--engine", "cpu"], "read with --engine dask-cpu"),
    ],
)
def test_bad_dask_input_exits_2_with_one_line(tmp_path, operator_cluster, arguments, message):
    folder = tmp_path / "sales"
    folder.mkdir()
    (folder / "part-0.parquet").write_bytes(files.parquet_bytes())
    done = profile(*(a.format(folder=folder, scheduler=operator_cluster.address) for a in arguments))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and message in lines[0], done.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_profile_stopped_while_it_reads_ends_in_one_line_with_status_130(tmp_path, signum):
    """Stopped while the reader's worker (a grandchild process) decodes a spreadsheet: no traceback, no file."""
    table, out = tmp_path / "big.xlsx", tmp_path / "profile.json"
    pd.DataFrame({"id": range(40_000), "city": ["Paris", "Lyon"] * 20_000}).to_excel(table, index=False)
    run = subprocess.Popen(
        [sys.executable, "-m", "pipeline.profile", str(table), "--engine", "cpu", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        process, deadline = psutil.Process(run.pid), time.monotonic() + 60
        while run.poll() is None and time.monotonic() < deadline and len(process.children(recursive=True)) < 2:
            time.sleep(0.05)
        assert run.poll() is None, "still reading"
        run.send_signal(signum)
        _stdout, stderr = run.communicate(timeout=60)
    finally:
        run.kill()
        run.wait()
    assert run.returncode == 130, stderr
    assert (
        stderr.strip() == "interrupted: the profile was stopped; --out and --html are each written whole or not at all"
    )
    assert not out.exists()


@pytest.mark.parametrize("kind", ["link", "folder", "pipe"])
def test_an_output_that_is_not_a_plain_file_is_refused_before_the_profile_and_left_as_it_was(tmp_path, kind):
    table, target = tmp_path / "t.csv", tmp_path / "target.txt"
    table.write_text("a,b\n1,2\n3,4\n")
    target.write_text("keep me")
    out = tmp_path / "out.json"
    if kind == "link":
        out.symlink_to(target)
    elif kind == "folder":
        out.mkdir()
    else:
        os.mkfifo(out)
    done = profile(str(table), "--engine", "cpu", "--out", str(out))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: cannot write {out}: it is not a plain file (a folder, link, device or pipe); name a file"
    ]
    assert out.is_symlink() == (kind == "link") and out.is_dir() == (kind == "folder")
    assert target.read_text() == "keep me" and not list(tmp_path.glob(".*.partial"))


def test_a_delimiter_of_more_than_one_character_is_an_argument_error(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a;b\n1;2\n")
    done = profile(str(table), "--engine", "cpu", "--delimiter", ";;")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "a delimiter is one character" in done.stderr and len(done.stderr.strip().splitlines()) <= 2
    tab = tmp_path / "t.tsv"
    tab.write_text("a\tb\n1\t2\n")
    assert profile(str(tab), "--engine", "cpu", "--delimiter", "\\t").returncode == 0
