"""End to end: the real Streamlit server driven by a real headless Chromium (Debian's, no download)."""

from __future__ import annotations

import re
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.support import files
from tests.support.chrome import (
    RERENDERED,
    active_name,
    charts_drawn,
    choose,
    choose_active,
    choose_number,
    click_button,
    click_first,
    click_tab,
    go_to,
    new_driver,
    new_session,
    picked,
    require_chromium,
    screenshot,
    scroll_to,
    sidebar_text,
    unpick,
    upload,
    visible_text,
    wait_active,
    wait_idle,
    wait_text,
)
from tests.support.server import running_server

pytestmark = pytest.mark.browser

require_chromium()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "folder_table.parquet").write_bytes(files.parquet_bytes())
    # the operator sizes the shared local Dask cluster: one worker of 1 GiB here
    with running_server(data, GPL_DASK_WORKERS="1", GPL_DASK_MEMORY_MB="1024") as running:
        yield running.url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = new_driver(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


def test_the_tab_icon_comes_from_the_app_not_the_internet(server, browser):
    """Offline (the container on a closed network) a tab icon from elsewhere is a failed request on every page."""
    new_session(browser, server)
    icons = browser.execute_script(
        "return Array.from(document.querySelectorAll(\"link[rel~='icon']\")).map(link => link.href);"
    )
    assert icons and all(icon.startswith(server) for icon in icons), icons


def test_a_new_user_session(server, browser, tmp_path):
    browser.get(server)
    wait_idle(browser)
    wait_text(browser, "Active dataset", where="[data-testid='stSidebar']")
    assert active_name(browser) == "iris"
    assert "CPU only" in sidebar_text(browser) or "CPU + GPU" in sidebar_text(browser)
    assert "Is a GPU worth it for your data?" in visible_text(browser)
    screenshot(browser, "01-first-screen")
    go_to(browser, "Data", "Load time and memory by engine")

    click_tab(browser, "Bundled")
    click_button(browser, "Load bundled dataset")
    wait_active(browser, "iris (2)")
    wait_idle(browser)
    screenshot(browser, "02-bundled-loaded")

    csv = tmp_path / "sales.csv"
    csv.write_bytes(files.csv_bytes())
    click_tab(browser, "Upload")
    browser.find_element(By.CSS_SELECTOR, "[data-testid='stFileUploader'] input[type='file']").send_keys(str(csv))
    wait_text(browser, "sales.csv")
    wait_idle(browser)
    click_button(browser, "Load uploaded file")
    wait_active(browser, "sales")
    wait_idle(browser)
    assert "4 rows × 4 columns" in sidebar_text(browser)
    screenshot(browser, "03-csv-uploaded")

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    browser.find_element(By.CSS_SELECTOR, "[data-testid='stFileUploader'] input[type='file']").send_keys(str(empty))
    wait_text(browser, "empty.csv")
    wait_idle(browser)
    click_button(browser, "Load uploaded file")
    wait_text(browser, "is empty (0 bytes)")
    assert active_name(browser) == "sales"
    screenshot(browser, "04-bad-upload")

    choose_active(browser, "iris")
    wait_text(browser, "150 rows × 5 columns", where="[data-testid='stSidebar']")
    wait_idle(browser)
    assert active_name(browser) == "iris"

    go_to(browser, "System", "Library versions")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Engines" in body and "CPU (pandas): available" in body
    assert active_name(browser) == "iris", "the active dataset stays across pages"
    screenshot(browser, "05-system")


def test_explore_a_bundled_dataset(server, browser, tmp_path):
    new_session(browser, server)
    go_to(browser, "Explore", "Profiled on")
    WebDriverWait(browser, 30).until(lambda d: charts_drawn(d) >= 1)
    assert "150" in visible_text(browser) and "Alerts" in visible_text(browser)
    screenshot(browser, "06-explore-overview")

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    click_button(browser, "Download")
    WebDriverWait(browser, 20).until(
        lambda d: any("PNG" in b.text.splitlines() and b.is_displayed() for b in d.find_elements(By.TAG_NAME, "button"))
    )
    click_button(browser, "PNG")
    WebDriverWait(browser, 30).until(lambda d: list(downloads.glob("*.png")))
    assert next(downloads.glob("*.png")).read_bytes().startswith(b"\x89PNG"), "the chart downloads as a real PNG"
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)

    for tab, expected, charts, name in (
        ("Columns", "Distinct", 1, "07-explore-column"),
        ("Correlations", "Strongest pairs", 1, "08-explore-correlations"),
        ("Missing values", "No missing values", 0, "09-explore-missing"),
        ("Interactions", "Colour by", 1, "10-explore-interactions"),
    ):
        click_tab(browser, tab)
        wait_text(browser, expected)
        wait_idle(browser)
        WebDriverWait(browser, 30).until(lambda d, charts=charts: charts_drawn(d) >= charts)
        screenshot(browser, name)

    click_tab(browser, "Filter")
    wait_text(browser, "150 of 150 rows")
    wait_idle(browser)
    # the tab opens on the category of fewest values (iris' target): filter by a measurement instead
    unpick(browser, "Columns to filter by", "target")
    choose(browser, "Columns to filter by", "sepal length (cm)")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    assert picked(browser, "Columns to filter by") == ["sepal length (cm)"]
    histogram = WebDriverWait(browser, 30).until(
        lambda d: next(
            (c for c in d.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart']") if c.is_displayed()), None
        )
    )
    time.sleep(1.0)
    from selenium.webdriver.common.action_chains import ActionChains

    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", histogram)
    time.sleep(0.5)
    width = histogram.size["width"]
    ActionChains(browser).move_to_element_with_offset(histogram, -width // 4, 0).click_and_hold().move_by_offset(
        width // 3, 0
    ).release().perform()
    WebDriverWait(browser, 30).until(
        lambda d: "150 of 150 rows" not in visible_text(d) and " of 150 rows" in visible_text(d)
    )
    wait_idle(browser)
    assert "≤ sepal length (cm) ≤" in visible_text(browser)
    screenshot(browser, "11-explore-filtered")
    click_button(browser, "Clear filters")
    wait_text(browser, "150 of 150 rows")
    wait_idle(browser)
    time.sleep(1.0)
    assert "150 of 150 rows" in visible_text(browser), "a cleared filter stays cleared"


def test_build_and_run_a_two_step_pipeline(server, browser):
    new_session(browser, server)
    go_to(browser, "Pipeline", "Add or change a step")

    for number, (kind, field, listed) in enumerate(
        (("values: Log (1 + x)", "Columns", "Log (1 + x)"), ("rows: Sort rows", "Sort by", "Sort rows")), start=1
    ):
        choose(browser, "Step", kind)
        choose(browser, field, "petal width (cm)")
        browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        click_button(browser, "Add step")
        wait_text(browser, f"{number}. {listed}")
        wait_idle(browser)
    screenshot(browser, "12-pipeline-built")

    click_button(
        browser, "Run on CPU (pandas)" if "CPU only" in sidebar_text(browser) else "Run on CPU (pandas) and GPU (cuDF)"
    )
    wait_text(browser, "Result")
    wait_idle(browser)
    WebDriverWait(browser, 30).until(lambda d: charts_drawn(d) >= 1)
    scroll_to(browser, "h3", "Result")
    screenshot(browser, "13-pipeline-run")


def test_run_the_benchmark_and_see_its_charts(server, browser):
    new_session(browser, server)
    go_to(browser, "Benchmark", "Run the benchmark")
    click_button(browser, "Run the benchmark")
    wait_text(browser, "Runs", timeout=180)
    wait_idle(browser, timeout=180)
    WebDriverWait(browser, 30).until(lambda d: charts_drawn(d) >= 2)
    assert "answers failed their check" not in browser.find_element(By.TAG_NAME, "body").text
    scroll_to(browser, "h3", "Runs")
    screenshot(browser, "14-benchmark-run")

    click_tab(browser, "Load results")
    click_button(browser, "Load the published runs")
    wait_idle(browser)
    WebDriverWait(browser, 30).until(lambda d: "bench_cpu.json" in d.find_element(By.TAG_NAME, "body").text)
    WebDriverWait(browser, 30).until(lambda d: charts_drawn(d) >= 2)
    browser.execute_script(
        "Array.from(document.querySelectorAll(\"[data-testid='stVegaLiteChart']\")).pop().scrollIntoView();"
    )
    screenshot(browser, "15-benchmark-published")


def test_train_a_model_and_see_its_confusion_matrix(server, browser):
    new_session(browser, server)
    go_to(browser, "Models", "Algorithm")
    click_button(
        browser,
        "Train on CPU (pandas)" if "CPU only" in sidebar_text(browser) else "Train on CPU (pandas) and GPU (cuDF)",
    )
    wait_text(browser, "Result", timeout=120)
    wait_idle(browser, timeout=120)
    WebDriverWait(browser, 30).until(lambda d: charts_drawn(d) >= 2)
    assert "Fit on CPU (pandas)" in browser.find_element(By.TAG_NAME, "body").text
    scroll_to(browser, "h3", "Result")
    screenshot(browser, "16-models-trained")


BROWSER_CORPUS = [
    "binary_junk.csv",
    "invalid_utf8_late.csv",
    "unbalanced_quotes.csv",
    "json_pretty_object.json",
    "zip_in_zip.zip",
    "decimal_commas.csv",
    "nested.parquet",
]


def test_a_sample_of_the_bad_input_corpus_uploaded_in_a_real_browser(server, browser):
    """Refused files show their message and leave the active dataset as it was; accepted ones show their notes."""
    from tests.support.corpus import CASES

    new_session(browser, server)
    go_to(browser, "Data", "Load time and memory by engine")
    click_tab(browser, "Upload")
    active = "iris"
    for name in BROWSER_CORPUS:
        case = next(case for case in CASES if case.file == name and case.encoding == "utf-8")
        upload(browser, case.path)
        click_button(browser, "Load uploaded file")
        wait_idle(browser)
        stem = case.file.split(".")[0]
        if case.outcome == "refused":
            WebDriverWait(browser, 60).until(lambda d, case=case: re.search(case.message, visible_text(d)))
            assert active_name(browser) == active, f"{case.file} left the active dataset alone"
        else:
            wait_active(browser, stem)
            WebDriverWait(browser, 60).until(lambda d, case=case: re.search(case.message, visible_text(d)))
            active = stem
        assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stException']"), case.file
        screenshot(browser, f"17-corpus-{stem}")
    choose_active(browser, "iris")
    wait_text(browser, "150 rows × 5 columns", where="[data-testid='stSidebar']")


def test_train_a_network_and_watch_its_curves(server, browser):
    pytest.importorskip("torch")
    new_session(browser, server)
    go_to(browser, "Deep learning", "Train on")
    choose_number(browser, "Epochs", 40)
    choose_number(browser, "Batch size", 16)
    click_button(
        browser,
        next(
            b
            for b in ("Train on CPU (PyTorch) and GPU (PyTorch CUDA)", "Train on CPU (PyTorch)")
            if b in visible_text(browser)
        ),
    )
    wait_text(browser, "of 40, batch", timeout=120)  # the progress bar follows the batches while it trains
    # Stop once an epoch has ended: a run stopped inside its first epoch keeps none, so it has nothing to evaluate.
    # Any later epoch will do: on an idle machine the page can go from epoch 1 to epoch 3 between two redraws.
    WebDriverWait(browser, 120, ignored_exceptions=RERENDERED).until(lambda d: epochs_begun(d, 40) >= 2)
    screenshot(browser, "18-deep-learning-live")
    click_button(browser, "Stop training")
    wait_text(browser, "Stopped by you after", timeout=60)
    assert "of 40 epochs; those are kept" in visible_text(browser)
    wait_text(browser, "Evaluation on the test set", timeout=60)
    wait_idle(browser, timeout=180)
    WebDriverWait(browser, 30).until(lambda d: charts_drawn(d) >= 3)
    assert "Misclassified" in visible_text(browser) or "No test image is misclassified" in visible_text(browser)
    scroll_to(browser, "h3", "Curves")
    screenshot(browser, "18-deep-learning-curves")
    scroll_to(browser, "h3", "Evaluation on the test set")
    screenshot(browser, "19-deep-learning-evaluation")


def epochs_begun(browser, epochs: int) -> int:
    """The epoch the deep-learning page's progress bar shows (0 before one does)."""
    shown = re.findall(rf"epoch (\d+) of {epochs}\b", visible_text(browser))
    return max((int(epoch) for epoch in shown), default=0)


def start_local_cluster(browser, server: str) -> None:
    """A new session that starts the server's local Dask cluster (one worker) on the System page."""
    pytest.importorskip("distributed")
    new_session(browser, server)
    go_to(browser, "System", "Dask cluster")
    click_button(browser, "Start or connect")
    wait_text(browser, "Dask CPU (dask.dataframe) on a local cluster", timeout=120)
    wait_idle(browser)


def shut_the_cluster_down(browser) -> None:
    go_to(browser, "System", "Dask cluster")
    click_button(browser, "Shut down")
    WebDriverWait(browser, 60).until(lambda d: "on a local cluster" not in visible_text(d))


def test_start_a_dask_cluster_on_the_system_page_and_shut_it_down(server, browser):
    start_local_cluster(browser, server)
    text = visible_text(browser)
    assert "Dask dashboard" in text and "Workers" in text and "Threads" in text
    scroll_to(browser, "h3", "Dask cluster")
    screenshot(browser, "20-system-dask-cluster")
    shut_the_cluster_down(browser)


def test_generate_a_table_on_dask_profile_and_run_a_pipeline_there(server, browser):
    """A new user's route to Dask: a local cluster on the System page, a table made on its workers (Data page),
    profiled there (Explore, estimates said) and run through a preset pipeline."""
    start_local_cluster(browser, server)
    try:
        go_to(browser, "Data", "All loaded datasets")
        click_tab(browser, "Dask (larger than memory)")
        click_first(browser, "label", lambda r: r.text.strip() == "Generated on the workers" and r.is_displayed(), 20)
        wait_idle(browser)
        click_button(browser, "Generate on the workers")
        wait_text(browser, "generated on the workers, held in their memory", timeout=120)
        wait_idle(browser)
        assert "DASK-CPU" in visible_text(browser) and "on DASK-CPU" in sidebar_text(browser)
        go_to(browser, "Explore", "Estimated: Quantiles", timeout=180)
        assert "Profiled on Dask CPU (dask.dataframe)" in visible_text(browser)
        screenshot(browser, "21-explore-on-dask")
        go_to(browser, "Pipeline", "Steps")
        click_button(browser, "Use and run")
        wait_text(browser, "Result", timeout=180)
        wait_idle(browser, 180)
        assert "Dask CPU (dask.dataframe)" in visible_text(browser) and "stopped" not in visible_text(browser)
        scroll_to(browser, "h3", "Result")
        screenshot(browser, "22-pipeline-on-dask")
    finally:
        shut_the_cluster_down(browser)


def no_exception_shown(driver) -> bool:
    return not driver.find_elements(By.CSS_SELECTOR, "[data-testid='stException']")


def test_a_new_users_path_through_every_page_on_a_fresh_server(tmp_path_factory):
    """Start → Data → Explore → Pipeline → Models → Benchmark (published figures, cost) → Deep learning → System, on a
    server of its own, with a tall window and a screenshot of every page (test-artifacts/walk-*.png)."""
    data = tmp_path_factory.mktemp("walk-data")
    with running_server(data) as running:
        driver = new_driver(tmp_path_factory.mktemp("walk-chromium"))
        try:
            driver.set_window_size(1400, 2600)
            new_session(driver, running.url)
            wait_text(driver, "The path")
            cpu_only = "CPU only" in sidebar_text(driver)
            assert "Is a GPU worth it for your data?" in visible_text(driver) and no_exception_shown(driver)
            screenshot(driver, "walk-1-start")

            click_first(driver, "[data-testid='stPageLink'] a", lambda link: "Data" in link.text, 30)
            wait_text(driver, "Load time and memory by engine")
            wait_idle(driver)
            WebDriverWait(driver, 30).until(lambda d: charts_drawn(d) >= 2)
            assert no_exception_shown(driver)
            screenshot(driver, "walk-2-data")

            go_to(driver, "Explore", "Profiled on")
            WebDriverWait(driver, 30).until(lambda d: charts_drawn(d) >= 1)
            assert no_exception_shown(driver)
            screenshot(driver, "walk-3-explore")

            go_to(driver, "Pipeline", "Add or change a step")
            click_button(driver, "Use and run")
            wait_text(driver, "Result", timeout=120)
            wait_idle(driver, timeout=120)
            WebDriverWait(driver, 30).until(lambda d: charts_drawn(d) >= 1)
            if cpu_only:
                assert "Published GPU speed-ups for similar work: an estimate, not a measurement" in visible_text(
                    driver
                )
            assert no_exception_shown(driver)
            scroll_to(driver, "h3", "Result")
            screenshot(driver, "walk-4-pipeline")

            go_to(driver, "Models", "Algorithm")
            click_button(driver, "Train on CPU (pandas)" if cpu_only else "Train on CPU (pandas) and GPU (cuDF)")
            wait_text(driver, "Result", timeout=120)
            wait_idle(driver, timeout=120)
            WebDriverWait(driver, 30).until(lambda d: charts_drawn(d) >= 2)
            assert no_exception_shown(driver)
            scroll_to(driver, "h3", "Result")
            screenshot(driver, "walk-5-models")

            go_to(driver, "Benchmark", "Run the benchmark")
            click_tab(driver, "Published figures")
            wait_text(driver, "not measurements of this machine")
            wait_idle(driver)
            WebDriverWait(driver, 30).until(lambda d: charts_drawn(d) >= 1)
            assert no_exception_shown(driver)
            screenshot(driver, "walk-6-benchmark-published")
            click_tab(driver, "Load results")
            click_button(driver, "Load the published runs")
            wait_text(driver, "Cost per run and break-even", timeout=60)
            wait_idle(driver)
            assert no_exception_shown(driver)
            scroll_to(driver, "p", "Cost per run and break-even")
            screenshot(driver, "walk-7-benchmark-cost")

            go_to(driver, "Deep learning", "Deep learning")
            assert no_exception_shown(driver)
            screenshot(driver, "walk-8-deep-learning")

            go_to(driver, "System", "Library versions")
            assert no_exception_shown(driver)
            last = driver.execute_script(
                "const rows = document.querySelectorAll(\"[data-testid='stTable'] tbody tr\");"
                "return rows.length ? rows[rows.length - 1].getBoundingClientRect().bottom : -1;"
            )
            assert 0 < last <= driver.execute_script("return window.innerHeight;"), "every version row is shown"
            screenshot(driver, "walk-9-system")
        finally:
            driver.quit()


def test_a_refresh_keeps_the_session_s_work_under_the_same_address(server, browser):
    new_session(browser, server)
    go_to(browser, "Data", "Load time and memory by engine")
    click_tab(browser, "Bundled")
    click_button(browser, "Load bundled dataset")  # the page's own rerun
    wait_active(browser, "iris (2)")
    wait_idle(browser)
    WebDriverWait(browser, 30).until(lambda d: "?w=" in d.current_url)
    token = browser.current_url.split("?w=")[1]
    click_first(browser, "[data-testid='stPageLink'] a", lambda link: "Explore this dataset" in link.text, 30)
    wait_text(browser, "Profiled on")
    wait_idle(browser)
    WebDriverWait(browser, 30).until(lambda d: d.current_url.endswith(f"?w={token}"))  # after a page link
    for page, shown in (("Pipeline", "Steps"), ("Models", "Algorithm"), ("Benchmark", "Run the benchmark")):
        go_to(browser, page, shown)  # a page change drops the query: the app puts the token back
        WebDriverWait(browser, 30).until(lambda d: d.current_url.endswith(f"?w={token}"))
    go_to(browser, "System", "Library versions")
    WebDriverWait(browser, 30).until(lambda d: d.current_url.endswith(f"?w={token}"))
    address = browser.current_url
    browser.refresh()
    wait_idle(browser)
    wait_active(browser, "iris (2)")
    time.sleep(1.0)
    assert browser.current_url == address, "the same page, the same token: this browser's own work"
    screenshot(browser, "17-after-refresh")
    browser.get(server)  # the bare address: a new session, the sample only
    wait_idle(browser)
    wait_active(browser, "iris")
