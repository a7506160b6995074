"""Workspaces kept on the server under an unguessable token, so that a browser refresh loses nothing.

The token travels in the page's address (`?w=…`); the folder, how long a workspace is kept and the space all of
them may take come from the operator's environment. A token is checked before it names a file: anything but the
letters a token is made of is refused, so no path outside the folder can be named.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.settings import positive_int_setting

DIR_ENV = "GPL_WORKSPACE_DIR"
OFF_ENV = "GPL_WORKSPACE_OFF"
HOURS_ENV = "GPL_WORKSPACE_HOURS"
TOTAL_MB_ENV = "GPL_WORKSPACE_TOTAL_MB"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
SUFFIX = ".workspace.zip"


def is_token(value: object) -> bool:
    """True for what `new_token` makes: 32 letters, digits, - and _ (so never a path)."""
    return isinstance(value, str) and TOKEN.match(value) is not None


def new_token() -> str:
    """32 URL-safe characters from the system's secure random source (192 bits)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class WorkspaceStore:
    folder: Path
    keep_s: float
    total_bytes: int

    @classmethod
    def from_environment(cls) -> WorkspaceStore | None:
        """$GPL_WORKSPACE_DIR (a folder in the system's temporary one by default), kept $GPL_WORKSPACE_HOURS
        (24), all of them within $GPL_WORKSPACE_TOTAL_MB (4096); None where the operator turned keeping off
        ($GPL_WORKSPACE_OFF=1: nothing a visitor loads is written to disk, and a refresh starts afresh)."""
        if os.environ.get(OFF_ENV, "").strip() == "1":
            return None
        folder = Path(os.environ.get(DIR_ENV) or Path(tempfile.gettempdir()) / "gpu-pipeline-lab-workspaces")
        hours = positive_int_setting(HOURS_ENV, 24)
        return cls(folder, hours * 3600.0, positive_int_setting(TOTAL_MB_ENV, 4096) * 2**20)

    def _path(self, token: str) -> Path | None:
        return self.folder / f"{token}{SUFFIX}" if is_token(token) else None

    def load(self, token: str) -> bytes | None:
        """The workspace saved under `token`; None for a malformed, unknown or expired token (an expired one is
        deleted)."""
        path = self._path(token)
        if path is None or not path.is_file():
            return None
        if time.time() - path.stat().st_mtime > self.keep_s:
            path.unlink(missing_ok=True)
            return None
        return path.read_bytes()

    def save(self, token: str, data: bytes) -> bool:
        """Keep `data` under `token` (written whole, then renamed into place); False when the token is malformed or
        the data alone is over the space all workspaces may take. Expired workspaces go first, then the oldest
        others until everything fits."""
        path = self._path(token)
        if path is None or len(data) > self.total_bytes:
            return False
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(".partial")
        partial.write_bytes(data)
        os.replace(partial, path)
        self._trim(keep=path)
        return True

    def _trim(self, keep: Path) -> None:
        now = time.time()
        saved = []
        for path in self.folder.glob(f"*{SUFFIX}"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if now - stat.st_mtime > self.keep_s:
                path.unlink(missing_ok=True)
            else:
                saved.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in saved)
        for _, size, path in sorted(saved):
            if total <= self.total_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size

    def forget(self, token: str) -> None:
        path = self._path(token)
        if path is not None:
            path.unlink(missing_ok=True)
