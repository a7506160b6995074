"""Every case of the bad-input corpus (tests/data/bad) through pipeline.data.io and through the Data page."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.data.catalog import Catalog
from pipeline.data.io import DECOMPRESSED_LIMIT_ENV, Source
from pipeline.data.loading import load_file
from pipeline.errors import DataError
from pipeline.profile import profile_frame
from tests.data.bad.make_corpus import LARGE_FILES, SMALL, ensure_large
from tests.support.apptest import APP, TIMEOUT
from tests.support.corpus import CASES, CORPUS, SMALL_CASES, Case

UPLOAD_LIMIT = 200 * 2**20


@pytest.fixture(scope="module", autouse=True)
def large_files():
    ensure_large()


@pytest.fixture
def server_cap(monkeypatch):
    """Set the server's decompression cap the way an operator does, from the environment."""

    def apply(case: Case) -> None:
        if case.max_decompressed_mb is not None:
            monkeypatch.setenv(DECOMPRESSED_LIMIT_ENV, str(case.max_decompressed_mb))

    return apply


def load(case: Case, engine, source: Source):
    """The case's outcome through pipeline.data.io: its error checked and None, or the loaded dataset."""
    if case.outcome == "refused":
        with pytest.raises(DataError, match=case.message):
            load_file(Catalog(), source, [engine], case.options, max_bytes=UPLOAD_LIMIT)
        return None
    dataset = load_file(Catalog(), source, [engine], case.options, max_bytes=UPLOAD_LIMIT)
    check_loaded(case, dataset)
    return dataset


def told(dataset) -> str:
    return "\n".join(dataset.notes)


def check_loaded(case: Case, dataset) -> None:
    assert dataset.shape == (case.rows, case.columns)
    assert re.search(case.message, told(dataset)), told(dataset)
    frame = dataset.primary.frame
    for column, dtype in case.dtypes.items():
        assert str(frame[column].dtype) == dtype, (column, frame[column].dtype)


def test_the_corpus_has_over_forty_cases_and_every_file_has_one():
    assert len(CASES) >= 40
    covered = {case.file for case in CASES}
    assert covered == set(SMALL) | set(LARGE_FILES)
    committed = {path.name for path in CORPUS.iterdir() if path.is_file()} - {"make_corpus.py", "cases.toml"}
    assert committed == set(SMALL), "run python tests/data/bad/make_corpus.py and commit what it writes"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case_through_pipeline_io_from_the_data_folder(case, cpu, server_cap):
    server_cap(case)
    load(case, cpu, Source.from_path(case.path))


@pytest.mark.parametrize("case", SMALL_CASES, ids=[case.id for case in SMALL_CASES])
def test_case_through_pipeline_io_as_an_upload_and_the_loaded_table_profiles(case, cpu, server_cap):
    server_cap(case)
    dataset = load(case, cpu, Source.from_bytes(case.file, case.path.read_bytes()))
    if dataset is not None:
        assert len(profile_frame(cpu, dataset.primary.frame).columns) == case.columns


def upload(at: AppTest, case: Case) -> AppTest:
    at.selectbox(key="upload_encoding").set_value(case.encoding)
    at.file_uploader(key="upload_file").set_value((case.file, case.path.read_bytes(), "application/octet-stream"))
    at.run()
    return at.button(key="upload_load").click().run()


def from_folder(at: AppTest, case: Case) -> AppTest:
    at.selectbox(key="folder_encoding").set_value(case.encoding)
    at.selectbox(key="folder_file").set_value(case.file)
    return at.button(key="folder_load").click().run()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case_through_the_data_page(case, monkeypatch, server_cap):
    """Uploaded (or, for the large files, picked from the data folder): the user sees the outcome, never a
    traceback, and the dataset loaded before stays loaded and usable."""
    server_cap(case)
    monkeypatch.setenv("GPL_DATA_DIR", str(case.folder))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run().switch_page("pages/data.py").run()
    before = [dataset.name for dataset in at.session_state["catalog"]]
    at = from_folder(at, case) if case.large else upload(at, case)
    assert not at.exception, [e.value for e in at.exception]
    catalog = at.session_state["catalog"]
    errors = [element.value for element in at.error]
    if case.outcome == "refused":
        assert any(re.search(case.message, text) for text in errors), errors
        assert [dataset.name for dataset in catalog] == before
        assert catalog.active.name == before[-1] and catalog.active.shape == (150, 5)
        return
    assert not errors, errors
    assert [dataset.name for dataset in catalog][: len(before)] == before and len(catalog) == len(before) + 1
    check_loaded(case, catalog.active)
    shown = "\n".join(re.sub(r"\\(.)", r"\1", caption.value) for caption in at.caption)  # markdown escapes undone
    assert re.search(case.message, shown), shown


LOADING_CASES = [case for case in CASES if case.outcome == "loads"]


@pytest.mark.gpu
@pytest.mark.parametrize("case", LOADING_CASES, ids=[case.id for case in LOADING_CASES])
def test_case_loads_on_the_gpu_with_the_cpu_values(case, cpu, gpu):
    from pipeline.parity import compare_frames

    catalog = Catalog()
    dataset = load_file(catalog, Source.from_path(case.path), [cpu, gpu], case.options)
    assert not dataset.failures, dataset.failures
    parity = compare_frames(dataset.copies["cpu"].frame, gpu.to_pandas(dataset.copies["gpu"].frame))
    assert parity.ok, parity.mismatches


def test_the_reliability_document_lists_every_case():
    text = (CORPUS.parent.parent.parent / "docs" / "reliability.md").read_text(encoding="utf-8")
    missing = [case.file for case in CASES if f"`{case.file}`" not in text]
    assert not missing, f"docs/reliability.md does not list {missing}"
    loads = sum(case.outcome == "loads" for case in CASES)
    assert f"**{loads} load**" in text and f"**{len(CASES) - loads} are refused**" in text
    assert f"holds {len(CASES)} cases" in text
