"""A page's own address opened first on a freshly started server (every open tab reloads so after a restart) gets the
whole app: Streamlit runs a page asked for by its address alone until app.py has run once, without the sidebar, the
workspace token or the restored work."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.support.chrome import (
    click_button,
    click_tab,
    dataset_names,
    go_to,
    new_driver,
    require_chromium,
    screenshot,
    token,
    upload,
    wait_active,
    wait_idle,
    wait_text,
)
from tests.support.server import free_port, running_server

pytestmark = pytest.mark.browser

require_chromium()


def heading(driver) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text.strip()


def test_a_page_address_opened_first_on_a_fresh_server_shows_the_whole_app_and_the_kept_work(tmp_path_factory):
    data = tmp_path_factory.mktemp("first-data")
    table = data.parent / "tiny.csv"
    table.write_text("size,weight\n" + "".join(f"{i},{i * 2.5}\n" for i in range(20)), encoding="utf-8")
    # the restarted server listens where the first did and keeps its workspaces in the same folder
    port, workspaces = free_port(), str(tmp_path_factory.mktemp("first-workspaces"))
    driver = new_driver(tmp_path_factory.mktemp("first-chromium"))
    try:
        with running_server(data, port, GPL_WORKSPACE_DIR=workspaces) as fresh:
            driver.get(f"{fresh.url}/models")
            wait_idle(driver)
            wait_active(driver, "iris", timeout=30)  # the sidebar's Active dataset box, with the sample dataset
            wait_text(driver, "Algorithm")
            assert heading(driver) == "Models"
            address = token(driver)
            screenshot(driver, "page-first-01-models")

            go_to(driver, "Data", "All loaded datasets")
            click_tab(driver, "Upload")
            upload(driver, table)
            click_button(driver, "Load uploaded file")
            wait_active(driver, "tiny")
            wait_idle(driver)
            assert token(driver) == address

        with running_server(data, port, GPL_WORKSPACE_DIR=workspaces) as restarted:
            driver.get(f"{restarted.url}/explore?w={address}")
            wait_idle(driver)
            wait_active(driver, "tiny", timeout=30)
            wait_text(driver, "Profiled on")
            assert heading(driver) == "Explore"
            assert token(driver) == address, "the same browser goes on under its token"
            assert dataset_names(driver, "page-first-02-explore-after-restart") == ["iris", "tiny"]
    finally:
        driver.quit()
