"""The container commands docs/deploy.md gives, read from the file itself, and how the check runs them with podman.

Each command the check runs follows a marker line `<!-- deploy-check: NAME -->` and is the indented code block after
it (continuation lines joined). The check changes only what it must to run them here, beside other work and
without touching the host's network: `docker` becomes `podman`; `-d` and a name and label are added; `--gpus` is
dropped (no GPU here); `-p` is dropped and the container gets the host's network (or none) with the app on 127.0.0.1
(a bridge would change the host's forwarding and firewall); ports become free ones and SCHEDULER the loopback
address; `$PWD/data` the check's data folder; podman's own tmpfs on /run and /var/tmp under --read-only is turned
off, so that, as with Docker, only the documented `--tmpfs /tmp` is writable.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.support.paths import REPO_ROOT

DEPLOY_DOC = REPO_ROOT / "docs" / "deploy.md"
MARKER = re.compile(r"<!-- deploy-check: ([\w-]+) -->")
DROPPED_WITH_VALUE = {"--gpus", "-p", "--publish"}


def documented() -> dict[str, list[str]]:
    """Each marked command of docs/deploy.md by name, split into words as a shell would (no expansion)."""
    lines = DEPLOY_DOC.read_text(encoding="utf-8").splitlines()
    commands: dict[str, list[str]] = {}
    for number, line in enumerate(lines):
        marker = MARKER.search(line)
        if not marker:
            continue
        block = []
        for following in lines[number + 1 :]:
            if not following.strip():
                if block:
                    break
                continue
            if not following.startswith("    ") and not following.startswith("\t"):
                break
            block.append(following.strip())
        text = " ".join(part.removesuffix("\\").strip() for part in block if not part.startswith("#"))
        commands[marker.group(1)] = shlex.split(text)
    return commands


def for_podman(
    command: list[str],
    name: str,
    label: str,
    folder: Path,
    network: str = "host",
    replacements: dict[str, str] | None = None,
    options: tuple[str, ...] = (),
    arguments: tuple[str, ...] = (),
) -> list[str]:
    """A documented `docker run …` as the check runs it (see the module's docstring) in `folder` (for `$PWD`): words
    in `replacements` replaced whole, `options` added before the documented ones, `arguments` after the command the
    container runs."""
    if command[:2] != ["docker", "run"]:
        raise ValueError(f"not a `docker run` command: {' '.join(command)}")
    replacements = replacements or {}
    words: list[str] = []
    skip = False
    for word in command[2:]:
        if skip:
            skip = False
            continue
        if word in DROPPED_WITH_VALUE:
            skip = True
            continue
        words.append(replacements.get(word, word).replace("$PWD", str(folder)))
    added = ["--name", name, "--label", label, "--read-only-tmpfs=false", *options]
    if "-d" not in words and "--detach" not in words:
        added.insert(0, "-d")
    if "--network" not in words:
        added += ["--network", network]
    return ["run", *added, *words, *arguments]


ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")


def for_processes(
    command: list[str],
    replacements: dict[str, str],
    values: dict[str, str] | None = None,
    arguments: tuple[str, ...] = (),
) -> tuple[dict[str, str], list[str]]:
    """A documented `VAR=value … program …` line as the check runs it: the leading assignments as an environment, then
    the words; each text in `replacements` replaced wherever it occurs (paths and placeholders), the value after each
    option in `values` replaced (`--nworkers auto` → `--nworkers 2`), and `arguments` added at the end."""
    values = values or {}

    def replaced(word: str) -> str:
        for text, replacement in replacements.items():
            word = word.replace(text, replacement)
        return word

    words = list(command)
    environment = {}
    while words and ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        environment[name] = replaced(value)
    argv: list[str] = []
    for word in words:
        previous = argv[-1] if argv else None
        argv.append(values[previous] if previous in values else replaced(word))
    return environment, [*argv, *arguments]
