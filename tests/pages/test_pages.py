"""Each page driven through Streamlit's AppTest: the real script, widgets and session state."""

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.engines import device_status
from tests.support import files
from tests.support.paths import APP as APP_PATH
from tests.support.paths import REPO_ROOT

TIMEOUT = 60
APP = APP_PATH
PAGE_TITLES = {
    "benchmark.py": "Benchmark",
    "data.py": "Data",
    "deep_learning.py": "Deep learning",
    "explore.py": "Explore",
    "home.py": "GPU Pipeline Lab",
    "models.py": "Models",
    "pipeline.py": "Pipeline",
    "system.py": "System",
}


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("GPL_DATA_DIR", str(tmp_path))
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run().switch_page("pages/data.py").run()


def names(at: AppTest) -> list[str]:
    return [dataset.name for dataset in at.session_state["catalog"]]


def errors(at: AppTest) -> list[str]:
    return [element.value for element in at.error]


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="upload_file").set_value((name, data, "application/octet-stream")).run()
    return at.button(key="upload_load").click().run()


def test_the_first_screen_says_what_the_app_is_for_and_the_path_through_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GPL_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception and [t.value for t in at.title] == ["GPU Pipeline Lab"]
    assert "Is a GPU worth it for your data?" in at.markdown[0].value
    assert any("**iris** is loaded (150 rows × 5 columns)" in s.value for s in at.success)
    links = [link.proto.label for link in at.get("page_link")]
    assert links == ["Data", "Explore", "Pipeline", "Models", "Benchmark"]
    if not device_status().available:
        assert any("CPU only" in i.value and device_status().reason in i.value for i in at.info)


@pytest.mark.parametrize("page", sorted(path.name for path in (REPO_ROOT / "pages").glob("*.py")))
def test_a_page_opened_first_by_its_own_address_runs_inside_the_app(page, tmp_path, monkeypatch):
    """Each AppTest run starts as a fresh server does: a page asked for by its address (here before any other run)
    is run alone (the pages/ folder) unless it puts the app around itself: the sidebar, the token, the page once."""
    monkeypatch.setenv("GPL_DATA_DIR", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).switch_page(f"pages/{page}").run()
    assert not at.exception
    assert [t.value for t in at.title] == [PAGE_TITLES[page]], "the page asked for, once"
    assert [box.label for box in at.sidebar.selectbox] == ["Active dataset"]
    assert at.query_params.get("w"), "the session's workspace token in the address"


def test_first_screen_has_the_sample_dataset(app):
    assert not app.exception
    assert [t.value for t in app.title] == ["Data"]
    assert names(app) == ["iris"]
    assert "iris" in [s.value for s in app.subheader]
    assert len(app.get("vega_lite_chart")) == 2, "load-time and memory charts are drawn"
    assert len(app.dataframe) >= 3  # listing, timings, preview, schema


def test_sidebar_says_why_the_gpu_is_missing(tmp_path, monkeypatch):
    from pipeline.engines import detect

    monkeypatch.setenv("GPL_DATA_DIR", str(tmp_path))
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # the sidebar as the first screen shows it
    assert any("150 rows × 5 columns" in c.value for c in app.sidebar.caption)
    gpu = next(status for status in detect() if status.name == "gpu")
    if not gpu.available:
        assert any(gpu.reason in c.value for c in app.sidebar.caption)
        assert any("CPU only" in i.value for i in app.sidebar.info)


def test_upload_a_csv(app):
    upload(app, "sales.csv", files.csv_bytes())
    assert not errors(app) and not app.exception
    assert names(app) == ["iris", "sales"]
    assert app.session_state["catalog"].active.shape == (4, 4)
    assert "sales" in [s.value for s in app.subheader]


def test_upload_with_chosen_encoding(app):
    app.selectbox(key="upload_encoding").set_value("latin-1")
    upload(app, "latin.csv", files.csv_bytes(encoding="latin-1"))
    assert not errors(app)
    assert "Zürich" in app.session_state["catalog"].active.primary.frame["city"].tolist()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"a,b\n", "no rows"),
        ("latin.csv", files.csv_bytes(encoding="latin-1"), "not valid utf-8"),
        ("cut.parquet", files.parquet_bytes()[:40], "truncated or damaged"),
        ("fake.xlsx", b"just text\n", "not a Excel file"),
    ],
)
def test_bad_upload_shows_a_message_and_keeps_the_data(app, name, data, message):
    upload(app, name, data)
    assert not app.exception
    assert any(message in text for text in errors(app)), errors(app)
    assert names(app) == ["iris"]
    assert "iris" in [s.value for s in app.subheader]


def test_wrong_delimiter_choice_is_explained(app):
    app.selectbox(key="upload_delimiter").set_value("semicolon ;")
    upload(app, "a.csv", files.csv_bytes())
    assert any("looks ','-separated" in text for text in errors(app))


def test_bundled_dataset(app):
    app.selectbox(key="bundled_name").set_value("wine")
    app.button(key="bundled_load").click().run()
    assert names(app) == ["iris", "wine"]
    assert app.session_state["catalog"].active.name == "wine"


def test_generate_g1(app):
    app.selectbox(key="gen_kind").set_value("groupby_g1").run()
    app.number_input(key="gen_rows").set_value(5_000)
    app.number_input(key="gen_groups").set_value(10)
    app.number_input(key="gen_na").set_value(5)
    app.button(key="gen_go").click().run()
    assert not errors(app) and not app.exception
    assert names(app)[-1] == "G1_5e3_1e1_5_0"
    assert app.session_state["catalog"].active.shape == (5_000, 9)


def test_rename_remove_and_switch(app):
    app.selectbox(key="bundled_name").set_value("diabetes")
    app.button(key="bundled_load").click().run()
    active = app.session_state["catalog"].active_id
    app.text_input(key=f"rename_{active}").set_value("iris")
    app.button(key="rename_go").click().run()
    assert any("already loaded" in text for text in errors(app))
    app.text_input(key=f"rename_{active}").set_value("progression")
    app.button(key="rename_go").click().run()
    assert names(app) == ["iris", "progression"]
    app.button(key="remove_go").click().run()
    assert names(app) == ["iris"]
    assert app.session_state["catalog"].active.name == "iris"
    app.button(key="remove_go").click().run()
    assert names(app) == []
    assert any("No dataset loaded" in i.value for i in app.info)
    assert not app.exception


def test_data_folder(app, tmp_path):
    (tmp_path / "big.parquet").write_bytes(files.parquet_bytes())
    app.run()
    app.button(key="folder_load").click().run()
    assert not errors(app)
    assert names(app) == ["iris", "big"]


def test_empty_data_folder_says_what_to_do(app, tmp_path):
    assert any(str(tmp_path) in i.value and "empty or missing" in i.value for i in app.info)


def test_system_page(app):
    app.switch_page("pages/system.py").run()
    assert not app.exception
    assert [t.value for t in app.title] == ["System"]
    headers = [s.value for s in app.subheader]
    assert headers == ["Engines", "Dask cluster", "GPU", "CPU and memory", "Library versions"]
    assert any("CPU (pandas): available" in s.value for s in app.success)
    versions = app.table[-1].value
    assert {"pandas", "cuDF", "Streamlit", "Altair"} <= set(versions.index)
    assert not [d for d in app.dataframe if "library" in d.value.columns], "not in a grid that scrolls"


def test_switch_active_dataset_in_the_sidebar(tmp_path, monkeypatch):
    from pipeline.data.catalog import Catalog
    from pipeline.data.loading import load_bundled
    from pipeline.engines import get_engine

    monkeypatch.setenv("GPL_DATA_DIR", str(tmp_path))
    catalog = Catalog()
    iris = load_bundled(catalog, "iris", [get_engine("cpu")])
    load_bundled(catalog, "wine", [get_engine("cpu")])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["catalog"] = catalog
    at.run()  # the first screen, with the sidebar
    assert any("**wine** is loaded" in s.value for s in at.success)
    assert any("178 rows × 14 columns" in c.value for c in at.sidebar.caption)
    at.sidebar.selectbox(key="active_choice").set_value(iris.id).run()
    assert catalog.active.name == "iris"
    assert any("**iris** is loaded" in s.value for s in at.success)
    at.switch_page("pages/data.py").run()
    assert "iris" in [s.value for s in at.subheader]


def test_the_preview_shows_a_missing_value_as_a_dash(app):
    upload(app, "sales.csv", files.csv_bytes())
    preview = next(d.value for d in app.dataframe if "price" in d.value.columns and "id" in d.value.columns)
    assert preview["price"].tolist() == ["9.5", "3.25", "—", "7"]
    assert preview["city"].tolist() == ["Oslo", "Zürich", "Lyon", "—"]
