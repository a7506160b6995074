"""Debian's headless Chromium driven by Selenium, and the waits and clicks the browser tests share."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

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
    ARTIFACTS.mkdir(exist_ok=True)
    time.sleep(1.0)  # let charts and data grids paint
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


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


def upload(driver, path: Path, timeout: float = 120) -> None:
    """Put a file in the page's uploader and wait until it shows (by full name: the chip shortens long ones)."""

    def send(d) -> bool:
        d.find_element(By.CSS_SELECTOR, "[data-testid='stFileUploader'] input[type='file']").send_keys(str(path))
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
