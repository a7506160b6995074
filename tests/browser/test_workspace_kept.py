"""The session's work follows the visitor in a real browser: kept across pages reached through the sidebar, across a
refresh (under the same address), and saved whole as a workspace file."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sklearn.datasets import load_wine

from tests.support.chrome import (
    active_name,
    allow_downloads,
    choose,
    click_button,
    click_tab,
    dataset_names,
    go_to,
    new_driver,
    new_session,
    require_chromium,
    saved_workspace,
    screenshot,
    scroll_to,
    sidebar_text,
    token,
    upload,
    wait_active,
    wait_idle,
    wait_text,
)
from tests.support.server import running_server

pytestmark = pytest.mark.browser

require_chromium()


def listed(manifest: dict) -> list[str]:
    return [entry["name"] for entry in manifest["datasets"]]


def test_uploads_recipes_runs_and_models_survive_pages_and_a_refresh_and_save_whole(tmp_path_factory):
    data = tmp_path_factory.mktemp("kept-data")
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    table = data.parent / "wine.csv"
    table.write_bytes(wine.to_csv(index=False).encode())
    downloads = tmp_path_factory.mktemp("kept-downloads")
    with running_server(data) as running:
        driver = new_driver(tmp_path_factory.mktemp("kept-chromium"))
        allow_downloads(driver, downloads)
        try:
            new_session(driver, running.url)
            address = token(driver)

            go_to(driver, "Data", "All loaded datasets")
            click_tab(driver, "Upload")
            upload(driver, table)
            click_button(driver, "Load uploaded file")
            wait_active(driver, "wine")
            wait_idle(driver)
            screenshot(driver, "kept-01-uploaded")
            assert token(driver) == address, "the session keeps its token through its own reruns"

            first = saved_workspace(driver, downloads)  # a fresh session, right after one upload
            assert listed(first["manifest"]) == ["iris", "wine"], first["manifest"]
            assert "datasets/1.parquet" in first["members"]
            screenshot(driver, "kept-02-saved-after-upload")

            go_to(driver, "Pipeline", "Add or change a step")
            assert token(driver) == address, "a page change through the sidebar keeps the token in the address"
            for number, (kind, field, column, listed_as) in enumerate(
                (
                    ("values: Log (1 + x)", "Columns", "magnesium", "Log (1 + x)"),
                    ("rows: Sort rows", "Sort by", "alcohol", "Sort rows"),
                ),
                start=1,
            ):
                choose(driver, "Step", kind)
                choose(driver, field, column)
                driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
                click_button(driver, "Add step")
                wait_text(driver, f"{number}. {listed_as}")
                wait_idle(driver)
            click_button(
                driver,
                "Run on CPU (pandas)" if "CPU only" in sidebar_text(driver) else "Run on CPU (pandas) and GPU (cuDF)",
            )
            wait_text(driver, "Save the result as a dataset named", timeout=120)
            wait_idle(driver, timeout=120)
            scroll_to(driver, "h3", "Result")
            screenshot(driver, "kept-03-pipeline-run")
            assert token(driver) == address

            go_to(driver, "Models", "Algorithm")
            choose(driver, "Algorithm", "Random forest classifier")
            click_button(
                driver,
                "Train on CPU (pandas)"
                if "CPU only" in sidebar_text(driver)
                else "Train on CPU (pandas) and GPU (cuDF)",
            )
            wait_text(driver, "Fit on CPU (pandas)", timeout=120)
            wait_idle(driver, timeout=120)
            scroll_to(driver, "h3", "Result")
            screenshot(driver, "kept-04-model-trained")
            assert token(driver) == address

            go_to(driver, "Explore", "Profiled on")
            assert token(driver) == address
            driver.refresh()  # on a page other than the ones the work was done on
            wait_idle(driver)
            wait_active(driver, "wine")
            wait_text(driver, "Profiled on")
            screenshot(driver, "kept-05-refreshed-on-explore")
            assert token(driver) == address, "after a refresh the address still carries the same token"

            assert dataset_names(driver, "kept-06-datasets-after-refresh") == ["iris", "wine"]
            assert active_name(driver) == "wine"

            go_to(driver, "Pipeline", "Steps")
            wait_text(driver, "1. Log (1 + x)")
            wait_text(driver, "2. Sort rows")
            wait_text(driver, "This run was kept in your workspace", timeout=30)  # the run's result is shown again
            scroll_to(driver, "h3", "Result")
            screenshot(driver, "kept-07-pipeline-after-refresh")

            go_to(driver, "Models", "Algorithm")
            wait_text(driver, "Fit on CPU (pandas)", timeout=30)
            assert driver.find_element(By.CSS_SELECTOR, "input[aria-label='Algorithm']").get_attribute("value") == (
                "Random forest classifier"
            )
            scroll_to(driver, "h3", "Result")
            screenshot(driver, "kept-08-model-after-refresh")
            assert token(driver) == address

            link = driver.current_url
        finally:
            driver.quit()

        # the address opened in another browser: its own copy, under its own token, holding everything
        other = new_driver(tmp_path_factory.mktemp("kept-chromium-other"))
        other_downloads = tmp_path_factory.mktemp("kept-downloads-other")
        allow_downloads(other, other_downloads)
        try:
            other.get(link)
            wait_idle(other)
            wait_active(other, "wine")
            assert token(other) != address, "another browser gets a copy under a token of its own"
            copied = saved_workspace(other, other_downloads)
            entries = {entry["name"]: entry for entry in copied["manifest"]["datasets"]}
            assert list(entries) == ["iris", "wine"] and copied["manifest"]["active"] == "wine"
            assert [step["kind"] for step in entries["wine"]["recipe"]["steps"]] == ["log1p", "sort"]
            assert entries["wine"]["results"]["pipeline"] and entries["wine"]["results"]["training"]
            assert any(member.startswith("arrays/") for member in copied["members"]), "the training's outputs"
            screenshot(other, "kept-09-another-browser-saved")
        finally:
            other.quit()
