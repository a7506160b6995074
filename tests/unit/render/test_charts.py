"""Chart builders: small data only (never more than 5,000 rows to the browser), and images that render."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.profile import MAX_MATRIX_COLUMNS, profile_frame
from pipeline.profile.interactions import binned_pairs, sample_rows
from pipeline.render.charts import (
    MAX_CHART_ROWS,
    chart_image,
    histogram_chart,
    matrix_chart,
    missing_chart,
    pair_heatmap,
    scatter_chart,
    small,
    top_values_chart,
)


def chart_rows(chart) -> int:
    """Rows of data the chart's spec carries (what a browser would receive)."""
    spec = chart.to_dict()
    inline = len(spec.get("data", {}).get("values", []))
    return inline + sum(len(rows) for rows in spec.get("datasets", {}).values())


def test_builders_refuse_more_than_the_cap():
    big = pd.DataFrame(
        {"start": np.arange(MAX_CHART_ROWS + 1.0), "end": np.arange(1.0, MAX_CHART_ROWS + 2), "count": 1}
    )
    assert small(big.head(MAX_CHART_ROWS)) is not None
    with pytest.raises(ValueError, match="aggregate first"):
        histogram_chart(big, "x")


def test_charts_of_a_wide_and_long_table_stay_small(cpu):
    rng = np.random.default_rng(0)
    rows = 200_000
    frame = pd.DataFrame({f"n{i}": rng.normal(size=rows) for i in range(80)})
    frame["key"] = pd.Series([f"k{i}" for i in range(rows)], dtype="str")
    frame.loc[::7, "n1"] = np.nan
    profile = profile_frame(cpu, frame)
    matrix = profile.correlations["pearson"]
    assert len(matrix) == MAX_MATRIX_COLUMNS
    charts = [
        histogram_chart(profile.column("n0").histogram, "n0"),
        top_values_chart(profile.column("key").top_values, "key"),
        matrix_chart(matrix, "r", diverging=True),
        missing_chart(pd.DataFrame({"column": ["n1"], "missing share": [1 / 7], "missing": [rows // 7]})),
        pair_heatmap(binned_pairs(cpu, frame, "n0", "key"), "n0", "key"),
        scatter_chart(sample_rows(cpu, frame, ["n0", "n2", "key"]), "n0", "n2", "key"),
    ]
    for chart in charts:
        assert 0 < chart_rows(chart) <= MAX_CHART_ROWS


@pytest.mark.parametrize(("fmt", "magic"), [("png", b"\x89PNG"), ("svg", b"<svg")])
def test_charts_render_to_images(fmt, magic):
    bins = pd.DataFrame({"start": [0.0, 1.0], "end": [1.0, 2.0], "count": [3, 4]})
    assert chart_image(histogram_chart(bins, "x", brush="b"), fmt).startswith(magic)
    with pytest.raises(ValueError, match="Unknown image format"):
        chart_image(histogram_chart(bins, "x"), "gif")


def test_the_missing_share_chart_fits_its_largest_share_and_names_every_column():
    """Six columns missing up to 15 %: the axis ends near 15 %, not at 100 %, and every bar keeps its label."""
    shares = [0.15, 0.12, 0.08, 0.05, 0.02, 0.01]
    names = [f"a rather long column name {i}" for i in range(6)]
    frame = pd.DataFrame({"column": names, "missing share": shares, "missing": [int(s * 1000) for s in shares]})
    spec = missing_chart(frame).to_dict()
    scale = spec["encoding"]["x"].get("scale", {})
    assert "domain" not in scale or max(scale["domain"]) < 0.5, scale
    axis = spec["encoding"]["y"]["axis"]
    assert axis["labelOverlap"] is False and axis["labelLimit"] == 0, "no label dropped or cut"


def test_engine_legends_list_only_the_engines_that_ran():
    from pipeline.render.charts import cumulative_time_chart, memory_chart, step_time_chart

    timings = pd.DataFrame({"step": ["1. sort"], "number": [1], "engine": ["CPU (pandas)"], "seconds": [0.1]})
    memory = pd.DataFrame({"engine": ["CPU (pandas)"], "bytes": [100]})
    for chart in (step_time_chart(timings), cumulative_time_chart(timings), memory_chart(memory)):
        assert chart.to_dict()["encoding"]["color"]["scale"]["domain"] == ["CPU (pandas)"]


def test_step_numbers_stand_upright_and_benchmark_legends_are_not_cut():
    from pipeline.render.charts import cumulative_time_chart, time_vs_rows_chart

    timings = pd.DataFrame(
        {"step": ["1. a", "2. b"], "number": [1, 2], "engine": ["CPU (pandas)"] * 2, "seconds": [1, 2]}
    )
    assert cumulative_time_chart(timings).to_dict()["encoding"]["x"]["axis"]["labelAngle"] == 0
    from pipeline.render.charts import speedup_chart, step_time_chart

    speedups = timings.rename(columns={"seconds": "speedup"})
    for spec in (step_time_chart(timings).to_dict(), speedup_chart(speedups).to_dict()["layer"][0]):
        assert spec["encoding"]["y"]["axis"]["labelLimit"] >= 240, "a step's name is not cut to 'Fill missing val…'"
    series = "bench_cpu.json · CPU (pandas) on a long machine name"
    scaling = pd.DataFrame({"series": [series] * 2, "rows": [1_000, 10_000], "seconds": [0.1, 1.0]})
    assert time_vs_rows_chart(scaling, "t").to_dict()["encoding"]["color"]["legend"]["labelLimit"] == 0


def test_training_curves_do_not_start_at_zero():
    from pipeline.render.charts import training_curves_chart

    curves = pd.DataFrame({"run": "CPU", "epoch": [1, 2], "set": "test", "kind": "loss", "value": [0.30, 0.05]})
    assert training_curves_chart(curves).to_dict()["spec"]["encoding"]["y"]["scale"]["zero"] is False


def test_training_curves_have_one_legend_entry_per_run():
    """The line style (test, train, device) is told in words beside the chart; a second legend of identical dots
    listed it again beside the runs."""
    from pipeline.render.charts import training_curves_chart

    rows = [
        {"run": run, "epoch": epoch, "set": kind_set, "kind": kind, "value": 1.0}
        for run in ("CPU (PyTorch)", "GPU (PyTorch CUDA)")
        for epoch in (1, 2)
        for kind_set, kind in (("train", "loss"), ("test", "loss"), ("device", "samples/s"))
    ]
    encoding = training_curves_chart(pd.DataFrame(rows)).to_dict()["spec"]["encoding"]
    assert encoding["color"]["field"] == "run" and encoding["color"].get("legend") is not None
    assert encoding["strokeDash"]["legend"] is None


def test_predicted_against_actual_draws_the_line_where_they_are_equal():
    from pipeline.render.charts import predicted_chart

    points = pd.DataFrame({"actual": [3.0, 10.0, 7.5, np.nan], "predicted": [4.0, 9.0, 12.0, 5.0]})
    spec = predicted_chart(points).to_dict()
    line = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert line["mark"]["strokeDash"] and line["encoding"]["x"]["field"] == "actual"
    ends = spec["datasets"][line["data"]["name"]]
    assert [(row["actual"], row["predicted"]) for row in ends] == [(3.0, 3.0), (12.0, 12.0)], "over both ranges"


def test_a_confusion_matrix_names_its_axes_and_dark_cells_get_white_numbers():
    matrix = pd.DataFrame([[50, 2], [3, 45]], index=["a", "b"], columns=["a", "b"])
    spec = matrix_chart(matrix, "rows", labels=True, titles=("predicted class", "actual class")).to_dict()
    heat, text = spec["layer"]
    axes = heat["encoding"]
    assert axes["x"]["title"] == "predicted class" and axes["y"]["title"] == "actual class"
    colour = text["encoding"]["color"]
    assert colour["value"] == "black" and colour["condition"]["value"] == "white", colour


def test_short_times_read_in_milliseconds_and_counts_in_whole_numbers():
    from pipeline.render.charts import cumulative_time_chart, kinds_chart, step_time_chart

    fast = pd.DataFrame(
        {"step": ["1. a", "2. b"], "number": [1, 2], "engine": ["CPU (pandas)"] * 2, "seconds": [0.006, 0.002]}
    )
    bars = step_time_chart(fast).to_dict()
    assert bars["encoding"]["x"]["title"] == "milliseconds"
    assert [row["time"] for row in bars["datasets"][bars["data"]["name"]]] == pytest.approx([6.0, 2.0])
    assert cumulative_time_chart(fast).to_dict()["encoding"]["y"]["title"] == "milliseconds so far"
    slow = fast.assign(seconds=[3.0, 1.0])
    assert step_time_chart(slow).to_dict()["encoding"]["x"]["title"] == "seconds"
    axis = kinds_chart({"numeric": 4, "text": 1}).to_dict()["encoding"]["x"]["axis"]
    assert axis["tickMinStep"] == 1 and axis["format"] == "d"


def test_heatmaps_keep_their_rows_and_confusion_labels_stand_level():
    from pipeline.render.charts import matrix_chart, matrix_height

    names = ["setosa", "versicolor", "virginica"]
    matrix = pd.DataFrame([[10, 0, 0], [0, 7, 3], [0, 0, 5]], index=names, columns=names)
    spec = matrix_chart(matrix, "rows", labels=True).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["axis"]["labelAngle"] == 0
    assert matrix_height(3) >= 240 and matrix_height(60) == 1000 and matrix_height(20) > matrix_height(10)
    shares = matrix_chart(matrix / 10, "share", labels=True).to_dict()
    assert shares["layer"][1]["encoding"]["text"]["format"] == ".0%"


def test_the_published_chart_draws_bars_from_1x_with_no_missing_value_in_its_data():
    import json

    from pipeline.published import published_figures
    from pipeline.render.charts import published_speedup_chart

    def refuse(constant):
        raise ValueError(f"{constant} in the chart's data: the browser draws nothing")

    spec = json.loads(published_speedup_chart(published_figures()).to_json(), parse_constant=refuse)
    bars = spec["layer"][0]["encoding"]
    assert bars["x"]["field"] == "one" and bars["x"]["scale"]["type"] == "log" and bars["x2"]["field"] == "speedup_low"


def test_clusters_are_coloured_from_a_scheme_whose_colours_differ():
    from pipeline.render.charts import scatter_chart

    points = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [1.0, 0.0, 2.0], "cluster": ["0", "1", "2"]})
    assert scatter_chart(points, "x", "y", "cluster").to_dict()["encoding"]["color"]["scale"]["scheme"] == "tableau10"
    many = pd.DataFrame({"x": range(12), "y": range(12), "cluster": [str(i) for i in range(12)]})
    assert scatter_chart(many, "x", "y", "cluster").to_dict()["encoding"]["color"]["scale"]["scheme"] == "tableau20"


def test_the_scaling_chart_draws_the_gpu_estimate_dashed_in_its_band_beside_the_measured_cpu():
    from pipeline.render.charts import time_vs_rows_chart

    cpu = pd.DataFrame({"series": ["CPU (pandas)"] * 2, "rows": [1e4, 1e5], "seconds": [0.01, 0.1]})
    estimate = pd.DataFrame(
        {"series": ["GPU (estimate)"] * 2, "rows": [1e4, 1e5], "fastest": [0.001, 0.002], "slowest": [0.006, 0.007]}
    ).assign(middle=lambda f: (f["fastest"] * f["slowest"]) ** 0.5)
    spec = time_vs_rows_chart(cpu, "groupby", estimate).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["line", "area", "rule", "line"], "measured line, band, range, dashed middle"
    assert spec["layer"][3]["mark"]["strokeDash"] == [6, 4] and spec["layer"][1]["encoding"]["y2"]["field"] == "slowest"
    assert "layer" not in time_vs_rows_chart(cpu, "groupby").to_dict(), "without an estimate: the measured lines alone"


def test_the_scaling_chart_of_a_real_cpu_only_run_is_tall_with_a_short_axis_title_and_positive_log_values():
    """A groupby+join run on the CPU alone, with its estimated GPU curve: the browser drew it as a 20 px strip with
    the long y title cut at both ends; the plot keeps its height, titles stay short and a log axis gets no zero."""
    from pipeline.bench.harness import BenchSettings, run_bench
    from pipeline.bench.views import TOTAL, estimated_gpu_curves, records_table, scaling
    from pipeline.engines import CPU
    from pipeline.published import SUITE_WORK, published_figures
    from pipeline.published.size_model import fixed_cost_measurements
    from pipeline.render.charts import time_vs_rows_chart

    table = records_table({"here": run_bench(BenchSettings(("groupby", "join"), (CPU,), (2_000,), repeats=1))})
    curve = scaling(table, "groupby", TOTAL)
    estimate = estimated_gpu_curves(curve, table, SUITE_WORK["groupby"], published_figures(), fixed_cost_measurements())
    assert not estimate.empty
    zero = pd.DataFrame({"series": ["CPU (pandas)"], "rows": [1_000], "seconds": [0.0]})  # too quick to time
    spec = time_vs_rows_chart(pd.concat([curve, zero]), "groupby", estimate).to_dict()
    assert isinstance(spec["height"], int) and spec["height"] >= 300
    layers = spec["layer"]
    for layer in layers:
        for channel in ("x", "y"):
            assert len(layer["encoding"][channel]["title"]) < 40, layer["encoding"][channel]["title"]
    for layer in layers:
        rows = spec["datasets"][layer["data"]["name"]]
        for channel in ("x", "y", "y2"):
            encoding = layer["encoding"].get(channel)
            if encoding is not None:
                assert all(row[encoding["field"]] > 0 for row in rows), f"{channel} {encoding['field']} on a log axis"
    assert chart_image(time_vs_rows_chart(curve, "groupby", estimate), "png").startswith(b"\x89PNG")


def test_the_memory_chart_reads_in_the_unit_of_its_largest_value():
    """A 207-byte table in bytes (not 0.0002 MiB), a 3 GiB one in GiB."""
    from pipeline.render.charts import memory_chart

    for nbytes, unit, value in ((207, "B", 207), (3 * 1024**3, "GiB", 3)):
        spec = memory_chart(pd.DataFrame({"engine": ["CPU (pandas)"], "bytes": [nbytes]})).to_dict()
        assert spec["encoding"]["x"]["title"] == f"memory ({unit})"
        assert next(iter(spec["datasets"].values()))[0]["size"] == value


def test_the_load_time_legend_shows_whole_phase_names():
    from pipeline.render.charts import phase_time_chart

    phase = "parse (pyarrow, reader picked for this file's format)"
    timings = pd.DataFrame({"engine": ["CPU (pandas)"], "phase": [phase], "seconds": [0.2]})
    legend = phase_time_chart(timings).to_dict()["encoding"]["color"]["legend"]
    assert legend["labelLimit"] == 0 and legend["orient"] == "bottom"
