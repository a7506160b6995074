"""Concurrent browser sessions against the real server: each loads its own table, explores it, runs a
pipeline on it, and checks it sees only its own data; the server's memory is sampled throughout."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.chrome import (
    ACTIVE_BOX,
    choose,
    click_button,
    click_tab,
    go_to,
    new_driver,
    screenshot,
    sidebar_text,
    upload,
    visible_text,
    wait_active,
    wait_idle,
    wait_text,
)

PATIENCE_S = 240  # the longest wait for one step when many browsers share the machine
PROBLEM_SELECTORS = "[data-testid='stException'], [data-testid='stAlertContentError']"


@dataclass
class SessionResult:
    number: int
    rows: int
    seconds: float = 0.0
    phase: str = "starting"
    datasets_seen: list[str] = field(default_factory=list)
    foreign_markers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def dataset(self) -> str:
        return f"session_{self.number}"

    @property
    def isolated(self) -> bool:
        return sorted(self.datasets_seen) == sorted(["iris", self.dataset]) and not self.foreign_markers


@dataclass
class LoadReport:
    sessions: list[SessionResult]
    seconds: float
    server_baseline_bytes: int
    server_peak_bytes: int

    def as_dict(self) -> dict:
        data = asdict(self)
        data["isolated_sessions"] = sum(session.isolated for session in self.sessions)
        data["sessions_with_problems"] = sum(bool(session.problems) for session in self.sessions)
        return data


class MemorySampler:
    """The peak resident memory of a process and its children, sampled every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        processes = [self.process, *self.process.children(recursive=True)]
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def session_table(number: int) -> pd.DataFrame:
    """A table only session `number` has: its own row count, column names and marker values."""
    rows = 200 + 37 * number
    rng = np.random.default_rng(number)
    return pd.DataFrame(
        {
            f"value_{number}": rng.normal(size=rows).round(6),
            f"group_{number}": rng.choice(["a", "b", "c"], size=rows),
            "marker": [f"marker-of-session-{number}"] * rows,
        }
    )


def problems_on_page(driver) -> list[str]:
    return [element.text[:300] for element in driver.find_elements(By.CSS_SELECTOR, PROBLEM_SELECTORS)]


def datasets_in_sidebar(driver) -> list[str]:
    driver.find_element(By.CSS_SELECTOR, ACTIVE_BOX).click()
    options = WebDriverWait(driver, PATIENCE_S).until(lambda d: d.find_elements(By.CSS_SELECTOR, "[role='option']"))
    names = [option.text.strip() for option in options]
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    return names


def drive_session(url: str, number: int, folder: Path, sessions: int) -> SessionResult:
    """One user: upload their table, explore it, sort it in a pipeline, then look for anyone else's data."""
    table = session_table(number)
    result = SessionResult(number, len(table))
    path = folder / f"{result.dataset}.csv"
    table.to_csv(path, index=False)
    started = time.perf_counter()
    driver = new_driver(folder / f"profile_{number}")
    driver.set_page_load_timeout(300)  # many browsers starting at once share the machine's cores
    try:
        result.phase = "opening the app"
        driver.get(url)
        wait_idle(driver, PATIENCE_S)
        wait_active(driver, "iris", PATIENCE_S)
        result.phase = "uploading"
        go_to(driver, "Data", "Load time and memory by engine", PATIENCE_S)  # the first screen is Start
        click_tab(driver, "Upload")
        upload(driver, path, PATIENCE_S)
        click_button(driver, "Load uploaded file", PATIENCE_S)
        wait_active(driver, result.dataset, PATIENCE_S)
        wait_text(driver, f"{result.rows:,} rows × 3 columns", PATIENCE_S, where="[data-testid='stSidebar']")
        result.problems += problems_on_page(driver)

        result.phase = "exploring"
        go_to(driver, "Explore", "Profiled on", PATIENCE_S)
        wait_idle(driver, PATIENCE_S)
        result.problems += problems_on_page(driver)

        result.phase = "building the pipeline"
        go_to(driver, "Pipeline", "Add or change a step", PATIENCE_S)
        choose(driver, "Step", "rows: Sort rows", PATIENCE_S)
        choose(driver, "Sort by", f"value_{number}", PATIENCE_S)
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        click_button(driver, "Add step", PATIENCE_S)
        wait_text(driver, "1. Sort rows", PATIENCE_S)
        wait_idle(driver, PATIENCE_S)
        run_label = (
            "Run on CPU (pandas)" if "CPU only" in sidebar_text(driver) else "Run on CPU (pandas) and GPU (cuDF)"
        )
        result.phase = "running the pipeline"
        click_button(driver, run_label, PATIENCE_S)
        wait_text(driver, "Result", PATIENCE_S)
        wait_idle(driver, PATIENCE_S)
        result.problems += problems_on_page(driver)

        result.phase = "checking isolation"
        result.datasets_seen = datasets_in_sidebar(driver)
        text = visible_text(driver) + sidebar_text(driver)
        result.foreign_markers = [
            f"session_{other}"
            for other in range(sessions)
            if other != number and re.search(rf"\bsession_{other}\b", text)  # session_1 is not session_12
        ]
    except Exception as error:  # a session that breaks is reported, the others go on
        first_line = (str(error).strip().splitlines() or [""])[0][:200]
        result.problems.append(f"{result.phase}: {type(error).__name__}: {first_line}")
        screenshot(driver, f"load-session-{number}-failed")
    finally:
        result.seconds = time.perf_counter() - started
        driver.quit()
    return result


def run_sessions(url: str, server_pid: int, sessions: int, folder: Path) -> LoadReport:
    """`sessions` browsers at once, each through load → explore → pipeline; with the server's peak memory."""
    with MemorySampler(server_pid) as sampler:
        baseline = sampler.rss()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=sessions) as pool:
            results = list(pool.map(lambda number: drive_session(url, number, folder, sessions), range(sessions)))
        seconds = time.perf_counter() - started
    return LoadReport(results, seconds, baseline, sampler.peak)
