"""Debian's headless Chromium driven by Selenium, and the waits and clicks the browser tests share."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
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
    WebDriverWait(driver, timeout).until(lambda d: text in d.find_element(By.CSS_SELECTOR, where).text)


def screenshot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    time.sleep(1.0)  # let charts and data grids paint
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def click_tab(driver, label: str) -> None:
    tab = next(t for t in driver.find_elements(By.CSS_SELECTOR, "[role='tab']") if t.text.strip() == label)
    tab.click()


def click_button(driver, label: str) -> None:
    """Click the visible button whose text has `label` as a line (icons add lines of their own)."""

    def find(d):
        return next(
            (
                b
                for b in d.find_elements(By.CSS_SELECTOR, "button")
                if label in [line.strip() for line in b.text.splitlines()] and b.is_displayed() and b.is_enabled()
            ),
            None,
        )

    WebDriverWait(driver, 20).until(find).click()


def sidebar_text(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text


def active_name(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, ACTIVE_BOX).get_attribute("value")


def wait_active(driver, name: str, timeout: float = 60) -> None:
    WebDriverWait(driver, timeout).until(lambda d: active_name(d) == name)


def choose_active(driver, name: str) -> None:
    driver.find_element(By.CSS_SELECTOR, ACTIVE_BOX).click()
    option = WebDriverWait(driver, 20).until(
        lambda d: next((o for o in d.find_elements(By.CSS_SELECTOR, "[role='option']") if o.text.strip() == name), None)
    )
    option.click()


def go_to(driver, page: str, wait_for: str) -> None:
    """Open a page from the sidebar navigation and wait until it shows `wait_for` and is idle."""
    link = next(a for a in driver.find_elements(By.CSS_SELECTOR, "[data-testid='stSidebarNav'] a") if page in a.text)
    link.click()
    wait_text(driver, wait_for)
    wait_idle(driver)


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


def choose(driver, label: str, option_text: str) -> None:
    """Pick `option_text` in the selectbox or multiselect labelled `label`."""
    box = WebDriverWait(driver, 20).until(
        lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, f"input[aria-label='{label}']") if e.is_displayed()), None
        )
    )
    box.click()
    option = WebDriverWait(driver, 20).until(
        lambda d: next(
            (o for o in d.find_elements(By.CSS_SELECTOR, "[role='option']") if o.text.strip() == option_text), None
        )
    )
    option.click()
    wait_idle(driver)


def scroll_to(driver, selector: str, text: str) -> None:
    """Scroll the element matching `selector` whose text is `text` into view (found in the page, so never stale)."""
    driver.execute_script(
        "const hit = Array.from(document.querySelectorAll(arguments[0]))"
        ".find(e => e.textContent.trim() === arguments[1]); if (hit) hit.scrollIntoView();",
        selector,
        text,
    )


def upload(driver, path: Path) -> None:
    """Put a file in the page's uploader and wait until it shows (by full name: the chip shortens long ones)."""
    driver.find_element(By.CSS_SELECTOR, "[data-testid='stFileUploader'] input[type='file']").send_keys(str(path))
    chip = f"[data-testid='stFileChipName'][title='{path.name}']"
    WebDriverWait(driver, 120).until(EC.presence_of_element_located((By.CSS_SELECTOR, chip)))
    wait_idle(driver, 120)
