"""Workspaces kept on the server under tokens it issued, so that a browser refresh loses nothing.

A token is a capability: 18 bytes and their HMAC under a secret only the store's folder holds (`secret.key`, mode
0600), 48 URL-safe characters in all. Only a token the store issued names a file, so an address a visitor makes up
names nothing, and nothing outside the folder can be named. Of the 18 bytes, 9 are random and 9 name the browser the
token was issued to (an HMAC of a secret only that browser holds, `owner`): that browser, opening the address again
(a refresh), goes on under the same token (`owns`, `load`); any other browser gets a copy under a token of its own
(`copy`), so nobody else ever writes under it. Two tabs of the one browser may share a token: a save names the
version of the file it replaces, and one that finds another tab's save there is refused (`Taken`), to go on under a
token of its own.

The folder (0700, the server's user's own), how long a workspace is kept and the space all of them may take come
from the operator's environment. Every server process sharing the folder writes under one lock (`lock`), and room is
made before a file is written, so the workspaces never take more than their space, not even while one is written.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from pipeline.settings import positive_int_setting

DIR_ENV = "GPL_WORKSPACE_DIR"
OFF_ENV = "GPL_WORKSPACE_OFF"
HOURS_ENV = "GPL_WORKSPACE_HOURS"
TOTAL_MB_ENV = "GPL_WORKSPACE_TOTAL_MB"
NONCE_BYTES = 18
RANDOM_BYTES = 9  # the nonce's first bytes; the rest name the browser the token was issued to
TAG_BYTES = 18
TOKEN = re.compile(r"[A-Za-z0-9_-]{48}")  # base64url of NONCE_BYTES + TAG_BYTES, no padding
SUFFIX = ".workspace.zip"
PARTIAL = ".partial"  # a file being written; renamed into place when whole
LEFTOVER_S = 60.0  # a partial file older than this was left by a crash
SECRET_NAME = "secret.key"
SECRET_BYTES = 32
LOCK_NAME = "lock"
ANY: Final = "any"  # `save` over whatever version is kept, unchecked

Version = tuple[int, int]  # a kept file's inode and modification time (ns): each save writes a new file


class Taken(Exception):
    """A save found a version of the workspace it did not read or write there: another tab saved under the token."""


@dataclass(frozen=True)
class WorkspaceStore:
    folder: Path
    keep_s: float
    total_bytes: int
    secret: bytes = field(repr=False)

    @classmethod
    def open(cls, folder: Path, keep_s: float, total_bytes: int) -> WorkspaceStore:
        """The store in `folder`: the folder made (mode 0700) or tightened to 0700, its secret made once; an
        OSError naming the problem when the folder is another user's."""
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info, me = folder.stat(), os.geteuid()
        if info.st_uid != me:
            raise PermissionError(
                f"the workspace folder {folder} belongs to user {info.st_uid}, not to this server's user {me}: "
                f"set {DIR_ENV} to a folder of the server's own"
            )
        if stat.S_IMODE(info.st_mode) != 0o700:
            folder.chmod(0o700)
        return cls(folder, keep_s, total_bytes, folder_secret(folder))

    @classmethod
    def from_environment(cls) -> WorkspaceStore | None:
        """$GPL_WORKSPACE_DIR (a folder in the system's temporary one by default), kept $GPL_WORKSPACE_HOURS
        (24), all of them within $GPL_WORKSPACE_TOTAL_MB (4096); None where the operator turned keeping off
        ($GPL_WORKSPACE_OFF=1: nothing a visitor loads is written to disk, and a refresh starts afresh) or the
        folder cannot be used (logged)."""
        if os.environ.get(OFF_ENV, "").strip() == "1":
            return None
        folder = Path(os.environ.get(DIR_ENV) or Path(tempfile.gettempdir()) / "gpu-pipeline-lab-workspaces")
        hours = positive_int_setting(HOURS_ENV, 24)
        try:
            return cls.open(folder, hours * 3600.0, positive_int_setting(TOTAL_MB_ENV, 4096) * 2**20)
        except OSError as error:
            logging.getLogger(__name__).error("Workspaces are not kept across a refresh: %s", error)
            return None

    def issue(self, owner: bytes | None = None) -> str:
        """A new token (48 characters): 9 bytes from the system's secure random source, 9 naming the browser whose
        secret is `owner` (random where there is none, so that no browser owns the token) and their HMAC."""
        start = secrets.token_bytes(RANDOM_BYTES)
        nonce = start + (self._owner_tag(start, owner) if owner else secrets.token_bytes(NONCE_BYTES - RANDOM_BYTES))
        return base64.urlsafe_b64encode(nonce + self._tag(nonce)).decode()

    def owns(self, owner: bytes | None, token: object) -> bool:
        """True only for a token this store issued to the browser whose secret is `owner`."""
        if not owner or not self.issued(token):
            return False
        nonce = base64.urlsafe_b64decode(str(token))[:NONCE_BYTES]
        return hmac.compare_digest(nonce[RANDOM_BYTES:], self._owner_tag(nonce[:RANDOM_BYTES], owner))

    def _owner_tag(self, start: bytes, owner: bytes) -> bytes:
        message = b"workspace owner " + start + hashlib.sha256(owner).digest()
        return hmac.digest(self.secret, message, hashlib.sha256)[: NONCE_BYTES - RANDOM_BYTES]

    def issued(self, token: object) -> bool:
        """True only for a token this store issued (the whole string, so never a path or a trailing newline)."""
        if not isinstance(token, str) or TOKEN.fullmatch(token) is None:
            return False
        raw = base64.urlsafe_b64decode(token)
        return hmac.compare_digest(raw[NONCE_BYTES:], self._tag(raw[:NONCE_BYTES]))

    def _tag(self, nonce: bytes) -> bytes:
        return hmac.digest(self.secret, b"workspace token " + nonce, hashlib.sha256)[:TAG_BYTES]

    def _path(self, token: object) -> Path | None:
        return self.folder / f"{token}{SUFFIX}" if self.issued(token) else None

    def save(self, token: str, data: bytes, over: Version | Literal["any"] | None = ANY) -> Version | None:
        """Keep `data` under `token` (written whole, then renamed into place) and return the version written; None
        when the store did not issue the token or the data alone is over the space all workspaces may take. With
        `over` (the version the caller last read or wrote, None for none), a kept version other than that one
        raises Taken. The workspace it replaces and expired ones go first, then the oldest others until the new
        one fits beside what is left."""
        path = self._path(token)
        if path is None or len(data) > self.total_bytes:
            return None
        with self._locked():
            found = _version(path)
            if over != ANY and found is not None and found != over:
                raise Taken(token)
            self._trim(room=len(data), replacing=path)
            descriptor, partial = tempfile.mkstemp(dir=self.folder, suffix=PARTIAL)  # mode 0600, a name of its own
            try:
                with os.fdopen(descriptor, "wb") as sink:
                    sink.write(data)
                os.replace(partial, path)
            except BaseException:
                Path(partial).unlink(missing_ok=True)
                raise
            return _version(path)

    def load(self, token: object) -> tuple[bytes, Version] | None:
        """What `token` holds and its version; None when the store did not issue it, or nothing (or only an expired
        workspace) is kept under it."""
        path = self._path(token)
        if path is None:
            return None
        with self._locked():
            try:
                if time.time() - path.stat().st_mtime > self.keep_s:
                    path.unlink()
                    return None
                handle = path.open("rb")  # opened while no other save can drop it
            except FileNotFoundError:
                return None
        with handle:
            info = os.fstat(handle.fileno())
            return handle.read(), (info.st_ino, info.st_mtime_ns)

    def version(self, token: object) -> Version | None:
        """The version kept under `token` now (None for none)."""
        path = self._path(token)
        return None if path is None else _version(path)

    def copy(self, source: object, target: str) -> bytes | None:
        """What `source` holds, now also kept under `target`; None when the store did not issue `source`, or
        nothing (or only an expired workspace) is kept under it. The copy is a hard link: saving under either
        token writes a new file, so the two part ways at the first change and take no more room until then."""
        origin, path = self._path(source), self._path(target)
        if origin is None or path is None or origin == path:
            return None
        with self._locked():
            try:
                if time.time() - origin.stat().st_mtime > self.keep_s:
                    origin.unlink()
                    return None
                partial = self.folder / f"{secrets.token_hex(16)}{PARTIAL}"
                os.link(origin, partial)
            except FileNotFoundError:
                return None
            os.replace(partial, path)
            handle = path.open("rb")  # opened while no other save can drop it
        with handle:
            return handle.read()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time, across every server process that shares the folder."""
        descriptor = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def _trim(self, room: int, replacing: Path) -> None:
        """Drop `replacing`, partial files a crash left behind and expired workspaces, then the oldest workspaces
        until `room` more bytes fit within the space. Hard links of one file (a copy and its original) take its
        room once."""
        now = time.time()
        taken = 0
        files: dict[tuple[int, int], tuple[float, int, list[Path]]] = {}
        for path in self.folder.iterdir():
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            age = now - info.st_mtime
            expired = path.name.endswith(SUFFIX) and age > self.keep_s
            if path == replacing or expired or (path.name.endswith(PARTIAL) and age > LEFTOVER_S):
                path.unlink(missing_ok=True)
            elif path.name.endswith(PARTIAL):
                taken += info.st_size
            elif path.name.endswith(SUFFIX):
                files.setdefault((info.st_dev, info.st_ino), (info.st_mtime, info.st_size, []))[2].append(path)
        taken += sum(size for _, size, _ in files.values())
        for _, size, paths in sorted(files.values()):
            if taken + room <= self.total_bytes:
                break
            for path in paths:
                path.unlink(missing_ok=True)
            taken -= size


def _version(path: Path) -> Version | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_mtime_ns


def folder_secret(folder: Path) -> bytes:
    """The folder's secret, made once (32 bytes from the secure random source, mode 0600) by whichever server
    process comes first; an OSError when it is damaged."""
    path = folder / SECRET_NAME
    if not path.exists():
        descriptor, partial = tempfile.mkstemp(dir=folder, suffix=PARTIAL)
        try:
            with os.fdopen(descriptor, "wb") as sink:
                sink.write(secrets.token_bytes(SECRET_BYTES))
            os.link(partial, path)  # never replaces a secret another process made meanwhile
        except FileExistsError:
            pass
        finally:
            Path(partial).unlink(missing_ok=True)
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise OSError(f"{path} is damaged (it should hold {SECRET_BYTES} bytes): delete it to make a new one")
    return secret
