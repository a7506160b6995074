"""Debian's headless Chromium driven by Selenium, and the waits and clicks the browser tests share."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
RERENDERED = (NoSuchElementException, StaleElementReferenceException)  # the page was redrawn under us: try again
ACTIVE_BOX = "[data-testid='stSidebar'] input[aria-label='Active dataset']"


def have_chromium() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def require_chromium() -> None:
    """Called at the top of a browser test module: skip it where Chromium is missing, fail in CI (which must run it)."""
    if have_chromium():
        return
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install Debian's chromium and chromium-driver")
    pytest.skip("Debian chromium and chromium-driver are not installed", allow_module_level=True)


def new_driver(profile: Path) -> webdriver.Chrome:
    """A headless Chromium with its own profile folder (so its own cookies and session)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    return driver


def wait_idle(driver, timeout: float = 60) -> None:
    """Wait until the script has run and the app is idle."""
    time.sleep(0.3)
    WebDriverWait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, IDLE)))


def wait_text(driver, text: str, timeout: float = 60, where: str = "body") -> None:
    WebDriverWait(driver, timeout, ignored_exceptions=RERENDERED).until(
        lambda d: text in d.find_element(By.CSS_SELECTOR, where).text
    )


def screenshot(driver, name: str) -> None:
    """test-artifacts/<name>.png (`name` may hold a folder, as journeys/01-start)."""
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    time.sleep(1.0)  # let charts and data grids paint
    driver.save_screenshot(str(path))


def click_first(driver, selector: str, wanted, timeout: float) -> None:
    """Click the first element matching `selector` for which `wanted(element)` holds, trying again while the
    page is redrawn (Streamlit replaces elements on every rerun)."""

    def click(d) -> bool:
        element = next((e for e in d.find_elements(By.CSS_SELECTOR, selector) if wanted(e)), None)
        if element is None:
            return False
        element.click()
        return True

    WebDriverWait(driver, timeout, ignored_exceptions=RERENDERED).until(click)


def click_tab(driver, label: str, timeout: float = 60) -> None:
    click_first(driver, "[role='tab']", lambda tab: tab.text.strip() == label, timeout)


def click_button(driver, label: str, timeout: float = 20) -> None:
    """Click the visible, enabled button whose text has `label` as a line (icons add lines of their own)."""

    def wanted(button) -> bool:
        lines = [line.strip() for line in button.text.splitlines()]
        return label in lines and button.is_displayed() and button.is_enabled()

    click_first(driver, "button", wanted, timeout)


def sidebar_text(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text


def active_name(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ACTIVE_BOX).get_attribute("value")


def wait_active(driver, name: str, timeout: float = 60) -> None:
    WebDriverWait(driver, timeout, ignored_exceptions=RERENDERED).until(lambda d: active_name(d) == name)


def choose_active(driver, name: str, timeout: float = 20) -> None:
    click_first(driver, ACTIVE_BOX, lambda _box: True, timeout)
    click_first(driver, "[role='option']", lambda option: option.text.strip() == name, timeout)


def go_to(driver, page: str, wait_for: str, timeout: float = 60) -> None:
    """Open a page from the sidebar navigation and wait until it shows `wait_for` and is idle."""
    click_first(driver, "[data-testid='stSidebarNav'] a", lambda link: page in link.text, timeout)
    wait_text(driver, wait_for, timeout)
    wait_idle(driver, timeout)


def new_session(driver, url: str) -> None:
    """A fresh session on the app's first screen, with the sample dataset active."""
    driver.get(url)
    wait_idle(driver)
    wait_active(driver, "iris")


def charts_drawn(driver) -> int:
    """Charts vega-embed has finished drawing (each becomes a canvas or an svg)."""
    return len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart'] canvas, .vega-embed svg"))


def visible_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def choose(driver, label: str, option_text: str, timeout: float = 20) -> None:
    """Pick `option_text` in the selectbox or multiselect labelled `label`."""
    click_first(driver, f"input[aria-label='{label}']", lambda box: box.is_displayed(), timeout)
    click_first(driver, "[role='option']", lambda option: option.text.strip() == option_text, timeout)
    wait_idle(driver, timeout)


def scroll_to(driver, selector: str, text: str) -> None:
    """Scroll the element matching `selector` whose text is `text` into view (found in the page, so never stale)."""
    driver.execute_script(
        "const hit = Array.from(document.querySelectorAll(arguments[0]))"
        ".find(e => e.textContent.trim() === arguments[1]); if (hit) hit.scrollIntoView();",
        selector,
        text,
    )


def upload(driver, path: Path, timeout: float = 120, label: str | None = None) -> None:
    """Put a file in the page's uploader (the one labelled `label`, else the first) and wait until it shows (by
    full name: the chip shortens long ones)."""

    def send(d) -> bool:
        uploaders = d.find_elements(By.CSS_SELECTOR, "[data-testid='stFileUploader']")
        uploader = next((u for u in uploaders if label is None or label in u.text.splitlines()), None)
        if uploader is None:
            return False
        uploader.find_element(By.CSS_SELECTOR, "input[type='file']").send_keys(str(path))
        return True

    WebDriverWait(driver, timeout, ignored_exceptions=RERENDERED).until(send)
    chip = f"[data-testid='stFileChipName'][title='{path.name}']"
    WebDriverWait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, chip)))
    wait_idle(driver, timeout)


def choose_number(driver, label: str, value: float, timeout: float = 20) -> None:
    """Type `value` into the number input labelled `label` and commit it with Enter."""
    box = WebDriverWait(driver, timeout, ignored_exceptions=RERENDERED).until(
        lambda d: d.find_element(By.CSS_SELECTOR, f"input[aria-label='{label}']")
    )
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value), Keys.ENTER)
    wait_idle(driver, timeout)


def multiselect(driver, label: str):
    """The multiselect labelled `label`."""
    return next(
        box
        for box in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stMultiSelect']")
        if box.find_elements(By.CSS_SELECTOR, f"input[aria-label='{label}']")
    )


def picked(driver, label: str) -> list[str]:
    """The values chosen in the multiselect labelled `label`, in order."""
    return [
        tag.get_attribute("aria-label")
        for tag in multiselect(driver, label).find_elements(By.CSS_SELECTOR, "[data-tag]")
    ]


def unpick(driver, label: str, value: str, timeout: float = 20) -> None:
    """Remove `value` from the multiselect labelled `label` (the cross on its chip)."""
    click_first(driver, f"[data-testid='stMultiSelect'] button[aria-label='Remove {value}']", lambda _b: True, timeout)
    wait_idle(driver, timeout)


GRID_CELLS = """
return (async () => {
const grid = arguments[0], scroller = grid.querySelector('.dvn-scroller'), cells = {};
const read = () => grid.querySelectorAll('th, td').forEach(cell => {
  const row = cell.closest('tr').getAttribute('aria-rowindex'), column = cell.getAttribute('aria-colindex');
  cells[row + ',' + column] = cell.textContent;
});
read();
while (scroller && scroller.scrollLeft + scroller.clientWidth < scroller.scrollWidth) {
  scroller.scrollLeft += Math.max(scroller.clientWidth - 50, 50);
  await new Promise(done => setTimeout(done, 300));  // the grid redraws its accessible table after a scroll
  read();
}
if (scroller) scroller.scrollLeft = 0;
return cells;
})();
"""


def grid_rows(driver, grid) -> list[dict[str, str]]:
    """The rows of a `st.dataframe` (its element) as header → text, read from the grid's accessible table, scrolled
    across so that every column is drawn once (the grid draws only the columns in view)."""
    cells = driver.execute_script(GRID_CELLS, grid)
    at = {tuple(int(i) for i in key.split(",")): text for key, text in cells.items()}
    headers = {column: text for (row, column), text in at.items() if row == 1}
    rows = sorted({row for row, _ in at if row > 1})
    return [{headers[c]: at.get((row, c), "") for c in sorted(headers)} for row in rows]


def grids(driver) -> list:
    """The `st.dataframe` elements shown on the page, top to bottom."""
    return [
        grid for grid in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stDataFrame']") if grid.is_displayed()
    ]


def token(driver) -> str:
    """The workspace token the address shows now (waiting for the app to put it back after a page change)."""
    WebDriverWait(driver, 30).until(lambda d: "w" in parse_qs(urlparse(d.current_url).query))
    return parse_qs(urlparse(driver.current_url).query)["w"][0]


def allow_downloads(driver, folder: Path) -> None:
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def downloaded(driver, label: str, folder: Path, pattern: str, timeout: float = 60) -> Path:
    """Click the download button `label` and wait for the file it brings into `folder` (one matching `pattern` that
    was not there before, whole: Chromium renames it into place when the last byte is in)."""
    before = set(folder.glob(pattern))
    click_button(driver, label)
    return WebDriverWait(driver, timeout).until(
        lambda _d: next((p for p in set(folder.glob(pattern)) - before if p.stat().st_size), None)
    )


def saved_workspace(driver, downloads: Path) -> dict:
    """Click Save workspace on the Data page's Workspace tab; the manifest, members and path of the zip the browser
    downloads."""
    go_to(driver, "Data", "All loaded datasets")
    click_tab(driver, "Workspace")
    path = downloaded(driver, "Save workspace (.zip)", downloads, "*.zip")
    archive = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    return {"manifest": json.loads(archive.read("workspace.json")), "members": archive.namelist(), "path": path}


def dataset_names(driver, shot: str) -> list[str]:
    """The datasets the sidebar offers as the active one (every dataset the session holds), the list screenshot."""
    click_first(driver, ACTIVE_BOX, lambda _box: True, 20)
    names = WebDriverWait(driver, 20).until(
        lambda d: [option.text.strip() for option in d.find_elements(By.CSS_SELECTOR, "[role='option']")]
    )
    screenshot(driver, shot)
    driver.find_element(By.CSS_SELECTOR, ACTIVE_BOX).send_keys(Keys.ESCAPE)
    return names
