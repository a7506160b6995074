"""The datasets of one session: each loaded on one or more engines, one of them active."""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import pandas as pd
import psutil

from pipeline.budget import MemoryBudget, gib
from pipeline.engines import Engine, split_reference
from pipeline.errors import DataError
from pipeline.parity import Parity, compare_frames
from pipeline.settings import positive_int_setting
from pipeline.tables.formats import FileRead

MAX_NAME_LENGTH = 80
MAX_DERIVED = 64
SESSION_DATASETS_ENV = "GPL_SESSION_MAX_DATASETS"
SESSION_MEMORY_ENV = "GPL_SESSION_MAX_MB"
DEFAULT_SESSION_DATASETS = 20
DEFAULT_SESSION_MB = 8192
T = TypeVar("T")


@dataclass
class EngineCopy:
    """A dataset's frame on one engine and how long it took to get there."""

    engine: Engine
    frame: Any
    phases: dict[str, float]
    route: str
    transfer_s: float | None = None

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())

    @cached_property
    def nbytes(self) -> int:
        return self.engine.frame_nbytes(self.frame)

    @property
    def held_bytes(self) -> int:
        """Bytes this copy holds in the server's process (host or GPU); a Dask copy lives on the workers."""
        return self.nbytes if self.engine.holds_data_here else 0

    @property
    def lazy(self) -> bool:
        """Whether the frame is a Dask collection, computed on its cluster only when asked."""
        return self.engine.lazy


@dataclass
class Dataset:
    """One table, its copies per engine, and what the user should know about it."""

    id: int
    name: str
    source: str
    copies: dict[str, EngineCopy]
    notes: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    read_from: FileRead | None = None  # how its file was read; None: not read from a file (bundled, made here)
    _schema: pd.DataFrame | None = field(default=None, repr=False)
    _derived: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @property
    def primary(self) -> EngineCopy:
        """The copy previews and summaries read from: the reference engine's when there is one."""
        reference, _others = split_reference(self.copies)
        return reference or next(iter(self.copies.values()))

    @property
    def shape(self) -> tuple[int, int]:
        copy = self.primary
        if copy.lazy:  # counting a Dask frame's rows reads its partitions: once
            return self.remember(("rows",), lambda: copy.engine.row_count(copy.frame)), len(copy.frame.columns)
        return len(copy.frame), len(copy.frame.columns)

    def preview(self, rows: int = 20) -> pd.DataFrame:
        """The first rows as a small pandas frame (only those rows leave the device)."""
        copy = self.primary
        return copy.engine.local.to_pandas(copy.engine.head(copy.frame, rows))

    def schema(self) -> pd.DataFrame:
        """Column, dtype on each engine, null count and distinct count (computed once, on the engine)."""
        if self._schema is None:
            devices = [copy for copy in self.copies.values() if copy.engine.device and not copy.engine.lazy]
            copy = devices[0] if devices else self.primary  # counted where counting is fastest
            frame = copy.frame
            nulls, unique = copy.engine.null_and_distinct_counts(frame)
            schema = pd.DataFrame({"column": [str(c) for c in frame.columns]})
            for name, engine_copy in self.copies.items():
                schema[f"dtype ({name.upper()})"] = [str(t) for t in engine_copy.frame.dtypes]
            schema["nulls"] = nulls.to_numpy()
            schema["unique (≈)" if copy.engine.estimates_quantiles else "unique"] = unique.to_numpy()
            self._schema = schema
        return self._schema

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """A result derived from this dataset, computed once and kept with it.

        A dataset's data never changes after loading (a changed table is a new dataset with a
        new id), so its id is its version; beyond MAX_DERIVED the least recently used go first.
        """
        if key in self._derived:
            self._derived[key] = self._derived.pop(key)  # now the most recently used
            return self._derived[key]
        result = compute()
        while len(self._derived) >= MAX_DERIVED:
            self._derived.pop(next(iter(self._derived)))
        self._derived[key] = result
        return result

    def recall(self, key: Hashable) -> Any | None:
        """A result `remember` kept under `key`, or None."""
        return self._derived.get(key)

    def forget_results(self) -> None:
        """Drop what was derived from the copies (profiles, counts, the schema), to be computed anew."""
        self._derived.clear()
        self._schema = None

    def parity(self) -> Parity | None:
        """Whether the reference copy and each other copy held here hold the same values; None without both."""
        reference, others = split_reference(self.copies)
        held = [copy for copy in others.values() if not copy.engine.lazy]
        if reference is None or not held:
            return None
        result = Parity()
        for copy in held:
            parity = compare_frames(reference.frame, copy.engine.to_pandas(copy.frame))
            result.mismatches.extend(f"{copy.engine.label}: {m}" if len(held) > 1 else m for m in parity.mismatches)
        return result

    def timings(self) -> pd.DataFrame:
        """Load phases per engine in seconds, tidy for charts."""
        rows = [
            {"engine": copy.engine.label, "phase": phase, "seconds": seconds}
            for copy in self.copies.values()
            for phase, seconds in copy.phases.items()
        ]
        return pd.DataFrame(rows, columns=["engine", "phase", "seconds"])

    def release(self) -> None:
        """Drop every copy and give device memory back."""
        engines = [copy.engine for copy in self.copies.values()]
        self.copies.clear()
        self._derived.clear()
        for engine in engines:
            engine.release_memory()


@dataclass(frozen=True)
class SessionLimits:
    """How much one session may hold: datasets, and bytes over all their copies (host and GPU together)."""

    datasets: int = DEFAULT_SESSION_DATASETS
    bytes: int = DEFAULT_SESSION_MB * 2**20

    @classmethod
    def from_environment(cls) -> SessionLimits:
        """The server's limits: $GPL_SESSION_MAX_DATASETS and $GPL_SESSION_MAX_MB, else the defaults."""
        return cls(
            positive_int_setting(SESSION_DATASETS_ENV, DEFAULT_SESSION_DATASETS),
            positive_int_setting(SESSION_MEMORY_ENV, DEFAULT_SESSION_MB) * 2**20,
        )


SERVER_MEMORY_ENV = "GPL_SERVER_MAX_MB"
_catalogs: weakref.WeakSet[Catalog] = weakref.WeakSet()  # every live session's catalog in this server process
_catalogs_lock = threading.Lock()


def server_limit() -> int:
    """What all sessions of this server may hold together: $GPL_SERVER_MAX_MB, by default half the machine's RAM."""
    return positive_int_setting(SERVER_MEMORY_ENV, psutil.virtual_memory().total // 2**21) * 2**20


def server_held() -> int:
    """Bytes every live session's datasets hold together (a session's catalog goes when the session ends)."""
    with _catalogs_lock:
        catalogs = list(_catalogs)
    return sum(catalog.nbytes for catalog in catalogs)


class Catalog:
    """The session's datasets by id, in the order they were added, one of them active."""

    def __init__(self, limits: SessionLimits = SessionLimits()) -> None:
        self._datasets: dict[int, Dataset] = {}
        self._ids = itertools.count(1)
        self.active_id: int | None = None
        self.limits = limits
        with _catalogs_lock:
            _catalogs.add(self)

    def __len__(self) -> int:
        return len(self._datasets)

    def __iter__(self) -> Iterator[Dataset]:
        return iter(self._datasets.values())

    def get(self, dataset_id: int) -> Dataset:
        if dataset_id not in self._datasets:
            raise DataError(f"No dataset with id {dataset_id}: it may have been removed. Pick another one.")
        return self._datasets[dataset_id]

    @property
    def active(self) -> Dataset | None:
        return self._datasets.get(self.active_id) if self.active_id is not None else None

    @property
    def nbytes(self) -> int:
        """Bytes held in the server's process by every copy of every dataset."""
        return sum(copy.held_bytes for dataset in self for copy in dataset.copies.values())

    @property
    def room(self) -> int:
        """Bytes this session may still take before its memory limit."""
        return self.limits.bytes - self.nbytes

    def budget(self) -> MemoryBudget:
        """What one piece of work for this session may take: the server's cap, the memory available, the session's
        room and what all sessions together may still take, whichever is least."""
        return MemoryBudget.for_session(self.room, server_limit() - server_held())

    def check_room(self, count: int = 1) -> None:
        """DataError when `count` more datasets would pass the session's cap on datasets."""
        if len(self) + count > self.limits.datasets:
            raise DataError(
                f"This session holds {len(self)} datasets and may hold at most {self.limits.datasets}. "
                "Remove datasets you no longer need (Data page, Remove), then try again."
            )

    def unique_name(self, wanted: str) -> str:
        """`wanted`, or `wanted (2)`, `wanted (3)`... when that name is taken."""
        taken = {dataset.name for dataset in self}
        name, counter = wanted, 2
        while name in taken:
            name, counter = f"{wanted} ({counter})", counter + 1
        return name

    def add(
        self,
        name: str,
        source: str,
        copies: dict[str, EngineCopy],
        notes: list[str] | None = None,
        failures: dict[str, str] | None = None,
        read_from: FileRead | None = None,
    ) -> Dataset:
        """Add a dataset under a unique name and make it active; past the session's limits, DataError.

        Copies refused for lack of room are released, so their memory goes back at once.
        """
        try:
            self.check_room()
            adding = sum(copy.held_bytes for copy in copies.values())
            held = self.nbytes + adding
            if held > self.limits.bytes:
                raise DataError(
                    f"{name} would bring this session to {gib(held)}, over its limit of {gib(self.limits.bytes)}. "
                    "Remove datasets you no longer need (Data page, Remove), or load fewer rows."
                )
            everyone = server_held() + adding
            if everyone > server_limit():
                raise DataError(
                    f"{name} would bring all sessions of this server to {gib(everyone)}, over the "
                    f"{gib(server_limit())} they may hold together. Remove datasets you no longer need, or try again "
                    "once other sessions have ended."
                )
        except DataError:
            Dataset(0, name, source, copies).release()
            raise
        dataset = Dataset(next(self._ids), self.unique_name(self.check_name(name)), source, copies)
        dataset.notes = list(notes or [])
        dataset.failures = dict(failures or {})
        dataset.read_from = read_from
        self._datasets[dataset.id] = dataset
        self.active_id = dataset.id
        return dataset

    @staticmethod
    def name_for(text: str) -> str:
        """A dataset name made from a file's name: its first part, spaces collapsed, at most MAX_NAME_LENGTH
        characters ("dataset" where nothing is left)."""
        stem = " ".join((text.split(".")[0] or text).split())
        return stem[:MAX_NAME_LENGTH].strip() or "dataset"

    @staticmethod
    def check_name(name: str) -> str:
        cleaned = " ".join(str(name).split())
        if not cleaned:
            raise DataError("A dataset name cannot be blank. Type a name.")
        if len(cleaned) > MAX_NAME_LENGTH:
            raise DataError(f"A dataset name can be at most {MAX_NAME_LENGTH} characters; this one has {len(cleaned)}.")
        return cleaned

    def rename(self, dataset_id: int, new_name: str) -> Dataset:
        dataset = self.get(dataset_id)
        cleaned = self.check_name(new_name)
        if any(other.name == cleaned and other.id != dataset_id for other in self):
            raise DataError(f"A dataset called {cleaned!r} is already loaded. Choose another name.")
        dataset.name = cleaned
        return dataset

    def remove(self, dataset_id: int) -> None:
        """Remove a dataset, free its memory, and make the most recent remaining one active."""
        dataset = self._datasets.pop(self.get(dataset_id).id)
        dataset.release()
        if self.active_id == dataset_id:
            self.active_id = next(reversed(self._datasets), None)

    def drop_engine(self, engine_name: str) -> list[str]:
        """Forget every copy on an engine that has gone (a Dask cluster shut down); the names of the datasets that
        had no other copy, which are removed."""
        return self._drop_copies(lambda name, _copy: name == engine_name)

    def drop_closed(self) -> list[str] | None:
        """Forget the copies on engines closed meanwhile (a Dask cluster shut down while idle or by another hand, or
        lost): None when there were none, else the names of the datasets removed with them. Copies on a newer engine
        of the same name (the cluster connected again) are kept."""
        if not any(copy.engine.closed for dataset in self for copy in dataset.copies.values()):
            return None
        return self._drop_copies(lambda _name, copy: copy.engine.closed)

    def _drop_copies(self, which: Callable[[str, EngineCopy], bool]) -> list[str]:
        """Forget the copies `which(engine name, copy)` picks; the names of the datasets left without any, which are
        removed."""
        emptied = []
        for dataset in list(self):
            dropped = [name for name, copy in dataset.copies.items() if which(name, copy)]
            for name in dropped:
                del dataset.copies[name]
            if dropped:
                dataset.forget_results()
                if not dataset.copies:
                    emptied.append(dataset.name)
                    self.remove(dataset.id)
        return emptied

    def set_active(self, dataset_id: int) -> None:
        self.active_id = self.get(dataset_id).id
