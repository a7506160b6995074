"""The bad-input corpus of tests/data/bad: its cases as read from cases.toml, and where each file lies."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.data.io import ReadOptions
from tests.support.paths import TEST_DATA

CORPUS = TEST_DATA / "bad"


@dataclass(frozen=True)
class Case:
    file: str
    about: str
    outcome: str
    message: str
    rows: int | None = None
    columns: int | None = None
    encoding: str = "utf-8"
    delimiter: str | None = None
    max_decompressed_mb: int | None = None
    large: bool = False
    dtypes: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.file if self.encoding == "utf-8" else f"{self.file}[{self.encoding}]"

    @property
    def options(self) -> ReadOptions:
        return ReadOptions(delimiter=self.delimiter, encoding=self.encoding)

    @property
    def folder(self) -> Path:
        return CORPUS / "large" if self.large else CORPUS

    @property
    def path(self) -> Path:
        return self.folder / self.file


CASES = [Case(**entry) for entry in tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]]
SMALL_CASES = [case for case in CASES if not case.large]
