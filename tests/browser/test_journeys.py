"""Issue #28's acceptance suite: the first hour of a new user, as journeys in a real browser on a CPU-only server.

Real public tables (vega_datasets' cars, a JSON array, and seattle-weather, tests/data/public) go in through the
upload widget; pages are reached only through the sidebar and the pages' own controls (the address is typed once, at
the start, and reloaded once in the middle of each journey); every promise the README makes for that hour is asserted:
the work kept across a refresh and through a saved workspace opened in another browser, GPU estimates labelled and
size-aware, progress that counts down and stops, and the defaults. Each step's screenshot is in
test-artifacts/journeys/.
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from pipeline.published.size_model import fixed_cost, fixed_cost_measurements
from tests.support.chrome import (
    RERENDERED,
    allow_downloads,
    charts_drawn,
    choose,
    choose_active,
    click_button,
    click_first,
    click_tab,
    dataset_names,
    downloaded,
    go_to,
    grid_rows,
    grids,
    new_driver,
    new_session,
    picked,
    require_chromium,
    saved_workspace,
    screenshot,
    scroll_to,
    sidebar_text,
    token,
    unpick,
    upload,
    visible_text,
    wait_active,
    wait_idle,
    wait_text,
)
from tests.support.paths import TEST_DATA
from tests.support.server import running_server

pytestmark = pytest.mark.browser

require_chromium()

PUBLIC = TEST_DATA / "public"
CARS = PUBLIC / "cars.json"
WEATHER = PUBLIC / "seattle-weather.csv"
DECIMAL = re.compile(r"\d[\d,]*\.\d+")
SPAN = re.compile(r"\d+ days \d\d:\d\d:\d\d")  # a time span as pandas prints it: 4383 days 00:00:00
LEFT = re.compile(r"about (?:(\d+) min )?(\d+) s left")
UNITS = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("journeys-data")) as running:
        yield running.url


def shot(driver, name: str) -> None:
    screenshot(driver, f"journeys/{name}")


def load_upload(driver, path, name: str) -> None:
    """Upload `path` on the Data page's Upload tab and load it: it becomes the active dataset `name`."""
    click_tab(driver, "Upload")
    upload(driver, path.resolve())
    click_button(driver, "Load uploaded file")
    wait_active(driver, name, timeout=120)
    wait_idle(driver, timeout=120)


def steps_listed(driver) -> list[str]:
    """The Pipeline's steps as the page lists them ("1. Text operation — lower of Name"), in order."""
    return [line for line in visible_text(driver).splitlines() if re.match(r"\d+\. .+ — ", line)]


def open_expander(driver, title: str) -> None:
    """Open the expander `title` (left as it is when open already)."""

    def folded(summary) -> bool:
        shown = title in summary.text and summary.is_displayed()
        return shown and summary.find_element(By.XPATH, "..").get_attribute("open") is None

    if not any(title in s.text and s.find_element(By.XPATH, "..").get_attribute("open") for s in summaries(driver)):
        click_first(driver, "summary", folded, 30)
    wait_idle(driver)


def summaries(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "details > summary")


def grid_with(driver, header: str) -> list[dict[str, str]]:
    """The rows of the table on the page that has a column `header`."""
    return WebDriverWait(driver, 30, ignored_exceptions=RERENDERED).until(
        lambda d: next((rows for grid in grids(d) if (rows := grid_rows(d, grid)) and header in rows[0]), None)
    )


def significant_digits(number: str) -> int:
    return len(number.replace(",", "").replace(".", "").lstrip("0"))


def for_people(rows: list[dict[str, str]]) -> None:
    """Every cell as people read it: no 'None', no 19.30075187969925, no '4383 days 00:00:00'."""
    for row in rows:
        for column, cell in row.items():
            assert cell != "None" and not SPAN.search(cell), (column, cell, row)
            assert all(significant_digits(n) <= 6 for n in DECIMAL.findall(cell)), (column, cell, row)


def seconds_in(text: str) -> list[float]:
    """The times a cell gives ('0.6 ms – 5.9 ms', '1.2 s'), in seconds."""
    return [float(n.replace(",", "")) * UNITS[unit] for n, unit in re.findall(r"([\d.,]+) (µs|ms|s)\b", text)]


def time_left(driver) -> int | None:
    """The seconds the progress bar says are left, or None while it says none."""
    bars = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stProgress']")
    found = LEFT.search(" ".join(bar.text for bar in bars))
    return None if found is None else int(found.group(1) or 0) * 60 + int(found.group(2))


def target_offered(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "input[aria-label='Target']").get_attribute("value")


def choose_task(driver, task: str) -> None:
    click_first(driver, "label", lambda label: label.text.strip() == task, 20)
    wait_idle(driver)


def cpu_button(driver, verb: str) -> str:
    """The label of the page's Run or Train button on this server (the GPU one joins it where a GPU is)."""
    return f"{verb} on CPU (pandas)" if "CPU only" in sidebar_text(driver) else f"{verb} on CPU (pandas) and GPU (cuDF)"


def test_a_small_table_is_explored_piped_estimated_modelled_and_benchmarked(server, tmp_path_factory):
    """cars (406 rows, a JSON array): the Filter tab and Interactions open where a data scientist would; a preset
    adds its steps after the user's, leaves the targets and free text alone, and Undo takes them back; the Pipeline's
    GPU estimate says the GPU will not help at this size and is never below the fixed cost; the script reads JSON;
    a refresh keeps the steps and the run; the first target is a real one; the benchmark's time left falls, Stop
    keeps the stopped run on show, and the page gives an estimated break-even without a GPU."""
    downloads = tmp_path_factory.mktemp("journey-cars-downloads")
    driver = new_driver(tmp_path_factory.mktemp("journey-cars-chromium"))
    allow_downloads(driver, downloads)
    try:
        new_session(driver, server)
        go_to(driver, "Data", "All loaded datasets")
        load_upload(driver, CARS, "cars")
        assert "406 rows × 9 columns" in sidebar_text(driver), "a JSON array of records loads as a table"
        shot(driver, "cars-01-uploaded")

        go_to(driver, "Explore", "Profiled on")
        click_tab(driver, "Filter")
        wait_text(driver, "406 of 406 rows")
        wait_idle(driver)
        assert picked(driver, "Columns to filter by") == ["Origin"], "the filter starts on the category of 3 values"
        shot(driver, "cars-02-filter-starts-on-origin")
        click_tab(driver, "Interactions")
        wait_text(driver, "Colour by")
        choose(driver, "x", "Miles_per_Gallon")
        choose(driver, "y", "Origin")
        wait_text(driver, "Quartiles of Miles_per_Gallon")  # a number against a category opens as box plots
        WebDriverWait(driver, 30).until(lambda d: charts_drawn(d) >= 1)
        scroll_to(driver, "p", "Colour by")
        shot(driver, "cars-03-box-plots")

        go_to(driver, "Pipeline", "Add or change a step")
        choose(driver, "Step", "values: Text operation")
        click_button(driver, "Add step")
        wait_text(driver, "1. Text operation")
        wait_idle(driver)
        mine = steps_listed(driver)
        assert len(mine) == 1 and "Name" in mine[0], mine
        open_expander(driver, "Start from a preset or a recipe file")
        click_button(driver, "Use this preset")  # 'Clean and encode for modelling', added after the steps here
        wait_text(driver, "Added the 4 steps of 'Clean and encode for modelling' after the 1 step here.")
        wait_idle(driver)
        after = steps_listed(driver)
        assert after[0] == mine[0] and len(after) == 5, after
        said = visible_text(driver)
        assert "Left as they are: Origin — the likely target (a label); Miles_per_Gallon — the likely target" in said
        assert "Name — free text" in said
        changing = [step for step in after[1:] if re.match(r"\d+\. (.* encode|Scale|Fill|Clip|Bin|Log)", step)]
        assert changing, after
        for step in changing:  # neither free text nor the likely targets are encoded, filled or scaled
            assert not re.search(r"\b(Name|Origin|Miles_per_Gallon)\b", step.split(" — ")[1]), step
        shot(driver, "cars-04-preset-added-after")
        click_button(driver, "Undo")
        WebDriverWait(driver, 30).until(lambda d: steps_listed(d) == mine)
        wait_idle(driver)
        shot(driver, "cars-05-undone")

        open_expander(driver, "Start from a preset or a recipe file")
        click_button(driver, "Use and run")
        wait_text(driver, "Save the result as a dataset named", timeout=120)
        wait_idle(driver, timeout=120)
        assert len(steps_listed(driver)) == 5
        open_expander(driver, "Published GPU speed-ups for similar work: an estimate, not a measurement")
        estimates = grid_with(driver, "GPU verdict (estimate)")
        for_people(estimates)
        text, *preset = estimates
        fixed = fixed_cost(fixed_cost_measurements(), "text operations")
        assert text["work"] == "1. Text operation" and text["rows"] == "406", text
        assert text["GPU verdict (estimate)"].startswith("not expected to help at this size"), text
        shown = seconds_in(text["estimated GPU time"])
        assert shown and min(shown) >= fixed.low * 0.95, f"below the fixed cost of {fixed.low} s: {text}"
        assert "smaller than any table a source timed" in text["sizes the sources measured"], text
        for row in preset:  # steps like nothing published say so in words
            assert row["estimated GPU time"] == "no estimate: nothing published is like this work", row
        scroll_to(driver, "p", "Published GPU speed-ups for similar work: an estimate, not a measurement")
        shot(driver, "cars-06-estimates")
        script = downloaded(driver, "pandas script", downloads, "*.py").read_text(encoding="utf-8")
        assert "pd.read_json(" in script and "lines=True" not in script, "the script reads the JSON array it came as"
        assert "\\u2192" not in script and "# 1. Text operation: lower of Name → Name" in script
        unused = [name for name in re.findall(r"^def (\w+)\(", script, re.M) if script.count(f"{name}(") < 2]
        assert not unused, f"the script defines {unused} and never calls them"

        address = token(driver)
        driver.refresh()  # in the middle of the journey, on the page the work was done on
        wait_idle(driver)
        wait_active(driver, "cars")
        wait_text(driver, "This run was kept in your workspace", timeout=60)
        assert token(driver) == address and len(steps_listed(driver)) == 5
        assert dataset_names(driver, "journeys/cars-07-datasets-after-refresh") == ["iris", "cars"]
        shot(driver, "cars-08-pipeline-after-refresh")
        click_button(driver, cpu_button(driver, "Run"))  # a kept run holds no rows: run again to save them
        wait_text(driver, "Save the result as a dataset named", timeout=120)
        wait_idle(driver, timeout=120)
        click_button(driver, "Save as dataset")
        wait_active(driver, "cars (pipeline)")
        wait_idle(driver)

        go_to(driver, "Models", "Algorithm")  # on the pipeline's result: its 'split' column marks train and test
        target = target_offered(driver)
        assert target in ("Origin", "Miles_per_Gallon"), f"the first target offered is {target!r}"
        assert "'Name': free text" in visible_text(driver) and "'Year' (dates" in visible_text(driver)
        shot(driver, "cars-09-models-defaults")

        go_to(driver, "Benchmark", "Run the benchmark")
        unpick(driver, "Suites", "join")
        for rows in ("10,000", "1,000,000"):  # with the 100,000 chosen already
            choose(driver, "Rows", rows)
            driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        click_button(driver, "Run the benchmark")
        first = WebDriverWait(driver, 180, 0.2, RERENDERED).until(lambda d: time_left(d))
        shot(driver, "cars-10-benchmark-time-left")
        second = WebDriverWait(driver, 60, 0.2, RERENDERED).until(
            lambda d: (left := time_left(d)) is not None and left != first and left
        )
        assert second < first, f"the time left rose from {first} s to {second} s"
        click_button(driver, "Stop the benchmark")
        wait_text(driver, "was stopped before it finished", timeout=120)
        wait_idle(driver, timeout=120)
        said = visible_text(driver)
        assert re.search(
            r"this session [\d:]+ was stopped before it finished; its [\d,]+ records so far are kept", said
        )
        if "CPU only" in sidebar_text(driver):
            assert "Estimated break-even at your prices (an estimate, not a measurement)" in said
            assert re.search(r"The GPU would cost less per run from about [\d,]+ rows", said), said
        scroll_to(driver, "h3", "Runs")
        shot(driver, "cars-11-benchmark-stopped-run-shown")
        scroll_to(driver, "p", "Cost per run and break-even")
        shot(driver, "cars-12-benchmark-break-even")
        scroll_to(driver, "p", "Records")
        shot(driver, "cars-13-benchmark-records")
        records = grid_with(driver, "median (s)")  # the columns named for people: not median_s, engine_label
        assert {"engine", "fastest (s)", "slowest (s)"} <= set(records[0]), records[0]
        for_people(records)
    finally:
        driver.quit()


def test_two_uploads_are_kept_through_a_refresh_and_a_saved_workspace_opened_elsewhere(server, tmp_path_factory):
    """seattle-weather (CSV) and cars (JSON): the Filter tab opens on the weather, the first target is the weather;
    compare-all's leaderboard stays in view, survives a refresh on the Models page with the model trained before it,
    and a stopped rerun keeps it beside the partial one; Save workspace writes both uploads with their work, and
    another browser opens that file on the Data page and finds the steps, the run and the model."""
    downloads = tmp_path_factory.mktemp("journey-weather-downloads")
    driver = new_driver(tmp_path_factory.mktemp("journey-weather-chromium"))
    allow_downloads(driver, downloads)
    try:
        new_session(driver, server)
        go_to(driver, "Data", "All loaded datasets")
        load_upload(driver, WEATHER, "seattle-weather")
        assert "1,461 rows × 6 columns" in sidebar_text(driver)
        load_upload(driver, CARS, "cars")
        shot(driver, "weather-01-two-uploads")
        choose_active(driver, "seattle-weather")
        wait_active(driver, "seattle-weather")
        wait_idle(driver)

        go_to(driver, "Explore", "Profiled on")
        click_tab(driver, "Filter")
        wait_text(driver, "1,461 of 1,461 rows")
        wait_idle(driver)
        assert picked(driver, "Columns to filter by") == ["weather"]
        shot(driver, "weather-02-filter-starts-on-weather")

        go_to(driver, "Pipeline", "Add or change a step")
        click_button(driver, "Use and run")
        wait_text(driver, "Save the result as a dataset named", timeout=120)
        wait_idle(driver, timeout=120)
        steps = steps_listed(driver)
        assert steps and "Left as they are: weather — the likely target (a label)" in visible_text(driver)
        for_people(grid_with(driver, "step"))
        scroll_to(driver, "h3", "Result")
        shot(driver, "weather-03-pipeline-run")

        go_to(driver, "Models", "Algorithm")
        assert target_offered(driver) == "weather"
        click_button(driver, cpu_button(driver, "Train"))
        wait_text(driver, "Fit on CPU (pandas)", timeout=120)
        wait_idle(driver, timeout=120)
        for_people(grid_with(driver, "metric"))
        choose_task(driver, "Dimensionality reduction")
        open_expander(driver, "Compare every dimensionality reduction algorithm")
        click_button(driver, "Compare all")
        wait_text(driver, "Stop comparing")
        WebDriverWait(driver, 300).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid='stProgress']"))
        wait_idle(driver, timeout=120)
        open_expander(driver, "Compare every dimensionality reduction algorithm")  # the leaderboard stays below it
        board = grid_with(driver, "algorithm")
        assert {row["algorithm"] for row in board} == {"PCA", "Truncated SVD", "t-SNE", "UMAP"}, board
        for_people(board)
        scroll_to(driver, "h3", "Leaderboard")
        shot(driver, "weather-04-leaderboard")

        address = token(driver)
        driver.refresh()  # in the middle of the journey, on the Models page
        wait_idle(driver)
        wait_active(driver, "seattle-weather")
        wait_text(driver, "Leaderboard", timeout=60)
        assert token(driver) == address
        assert [row["algorithm"] for row in grid_with(driver, "algorithm")] == [row["algorithm"] for row in board]
        scroll_to(driver, "h3", "Leaderboard")
        shot(driver, "weather-05-leaderboard-after-refresh")
        open_expander(driver, "Compare every dimensionality reduction algorithm")
        click_button(driver, "Compare all")
        click_button(driver, "Stop comparing")  # at once: t-SNE on 1,461 rows takes seconds
        wait_text(driver, "The run before (4 of 4 algorithms)", timeout=300)
        wait_idle(driver, timeout=60)
        assert re.search(
            r"Stopped after [0-3] of 4 algorithms; those are kept beside the run before", visible_text(driver)
        )
        scroll_to(driver, "h3", "Leaderboard")
        shot(driver, "weather-06-stopped-beside-the-run-before")
        choose_task(driver, "Classification")
        wait_text(driver, "Fit on CPU (pandas)", timeout=60)  # the model trained before the refresh
        assert target_offered(driver) == "weather"
        scroll_to(driver, "h3", "Result")
        shot(driver, "weather-07-model-after-refresh")

        saved = saved_workspace(driver, downloads)
        entries = {entry["name"]: entry for entry in saved["manifest"]["datasets"]}
        assert list(entries) == ["iris", "seattle-weather", "cars"] and saved["manifest"]["active"] == "seattle-weather"
        assert len(entries["seattle-weather"]["recipe"]["steps"]) == len(steps)
        assert entries["seattle-weather"]["results"]["pipeline"] and entries["seattle-weather"]["results"]["training"]
        assert {"datasets/1.parquet", "datasets/2.parquet"} <= set(saved["members"]), saved["members"]
        shot(driver, "weather-08-saved")
    finally:
        driver.quit()

    other = new_driver(tmp_path_factory.mktemp("journey-weather-chromium-other"))
    try:
        new_session(other, server)
        go_to(other, "Data", "All loaded datasets")
        click_tab(other, "Workspace")
        upload(other, saved["path"], label="Workspace file (.zip) saved by this app")
        click_button(other, "Open workspace")
        wait_active(other, "seattle-weather", timeout=120)  # the file's active dataset
        wait_idle(other, timeout=120)
        names = dataset_names(other, "journeys/weather-09-opened-elsewhere")
        assert {"seattle-weather", "cars"} <= set(names), names
        go_to(other, "Pipeline", "Steps")
        wait_text(other, "This run was kept in your workspace", timeout=60)
        assert steps_listed(other) == steps
        shot(other, "weather-10-pipeline-opened")
        go_to(other, "Models", "Algorithm")
        wait_text(other, "Fit on CPU (pandas)", timeout=60)
        scroll_to(other, "h3", "Result")
        shot(other, "weather-11-model-opened")
    finally:
        other.quit()
