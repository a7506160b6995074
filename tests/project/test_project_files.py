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


def test_dockerfile_base_image_and_user():
    instructions = dockerfile()
    assert instructions[0] == ("FROM", "rapidsai/base:26.10-cuda13-py3.12")
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the container must run as a non-root user"


def test_the_container_user_can_write_only_its_data_and_cache_folders():
    instructions = dockerfile()
    app_copies = [args for op, args in instructions[instructions.index(("USER", "root")) :] if op == "COPY"]
    assert app_copies and not any("--chown" in args for args in app_copies), "the app's code stays root's"
    runs = " ".join(args for op, args in instructions if op == "RUN")
    assert "chown rapids:conda /data /cache" in runs
    environment = " ".join(args for op, args in instructions if op == "ENV")
    assert "GPL_DATA_DIR=/data" in environment and "HOME=/cache" in environment
    readme = (ROOT / "README.md").read_text()
    assert "--read-only --tmpfs /tmp" in readme and '-v "$PWD/data:/data" -v gpl-cache:/cache' in readme


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


def test_dockerfile_serves_the_app_with_a_health_check():
    instructions = dict(dockerfile())
    assert instructions["EXPOSE"] == "8501"
    assert "/_stcore/health" in instructions["HEALTHCHECK"]
    assert instructions["CMD"] == '["streamlit", "run", "app.py", "--server.address=0.0.0.0"]'


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
    assert "grep -E '^torch==' /tmp/requirements/requirements-dl.txt" in install
    pins = [line for line in (ROOT / "requirements-dl.txt").read_text().splitlines() if line.startswith("torch==")]
    assert len(pins) == 1, "exactly one torch pin, which the CPU machines and the container share"
