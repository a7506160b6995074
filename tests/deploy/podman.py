"""Podman and buildah as `make deploy-check` runs them, and the host it must leave as it found it.

Everything podman keeps goes under the check's own folder ($GPL_DEPLOY_STATE, default
~/.cache/gpu-pipeline-lab/deploy-check): its configuration (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF point there, so
the host's /etc/containers is read for nothing but registries and policy), storage, volumes, locks and events. The
configuration carries this kind of host's quirks: `runc` (crun refuses hybrid cgroups), cgroupfs and file events (no
systemd), file locks (not /dev/shm), CNI as the network backend (netavark keeps state in /run/containers even when
unused), default ulimits within the host's hard limits. Containers use the host's network or none: a bridge would turn
on IPv4 forwarding and add NAT rules.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import REPO_ROOT

STATE_ENV = "GPL_DEPLOY_STATE"
DEFAULT_STATE = Path.home() / ".cache" / "gpu-pipeline-lab" / "deploy-check"
TOOLS = ("podman", "buildah", "runc", "debootstrap", "chromium", "chromedriver")
LABEL = "gpl-deploy-check"
IMAGE = "localhost/gpu-pipeline-lab:latest"  # what the docs' `gpu-pipeline-lab` names in podman's local storage
STANDIN_RECIPE = REPO_ROOT / "tests" / "deploy" / "standin_base.sh"
STANDIN_REPOSITORY = "localhost/gpl-standin-base"
PATH_FOR_CONMON = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STARTED = time.monotonic()


def say(message: str) -> None:
    """A line of the check's log, stamped with the time since the check started."""
    print(f"[deploy-check {time.monotonic() - STARTED:7.1f} s] {message}", flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a step, then say how long it took (or that it failed)."""
    say(f"{what} …")
    start = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"{what}: FAILED after {time.monotonic() - start:.1f} s")
        raise
    say(f"{what}: done in {time.monotonic() - start:.1f} s")


def missing_requirements() -> list[str]:
    """What this machine lacks to run the check: the tools, and root (podman runs rootful here)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root (podman and debootstrap run as root: sudo make deploy-check)")
    return missing


def host_limit(kind: int, cap: int) -> int:
    """The host's hard limit of `kind`, at most `cap` (containers may not ask for more than the host allows)."""
    hard = resource.getrlimit(kind)[1]
    return cap if hard == resource.RLIM_INFINITY else min(hard, cap)


def containers_conf(state: Path) -> str:
    files = state / "podman"
    conmon_env = [
        f"PATH={PATH_FOR_CONMON}",
        f"CONTAINERS_CONF={state / 'config' / 'containers.conf'}",
        f"CONTAINERS_STORAGE_CONF={state / 'config' / 'storage.conf'}",
    ]
    ulimits = [
        f"nofile={host_limit(resource.RLIMIT_NOFILE, 1 << 20)}:{host_limit(resource.RLIMIT_NOFILE, 1 << 20)}",
        f"nproc={host_limit(resource.RLIMIT_NPROC, 32768)}:{host_limit(resource.RLIMIT_NPROC, 32768)}",
    ]
    return f"""# Written by tests/deploy/podman.py for make deploy-check; rewritten at every run.
[containers]
default_ulimits = {json.dumps(ulimits)}
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{files / "events.log"}"
tmp_dir = "{files / "tmp"}"
static_dir = "{files / "libpod"}"
volume_path = "{files / "volumes"}"
lock_type = "file"
conmon_env_vars = {json.dumps(conmon_env)}

[network]
network_backend = "cni"
network_config_dir = "{files / "networks"}"
"""


def storage_conf(state: Path) -> str:
    return f"""# Written by tests/deploy/podman.py for make deploy-check; rewritten at every run.
[storage]
driver = "overlay"
graphroot = "{state / "storage"}"
runroot = "{state / "podman" / "run"}"
"""


@dataclass
class Podman:
    """podman and buildah with the check's own configuration and storage."""

    state: Path

    @classmethod
    def configured(cls, state: Path) -> Podman:
        """The check's configuration written under `state`; podman's run-time state reset after a reboot."""
        config = state / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "containers.conf").write_text(containers_conf(state))
        (config / "storage.conf").write_text(storage_conf(state))
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        seen = state / "podman" / "boot_id"
        if seen.exists() and seen.read_text() != boot:  # containers of an earlier boot are gone: so is their state
            shutil.rmtree(state / "podman" / "tmp", ignore_errors=True)
            shutil.rmtree(state / "podman" / "run", ignore_errors=True)
        seen.parent.mkdir(parents=True, exist_ok=True)
        seen.write_text(boot)
        return cls(state)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONTAINERS_CONF": str(self.state / "config" / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(self.state / "config" / "storage.conf"),
            "TMPDIR": str(self.scratch),
        }

    @property
    def scratch(self) -> Path:
        """A folder for the check's temporary files (the base's root file system, the build's secrets)."""
        folder = self.state / "scratch"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def run(self, *args: str, tool: str = "podman", timeout: float = 120, check: bool = True, cwd: Path | None = None):
        """`tool args…` to completion; its output, or an AssertionError showing the command and the end of it."""
        done = subprocess.run(
            [tool, *args], env=self.env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and done.returncode != 0:
            output = done.stdout[-3000:] + done.stderr[-3000:]
            raise AssertionError(f"`{tool} {' '.join(args)}` failed (exit {done.returncode}):\n{output}")
        return done

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        return self.run(*args, timeout=timeout, check=check).stdout.strip()

    def logged(self, log: Path, *args: str, tool: str, timeout: float, cwd: Path | None = None) -> None:
        """A long command (a build) with its output in `log`; on failure an AssertionError with the log's end."""
        with log.open("w") as sink:
            done = subprocess.run(
                [tool, *args],
                env=self.env,
                cwd=cwd,
                stdout=sink,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            raise AssertionError(f"`{tool} {args[0]} …` failed (exit {done.returncode}); {log}:\n{tail}")

    def remove_everything(self) -> None:
        """Every container and volume in the check's storage (all of them are the check's), images left for the
        next run's cache."""
        self("rm", "--all", "--force", "--time", "0", timeout=180)
        self("volume", "rm", "--all", "--force", timeout=60)
        self("image", "prune", "--force", timeout=120)

    def health(self, container: str) -> tuple[str, str]:
        """Run the container's health check now; its status as podman records it and the check's last output."""
        self.run("healthcheck", "run", container, check=False, timeout=60)
        state = json.loads(self("inspect", "--format", "{{json .State}}", container))
        health = state.get("Health") or state.get("Healthcheck") or {}
        log = health.get("Log") or [{}]
        return health.get("Status", ""), (log[-1].get("Output") or "").strip()

    def wait_healthy(self, container: str, timeout: float = 90) -> str:
        """The health check's output once podman records the container healthy; an AssertionError saying what the
        check said last (and the container's log) when it is not within `timeout`."""
        deadline = time.monotonic() + timeout
        status, output = "", ""
        while time.monotonic() < deadline:
            status, output = self.health(container)
            if status == "healthy":
                return output
            if self("inspect", "--format", "{{.State.Running}}", container) != "true":
                break
            time.sleep(1)
        log = self.run("logs", "--tail", "30", container, check=False)
        command, said = self.health_command_output(container)
        raise AssertionError(
            f"{container} is {status or 'not checked'} after {timeout:g} s: its health check `{command}` says "
            f"{said!r}\nits log ends:\n{log.stdout}{log.stderr}"
        )

    def health_command_output(self, container: str) -> tuple[str, str]:
        """The container's health check command and the last line it prints when run now (podman keeps only the
        first 500 characters of its output, which for a traceback is not where the cause is)."""
        test = json.loads(self("inspect", "--format", "{{json .Config.Healthcheck.Test}}", container) or "[]")
        if not test:
            return "none", "the container has no health check"
        kind, *command = test
        argv = ["sh", "-c", command[0]] if kind == "CMD-SHELL" else command
        if self("inspect", "--format", "{{.State.Running}}", container) != "true":
            return " ".join(command), "nothing: the container is not running"
        done = self.exec(container, *argv)
        lines = (done.stdout + done.stderr).strip().splitlines()
        return " ".join(command), lines[-1] if lines else f"nothing (exit {done.returncode})"

    def image_size(self, image: str) -> int:
        return int(self("image", "inspect", "--format", "{{.Size}}", image))

    def exec(self, container: str, *command: str, user: str | None = None, check: bool = False):
        """`podman exec` (as the container's user unless `user`), its completed process."""
        who = ["--user", user] if user else []
        return self.run("exec", *who, container, *command, check=check, timeout=120)


def recipe_hash() -> str:
    return hashlib.sha256(STANDIN_RECIPE.read_bytes()).hexdigest()[:16]


def standin_base(podman: Podman) -> str:
    """The stand-in base image, built from its recipe unless podman's storage holds the one this recipe makes (its
    tag is the recipe's hash); older ones are removed."""
    tag = f"{STANDIN_REPOSITORY}:{recipe_hash()}"
    if podman.run("image", "exists", tag, check=False).returncode == 0:
        say(f"stand-in base {tag}: cached (the recipe has not changed)")
        return tag
    with step(f"building the stand-in base {tag} (debootstrap bookworm minbase + python3)"):
        podman.logged(podman.state / "standin-base.log", str(STANDIN_RECIPE), tag, tool="bash", timeout=900)
    for old in podman("images", "--format", "{{.Repository}}:{{.Tag}}", STANDIN_REPOSITORY).splitlines():
        if old != tag:
            podman("rmi", "--force", old)
    return tag


def pip_secrets(folder: Path) -> list[str]:
    """buildah's --secret arguments giving the build this machine's way to the package index: the CA bundle pip is
    configured with (if any) and a pip configuration naming it. Files under the check's folder, mounted for the RUN
    steps only, never in a layer."""
    folder.mkdir(parents=True, exist_ok=True)
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    settings = dict(re.findall(r"^[^.\s]*\.([\w-]+)='(.*)'$", listed, flags=re.MULTILINE))
    cert = os.environ.get("PIP_CERT") or settings.get("cert")
    lines = ["[global]"]
    secrets: list[str] = []
    if cert and Path(cert).is_file():
        shutil.copyfile(cert, folder / "pip-ca")
        lines.append("cert = /run/secrets/pip-ca")
        secrets += ["--secret", f"id=pip-ca,src={folder / 'pip-ca'}"]
    for name in ("index-url", "timeout", "retries"):  # local folders (find-links, file:// indexes) stay outside
        value = os.environ.get(f"PIP_{name.upper().replace('-', '_')}") or settings.get(name)
        if value and not value.startswith(("file:", "/")):
            lines.append(f"{name} = {value}")
    (folder / "pip.conf").write_text("\n".join(lines) + "\n")
    return [*secrets, "--secret", f"id=pip.conf,src={folder / 'pip.conf'}"]


def build_image(podman: Podman, base: str) -> str:
    """The Dockerfile built on `base` without PyTorch, as `buildah bud --format docker` (the OCI format drops
    HEALTHCHECK), layers cached between runs."""
    secrets = pip_secrets(podman.scratch / "secrets")
    try:
        with step(f"building the image {IMAGE} on {base} (buildah bud --format docker)"):
            podman.logged(
                podman.state / "build.log",
                "bud",
                "--format",
                "docker",
                "--layers",
                "--network",
                "host",
                "--build-arg",
                f"BASE={base}",
                "--build-arg",
                "TORCH_INDEX_URL=",
                *secrets,
                "--tag",
                IMAGE,
                str(REPO_ROOT),
                tool="buildah",
                timeout=1200,
                cwd=REPO_ROOT,
            )
    finally:
        shutil.rmtree(podman.scratch / "secrets", ignore_errors=True)
    say(f"image {IMAGE}: {podman.image_size(IMAGE) / 1e9:.2f} GB")
    return IMAGE


COUNTERS = re.compile(r"\[\d+:\d+\]|counter packets \d+ bytes \d+")
WATCHED = (  # where podman, netavark, CNI, runc and debootstrap put state on a host by default
    "/var/lib/containers",
    "/run/containers",
    "/run/libpod",
    "/etc/containers/networks",
    "/dev/shm/libpod_lock",
    "/var/lib/cni",
    "/run/runc",
    "/run/mount",
    "/run/netns",
)
DROPPINGS = ("/var/lib/containers", "/run/runc", "/run/mount")  # made by the tools even with the check's config


def command_output(*command: str) -> str:
    if shutil.which(command[0]) is None:
        return f"{command[0]}: not installed"
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if not line.startswith("#")]
    return COUNTERS.sub("", "\n".join(lines))


def host_state() -> dict[str, str]:
    """What a container engine could change on this host: forwarding, firewall rules, interfaces, state folders."""
    state = {
        "ipv4 forwarding": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(),
        "ipv6 forwarding": Path("/proc/sys/net/ipv6/conf/all/forwarding").read_text().strip(),
        "iptables rules": command_output("iptables-save"),
        "ip6tables rules": command_output("ip6tables-save"),
        "nftables rules": command_output("nft", "list", "ruleset"),
        "network interfaces": " ".join(sorted(os.listdir("/sys/class/net"))),
    }
    for path in WATCHED:
        state[path] = "present" if os.path.lexists(path) else "absent"
    return state


def tidy(before: dict[str, str]) -> list[str]:
    """Remove what the tools leave behind whatever their configuration (the image-copy cache c/image keeps in
    /var/lib/containers, runc's and libmount's empty folders in /run) where it was not there before the check."""
    removed = []
    for path in DROPPINGS:
        if before.get(path) == "absent" and os.path.lexists(path):
            shutil.rmtree(path)
            removed.append(path)
    return removed


def host_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [
        f"{key}: {before[key]!r} before, {after.get(key)!r} after" for key in before if before[key] != after.get(key)
    ]
