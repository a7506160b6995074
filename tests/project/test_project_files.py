"""The files a user and CI rely on without running them here: Dockerfile, README, Makefile, CI, pins."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, with continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_base_image_is_a_build_argument_and_the_app_has_its_own_user():
    """One Dockerfile for the RAPIDS image and make deploy-check's stand-in; the app runs as `gpl`, neither root nor
    the base's `rapids`, who owns the conda environment (and, in group conda, could change it)."""
    instructions = dockerfile()
    assert instructions[:2] == [("ARG", "BASE=rapidsai/base:26.10-cuda13-py3.12"), ("FROM", "${BASE}")]
    users = [args for op, args in instructions if op == "USER"]
    assert users[-1] == "gpl", "the container must run as its own user"
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "useradd --system --uid 1002 --user-group" in runs and "-G" not in runs.split("useradd", 1)[1].split("&&")[0]


def test_the_container_user_can_write_only_its_data_and_cache_folders():
    instructions = dockerfile()
    app_copies = [args for op, args in instructions[instructions.index(("USER", "root")) :] if op == "COPY"]
    assert app_copies and not any("--chown" in args for args in app_copies), "the app's code stays root's"
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "chown gpl:gpl /data /cache" in runs
    environment = " ".join(args for op, args in instructions if op == "ENV")
    assert "GPL_DATA_DIR=/data" in environment and "HOME=/cache" in environment
    assert "GPL_WORKSPACE_DIR=/cache/workspaces" in environment, "kept work goes on the cache volume, not in /tmp"
    readme = (ROOT / "README.md").read_text()
    assert "--read-only --tmpfs /tmp" in readme and '-v "$PWD/data:/data" -v gpl-cache:/cache' in readme


def test_dask_started_from_the_image_imports_the_apps_code():
    environment = " ".join(args for op, args in dockerfile() if op == "ENV")
    assert "PYTHONPATH=/opt/gpu-pipeline-lab" in environment


def test_requirement_files_and_pip_configuration_never_become_a_layer():
    """The install mounts the build context and takes pip's configuration as optional build secrets."""
    instructions = dockerfile()
    copied = " ".join(args for op, args in instructions if op in ("COPY", "ADD"))
    assert not any(name in copied for name in ("requirements", "pip.conf", "pip-ca", ".pem", ".crt")), copied
    installs = [args for op, args in instructions if op == "RUN" and "pip install" in args]
    assert installs and all("--mount=type=bind,source=.,target=/mnt" in args for args in installs)
    assert all("--mount=type=secret,id=pip.conf" in args for args in installs)


def test_everything_the_dockerfile_copies_exists_and_is_not_docker_ignored():
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()]
    copies = [args for op, args in dockerfile() if op == "COPY"]
    assert copies
    for args in copies:
        sources = [word for word in shlex.split(args) if not word.startswith("--")][:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
            top = source.split("/")[0]
            assert top not in ignored or f"!{source}" in ignored, f"{source} is excluded by .dockerignore"


def test_dockerfile_serves_the_app_with_a_health_check_that_follows_its_settings():
    """The health check asks whatever the container runs (pipeline.healthcheck): no port written into it, and the
    listening address a setting (STREAMLIT_SERVER_ADDRESS) that -e can change, not a flag."""
    instructions = dict(dockerfile())
    assert instructions["EXPOSE"] == "8501"
    assert instructions["HEALTHCHECK"].endswith('CMD ["python", "-m", "pipeline.healthcheck"]')
    assert "8501" not in instructions["HEALTHCHECK"]
    assert instructions["CMD"] == '["streamlit", "run", "app.py"]'
    environment = " ".join(args for op, args in dockerfile() if op == "ENV")
    assert "STREAMLIT_SERVER_ADDRESS=0.0.0.0" in environment and "STREAMLIT_SERVER_PORT=8501" in environment


def test_readme_first_screen_and_container_commands():
    readme = (ROOT / "README.md").read_text()
    first_screen = "\n".join(readme.splitlines()[:40])
    commands = re.findall(r"^\s*(make \w+)\s*$", first_screen, flags=re.MULTILINE)
    assert commands == ["make run", "make test"]
    assert "streamlit run app.py" in readme
    assert "docker build -t gpu-pipeline-lab ." in readme
    assert "docker run --gpus all -p 8501:8501" in readme


def test_ci_runs_the_readme_test_command_and_installs_the_browser():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "chromium-driver" in ci


def test_ci_runs_the_preflight_after_the_tests_against_the_pinned_rapids():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make preflight")
    pins = {
        line.split("[")[0].split("==")[0]: line.split("==")[1] for line in requirement_lines("requirements-gpu.txt")
    }
    for line in requirement_lines("tests/preflight/requirements.txt"):
        name, version = line.split("[")[0].split("==")[0], line.split("==")[1]
        assert pins[name] == version, f"{name}: the pre-flight checks {version}, the GPU install pins {pins[name]}"


def test_ci_runs_the_speed_guard_after_the_tests_on_the_dev_environment():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make test") < ci.index("make speed-guard")
    makefile = (ROOT / "Makefile").read_text()
    target, recipe = makefile.split("\nspeed-guard:", 1)[1].split("\n", 1)
    assert "$(VENV)/.installed-dev" in target
    assert recipe.split("\n\n", 1)[0].strip() == "$(BIN)/python -m benchmarks.speed_guard"


def test_ci_runs_the_deploy_check_last_and_plain_test_runs_leave_it_out():
    ci = (ROOT / ".ci" / "run").read_text()
    steps = [line.split("make ", 1)[1] for line in ci.splitlines() if line.startswith(("make ", "$SUDO make "))]
    assert steps == ["test", "speed-guard", "preflight", "deploy-check"]
    assert all(tool in ci for tool in ("podman", "buildah", "runc", "debootstrap"))
    import tomllib

    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    assert "-m 'not deploy'" in addopts
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndeploy-check:", 1)[1].split("\n\n", 1)[0]
    assert "pytest tests/deploy -m deploy" in recipe


def test_the_deploy_check_runs_the_container_commands_deploy_md_gives():
    from tests.deploy.docs_commands import documented

    commands = documented()
    assert set(commands) == {
        "build",
        "run",
        "run-other-port",
        "scheduler",
        "cpu-worker",
        "process-scheduler",
        "process-worker",
    }
    assert commands["build"] == ["docker", "build", "-t", "gpu-pipeline-lab", "."]
    for name in ("run", "run-other-port", "scheduler", "cpu-worker"):
        assert commands[name][:2] == ["docker", "run"] and "gpu-pipeline-lab" in commands[name], commands[name]
    assert "STREAMLIT_SERVER_PORT=9000" in commands["run-other-port"]

    def runs(name: str) -> list[str]:
        return commands[name][commands[name].index("gpu-pipeline-lab") + 1 :]

    assert runs("run") == runs("run-other-port") == []
    assert runs("scheduler")[:2] == ["dask", "scheduler"]
    assert runs("cpu-worker")[:3] == ["dask", "worker", "tcp://SCHEDULER:8786"]
    app = "PYTHONPATH=/path/to/gpu-pipeline-lab"  # the app's code on the path of processes started by hand
    dask = "/path/to/gpu-pipeline-lab/.venv/bin/dask"
    assert commands["process-scheduler"][:3] == [app, dask, "scheduler"]
    assert commands["process-worker"][:4] == [app, dask, "worker", "tcp://SCHEDULER:8786"]


def requirement_lines(path: str) -> list[str]:
    text = (ROOT / path).read_text()
    return [line.strip() for line in text.splitlines() if "==" in line and not line.startswith(("#", "-"))]


def test_make_run_leaves_the_port_to_streamlit_settings():
    makefile = (ROOT / "Makefile").read_text()
    run_recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "streamlit run app.py" in run_recipe and "--server.port" not in run_recipe


@pytest.mark.parametrize(("target", "installs"), [("run", "requirements.txt"), ("lint", "requirements-dev.txt")])
def test_make_says_what_it_is_doing_before_it_installs(tmp_path, target, installs):
    """A first `make run` is silent for minutes while pip works (`--quiet`): each long step is announced first."""
    done = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}", "PYTHON=python3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    creating = next(i for i, line in enumerate(lines) if "-m venv" in line)
    installing = next(i for i, line in enumerate(lines) if f"pip install --quiet -r {installs}" in line)
    assert lines[creating - 1].startswith("echo ") and "first run only" in lines[creating - 1], lines
    assert lines[installing - 1].startswith("echo ") and "minutes" in lines[installing - 1], lines


def test_streamlit_config_is_safe():
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert re.search(r"^enableXsrfProtection = true$", config, flags=re.MULTILINE)
    assert re.search(r"^maxUploadSize = \d+$", config, flags=re.MULTILINE)
    assert re.search(r"^gatherUsageStats = false$", config, flags=re.MULTILINE)


def test_the_server_does_not_watch_virtual_environments():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    ignored = set(config["server"].get("folderWatchBlacklist", []))
    assert {".venv", ".rapids", "benchmarks/.venv-ydata"} <= ignored


def test_pins_agree_with_rapids():
    cpu = (ROOT / "requirements.txt").read_text()
    gpu = (ROOT / "requirements-gpu.txt").read_text()
    assert "pandas>=3.0,<3.1" in cpu and "numpy>=2.0,<2.5" in cpu
    assert "cudf-cu13==26.10.*" in gpu and "cuml-cu13==26.10.*" in gpu
    bundle = ROOT.parent / "shared" / "gpu" / "bundle.txt"
    if bundle.exists():  # the shared bundle used on the lent GPU machine pins the same
        text = bundle.read_text()
        assert "pandas>=3.0,<3.1" in text and "numpy>=2.0,<2.5" in text


def test_pipeline_never_imports_streamlit_gpu_libraries_or_torch_at_module_level():
    for path in (ROOT / "pipeline").rglob("*.py"):
        source = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+streamlit", source, flags=re.MULTILINE), path.name
        assert not re.search(r"^(import|from)\s+(cudf|cuml|cupy|torch)\b", source, flags=re.MULTILINE), path.name


def test_the_container_installs_the_pinned_torch_as_a_cuda_build():
    instructions = dockerfile()
    arguments = dict(args.split("=", 1) for op, args in instructions if op == "ARG")
    assert arguments["TORCH_INDEX_URL"].startswith("https://download.pytorch.org/whl/cu13")
    install = next(args for op, args in instructions if op == "RUN" and "TORCH_INDEX_URL" in args)
    assert "grep -E '^torch==' /mnt/requirements-dl.txt" in install
    pins = [line for line in (ROOT / "requirements-dl.txt").read_text().splitlines() if line.startswith("torch==")]
    assert len(pins) == 1, "exactly one torch pin, which the CPU machines and the container share"
