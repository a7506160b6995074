"""The app's container as docs/deploy.md runs it: healthy on the default and on another port, its own unprivileged
user who can change neither the environment nor the code, no build leftovers in the image, a file from the data
folder explored, piped and modelled in a real browser, no connection leaving the machine, and the kept work
surviving a restart on the cache volume."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from pipeline.workspace_store import SUFFIX
from tests.deploy.docs_commands import documented, for_podman
from tests.deploy.podman import LABEL, Podman, say, step
from tests.support.chrome import (
    click_button,
    click_tab,
    dataset_names,
    go_to,
    new_driver,
    new_session,
    screenshot,
    sidebar_text,
    token,
    wait_active,
    wait_idle,
    wait_text,
)
from tests.support.server import free_port

pytestmark = pytest.mark.deploy

AUDIT = Path(__file__).parent / "audit"
AUDIT_LOG = "/tmp/gpl-audit/connections.log"
AUDITED = ("-e", "PYTHONPATH=/opt/gpl-audit:/opt/gpu-pipeline-lab", "-v", f"{AUDIT}:/opt/gpl-audit:ro")
APP = "gpl-app"
LOOPBACK_NAMES = {None, "", "localhost", "0.0.0.0", "::"}
WRITE_PROBE = """
import json, os, sysconfig
paths = {
    "site-packages": sysconfig.get_paths()["purelib"],
    "the environment's bin": os.path.dirname(os.path.realpath(os.sys.executable)),
    "the environment": os.environ.get("CONDA_PREFIX", "/opt/conda"),
    "the app's code": "/opt/gpu-pipeline-lab",
    "the app's pipeline package": "/opt/gpu-pipeline-lab/pipeline",
}
found = {}
for what, folder in paths.items():
    try:
        with open(os.path.join(folder, "written-by-the-app"), "w") as sink:
            sink.write("x")
        found[what] = "written"
    except OSError as error:
        found[what] = f"{type(error).__name__}: {error.strerror}"
print(json.dumps(found))
"""

LEFTOVERS_PROBE = """
import json, os
found = [path for path in ("/tmp/requirements",) if os.path.exists(path)]
for top in ("/mnt", "/run/secrets"):
    for folder, _, files in os.walk(top):
        found += [os.path.join(folder, name) for name in files if os.path.getsize(os.path.join(folder, name))]
for folder, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(folder, d) not in ("/proc", "/sys", "/dev")]
    found += [os.path.join(folder, name) for name in files if name.startswith("requirements") and name.endswith(".txt")]
print(json.dumps(found))
"""


@dataclass
class Journey:
    """What the browser journey leaves for the later checks: the page address (with its workspace token)."""

    address: str = ""
    driver: object = None
    shots: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def app(podman: Podman, image: str, run_folder: Path) -> Iterator[str]:
    """The docs' other-port line on a free port, the app on 127.0.0.1, every Python process in the container
    recording the addresses it uses (tests/deploy/audit); its URL once healthy."""
    port = free_port()
    command = for_podman(
        documented()["run-other-port"],
        name=APP,
        label=LABEL,
        folder=run_folder,
        replacements={"STREAMLIT_SERVER_PORT=9000": f"STREAMLIT_SERVER_PORT={port}"},
        options=("-e", "STREAMLIT_SERVER_ADDRESS=127.0.0.1", *AUDITED),
    )
    with step(f"starting the docs' other-port line on 127.0.0.1:{port}: podman {' '.join(command)}"):
        podman.run(*command, cwd=run_folder)
        say(podman.wait_healthy(APP))
    yield f"http://127.0.0.1:{port}"
    podman("rm", "--force", "--time", "10", APP)


@pytest.fixture(scope="module")
def journey(tmp_path_factory):
    state = Journey(driver=new_driver(tmp_path_factory.mktemp("deploy-chromium")))
    yield state
    state.driver.quit()


@pytest.fixture(scope="module")
def writable_run(podman: Podman, image: str) -> Iterator[str]:
    """The image run without --read-only (and with no network): what its user could change there."""
    podman("run", "-d", "--name", "gpl-writable", "--label", LABEL, "--network", "none", image, "sleep", "600")
    yield "gpl-writable"
    podman("rm", "--force", "--time", "0", "gpl-writable")


def test_the_documented_run_is_healthy_on_the_default_port_and_reaches_nothing_outside(
    podman: Podman, image: str, run_folder: Path
):
    """The docs' first line as it is, listening on all interfaces (its port 8501 inside a network of its own: this
    host's 8501 may be taken): healthy, and at start no Python process in it asked for any address outside the
    machine (Streamlit asks checkip.amazonaws.com for a headless server on all interfaces unless
    browser.serverAddress is set)."""
    command = for_podman(
        documented()["run"], name="gpl-default", label=LABEL, folder=run_folder, network="none", options=AUDITED
    )
    with step("starting the docs' default line (network none): health on 8501 inside"):
        podman.run(*command, cwd=run_folder)
        said = podman.wait_healthy("gpl-default")
    assert said == "healthy: the app (http://127.0.0.1:8501/_stcore/health)", said
    assert_nothing_outside(podman, "gpl-default")
    podman("rm", "--force", "--time", "10", "gpl-default")


def test_the_other_port_line_is_healthy_on_its_port(podman: Podman, app: str):
    status, said = podman.health(APP)
    assert status == "healthy" and said == f"healthy: the app ({app}/_stcore/health)", (status, said)
    with urllib.request.urlopen(f"{app}/_stcore/health", timeout=10) as response:
        assert response.read() == b"ok"


def test_the_app_runs_as_its_own_unprivileged_user(podman: Podman, image: str, app: str):
    assert podman("image", "inspect", "--format", "{{.Config.User}}", image) == "gpl"
    uid = int(podman.exec(APP, "id", "-u", check=True).stdout)
    groups = set(podman.exec(APP, "id", "-G", check=True).stdout.split())
    owner = podman.exec(
        APP,
        "python",
        "-c",
        "import os, sysconfig; s = os.stat(sysconfig.get_paths()['purelib']); print(s.st_uid, s.st_gid)",
        check=True,
    ).stdout.split()
    conda = podman.exec(APP, "getent", "group", "conda", check=True).stdout.split(":")[2]
    say(f"the app runs as uid {uid}, groups {sorted(groups)}; site-packages belongs to {owner[0]}:{owner[1]}")
    assert uid not in (0, 1001) and str(uid) != owner[0], "the app's user must be neither root nor the env's owner"
    assert conda not in groups and owner[1] not in groups, "the app's user must not be in the environment's group"


@pytest.mark.parametrize("container", ["gpl-writable", APP])
def test_the_app_cannot_change_its_environment_or_code(podman: Podman, writable_run: str, app: str, container: str):
    """Without --read-only (gpl-writable) for want of permission; in the documented run besides, read-only."""
    found = json.loads(podman.exec(container, "python", "-c", WRITE_PROBE, check=True).stdout)
    say(f"writes by the app's user in {container}: {found}")
    written = [what for what, outcome in found.items() if outcome == "written"]
    assert not written, f"the app's user could write {', '.join(written)} in {container}"
    if container == "gpl-writable":
        assert all(outcome.startswith("PermissionError") for outcome in found.values()), found


def test_the_image_holds_no_requirement_files_or_build_secrets(podman: Podman, writable_run: str):
    """The requirement files were mounted for the install, the pip configuration and CA given as secrets: none is
    in the image (buildah 1.28 leaves an empty file where it mounted a secret; Docker's BuildKit leaves none)."""
    found = json.loads(podman.exec(writable_run, "python", "-c", LEFTOVERS_PROBE, check=True).stdout)
    assert not found, f"left in the image: {found}"


def test_a_file_from_the_data_folder_goes_through_the_pages_in_a_browser(app: str, journey: Journey):
    """Start → Data (the data folder's file) → Explore → Pipeline → Models, against the container."""
    driver = journey.driver

    def shot(name: str) -> None:
        screenshot(driver, f"deploy/{name}")
        journey.shots.append(name)

    with (
        step("browser journey Start → Data → Explore → Pipeline → Models against the container"),
        shown_on_failure(driver, "deploy/journey-failed"),
    ):
        new_session(driver, app)
        assert "CPU only" in sidebar_text(driver)
        shot("01-start")
        go_to(driver, "Data", "All loaded datasets")
        click_tab(driver, "Data folder")
        WebDriverWait(driver, 60).until(lambda d: chosen(d, "File").startswith("seattle-weather.csv"))
        click_button(driver, "Load file from folder")
        wait_active(driver, "seattle-weather", timeout=120)
        wait_idle(driver, timeout=120)
        assert "1,461 rows × 6 columns" in sidebar_text(driver)
        shot("02-data-folder-file-loaded")
        go_to(driver, "Explore", "Profiled on")
        shot("03-explore")
        go_to(driver, "Pipeline", "Add or change a step")
        click_button(driver, "Use and run")
        wait_text(driver, "Save the result as a dataset named", timeout=120)
        wait_idle(driver, timeout=120)
        shot("04-pipeline-run")
        go_to(driver, "Models", "Algorithm")
        click_button(driver, "Train on CPU (pandas)")
        wait_text(driver, "Fit on CPU (pandas)", timeout=180)
        wait_idle(driver, timeout=120)
        shot("05-model-trained")
        journey.address = f"{app}/?w={token(driver)}"  # the work is kept under the token in the address


def chosen(driver, label: str) -> str:
    """What the selectbox labelled `label` shows (its input's value), or "" while there is none."""
    boxes = driver.find_elements(By.CSS_SELECTOR, f"input[aria-label='{label}']")
    return boxes[0].get_attribute("value") if boxes else ""


@contextmanager
def shown_on_failure(driver, name: str) -> Iterator[None]:
    """Save the page as test-artifacts/<name>.png when the block fails."""
    try:
        yield
    except Exception:
        screenshot(driver, name)
        raise


def test_nothing_left_the_machine(podman: Podman, app: str, journey: Journey):
    """Every address a Python process in the app's container looked up or connected to, from its start through
    the journey, is this machine's."""
    assert journey.address, "the browser journey did not finish: nothing to check after it"
    assert_nothing_outside(podman, APP)


def assert_nothing_outside(podman: Podman, container: str) -> None:
    """Every lookup and connection the audit hook recorded in `container` is local (and it recorded some: the
    health check's own connections at least)."""
    records = [json.loads(line) for line in podman.exec(container, "cat", AUDIT_LOG, check=True).stdout.splitlines()]
    assert any(r["event"] == "socket.connect" for r in records), "the audit hook recorded nothing: is it loaded?"
    outside = [r for r in records if not is_local(r["where"])]
    say(f"{container}: {len(records)} lookups and connections recorded, {len(outside)} not local")
    assert not outside, f"{container} reached outside this machine:\n" + "\n".join(map(json.dumps, outside[:20]))


def is_local(where) -> bool:
    """An address on this machine: a Unix socket, loopback, a wildcard, or a lookup of no host or localhost."""
    if isinstance(where, str) or where is None:  # a Unix socket's path
        return True
    host = where[0] if where else None
    if host in LOOPBACK_NAMES:
        return True
    return str(host).startswith("127.") or host == "::1"


def test_the_kept_work_survives_a_restart_on_the_cache_volume(podman: Podman, app: str, journey: Journey):
    """The session's work is kept in /cache/workspaces (the cache volume), not in /tmp, which a restart empties. The
    browser comes back through the app's first page with its address's token (a page's own address opened first on
    a fresh server: tests/browser/test_page_address_first.py)."""
    assert journey.address, "the browser journey did not finish: no kept work to look for"
    kept = podman.exec(APP, "ls", "/cache/workspaces", check=True).stdout.split()
    assert any(name.endswith(SUFFIX) for name in kept), f"no workspace kept in /cache/workspaces: {kept}"
    podman.exec(APP, "touch", "/tmp/before-the-restart", check=True)
    with step("restarting the app's container"):
        podman("restart", "--time", "20", APP, timeout=120)
        podman.wait_healthy(APP)
    assert podman.exec(APP, "test", "-e", "/tmp/before-the-restart").returncode == 1, "/tmp outlived the restart"
    driver = journey.driver
    with shown_on_failure(driver, "deploy/restart-failed"):
        driver.get(journey.address)
        wait_idle(driver)
        wait_active(driver, "seattle-weather")
        assert "seattle-weather" in dataset_names(driver, "deploy/06-after-restart")
