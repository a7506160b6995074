"""`make deploy-check`'s fixtures: the check's podman, the host as it was found, the stand-in base, the image.

The modules here are marked `deploy`: plain `make test` deselects them; `make deploy-check` runs only them, as root,
and fails at once (never skips) where a tool it needs is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.deploy.podman import (
    DEFAULT_STATE,
    STATE_ENV,
    Podman,
    build_image,
    host_changes,
    host_state,
    missing_requirements,
    say,
    standin_base,
    step,
    tidy,
)
from tests.support.paths import TEST_DATA


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With deploy checks selected (after `-m` deselected the rest), stop before the first one where this machine
    cannot run them: a deploy check never skips."""
    if not any(item.get_closest_marker("deploy") for item in items):
        return
    missing = missing_requirements()
    if missing:
        raise pytest.UsageError(
            f"make deploy-check cannot run here: missing {', '.join(missing)}. "
            "Install Debian's podman buildah runc debootstrap chromium chromium-driver (.ci/run does)."
        )


@pytest.fixture(scope="session")
def podman() -> Podman:
    """The check's podman; at the end every container and volume it made is removed, and the host must be as the
    check found it (forwarding, firewall rules, interfaces, podman's state folders)."""
    state = Path(os.environ.get(STATE_ENV) or DEFAULT_STATE)
    before = host_state()
    engine = Podman.configured(state)
    engine.remove_everything()  # left by an earlier run that was killed
    say(f"podman's state and cache: {state}")
    yield engine
    with step("removing the check's containers and volumes"):
        engine.remove_everything()
    shutil.rmtree(engine.scratch, ignore_errors=True)
    removed = tidy(before)
    if removed:
        say(f"removed what the tools left on the host: {', '.join(removed)}")
    changes = host_changes(before, host_state())
    assert not changes, "the check changed the host:\n" + "\n".join(changes)
    say("the host is as the check found it (forwarding, firewall rules, interfaces, state folders)")


@pytest.fixture(scope="session")
def image(podman: Podman) -> str:
    """The app's image, built from the Dockerfile on the stand-in base."""
    return build_image(podman, standin_base(podman))


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory) -> Path:
    """The folder the documented commands run in: `$PWD/data` holds seattle-weather.csv, readable by any user."""
    folder = tmp_path_factory.mktemp("deploy-run")
    data = folder / "data"
    data.mkdir()
    shutil.copyfile(TEST_DATA / "public" / "seattle-weather.csv", data / "seattle-weather.csv")
    for path in (folder, data):
        path.chmod(0o755)
    (data / "seattle-weather.csv").chmod(0o644)
    return folder
