"""End to end: the real Streamlit server driven by a real headless Chromium (Debian's, no download)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests import files

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

pytestmark = pytest.mark.browser

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the browser tests: install Debian's chromium and chromium-driver")
    pytest.skip("Debian chromium and chromium-driver are not installed", allow_module_level=True)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "folder_table.parquet").write_bytes(files.parquet_bytes())
    port = free_port()
    env = {**os.environ, "GPL_DATA_DIR": str(data), "STREAMLIT_SERVER_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError(f"streamlit did not start: {process.stdout.read().decode()[-2000:]}")
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
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
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


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
                if label in [line.strip() for line in b.text.splitlines()] and b.is_displayed()
            ),
            None,
        )

    WebDriverWait(driver, 20).until(find).click()


def sidebar_text(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "[data-testid='stSidebar']").text


ACTIVE_BOX = "[data-testid='stSidebar'] input[aria-label='Active dataset']"


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


def test_a_new_user_session(server, browser, tmp_path):
    browser.get(server)
    wait_idle(browser)
    wait_text(browser, "Active dataset", where="[data-testid='stSidebar']")
    assert active_name(browser) == "iris"
    assert "CPU only" in sidebar_text(browser) or "CPU + GPU" in sidebar_text(browser)
    assert "Load time and memory by engine" in browser.find_element(By.TAG_NAME, "body").text
    screenshot(browser, "01-first-screen")

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


def charts_drawn(driver) -> int:
    """Charts vega-embed has finished drawing (each becomes a canvas or an svg)."""
    return len(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart'] canvas, .vega-embed svg"))


def visible_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


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
    heading = next(h for h in browser.find_elements(By.CSS_SELECTOR, "h3") if h.text.strip() == "Result")
    browser.execute_script("arguments[0].scrollIntoView();", heading)
    screenshot(browser, "13-pipeline-run")


def test_run_the_benchmark_and_see_its_charts(server, browser):
    new_session(browser, server)
    go_to(browser, "Benchmark", "Run the benchmark")
    click_button(browser, "Run the benchmark")
    wait_text(browser, "Runs", timeout=180)
    wait_idle(browser, timeout=180)
    WebDriverWait(browser, 30).until(lambda d: charts_drawn(d) >= 2)
    assert "answers failed their check" not in browser.find_element(By.TAG_NAME, "body").text
    heading = next(h for h in browser.find_elements(By.CSS_SELECTOR, "h3") if h.text.strip() == "Runs")
    browser.execute_script("arguments[0].scrollIntoView();", heading)
    screenshot(browser, "14-benchmark-run")

    click_tab(browser, "Load results")
    click_button(browser, "Load the published runs")
    wait_idle(browser)
    WebDriverWait(browser, 30).until(lambda d: "bench_cpu.json" in d.find_element(By.TAG_NAME, "body").text)
    WebDriverWait(browser, 30).until(lambda d: charts_drawn(d) >= 2)
    heat = browser.find_elements(By.CSS_SELECTOR, "[data-testid='stVegaLiteChart']")[-1]
    browser.execute_script("arguments[0].scrollIntoView();", heat)
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
    heading = next(h for h in browser.find_elements(By.CSS_SELECTOR, "h3") if h.text.strip() == "Result")
    browser.execute_script("arguments[0].scrollIntoView();", heading)
    screenshot(browser, "16-models-trained")
