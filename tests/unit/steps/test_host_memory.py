"""Host memory: every step is estimated before it runs on an engine that keeps its data in this server's memory,
and refused past the session's budget with the estimate, the limit and what to do."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from pipeline.budget import WORK_OVERHEAD, MemoryBudget
from pipeline.steps.host_memory import UNMEASURED, HostCost, worked_columns
from pipeline.steps.runner import run_side_by_side
from pipeline.steps.spec import Context, Step, host_need
from pipeline.tables.column_bytes import spelt_out_bytes
from tests.support.engines import HostBackedGpu

ROWS = 2_000_000
TO_TEXT = Step("cast", {"column": "n", "to": "str"})


def numbers() -> pd.DataFrame:
    return pd.DataFrame({"n": np.arange(ROWS, dtype=np.int64)})  # 15 MiB of int64


def test_a_cast_of_a_large_int_column_to_text_is_refused_before_it_runs(cpu):
    frame = numbers()
    budget = MemoryBudget(128 * 2**20, "the test allows")
    start = time.perf_counter()
    run = run_side_by_side([TO_TEXT], {"cpu": frame}, {"cpu": cpu}, budget=budget).runs["cpu"]
    assert time.perf_counter() - start < 1.0, "refused from the estimate, not after casting"
    assert run.frame is None
    assert run.steps[0].error.startswith("Step 1 (cast n to str) needs about 0.2"), run.steps[0].error
    assert "GiB of memory at its peak, more than the 0.12 GiB the test allows." in run.steps[0].error
    assert "Filter rows (a “Sample rows” step) or drop columns before it" in run.steps[0].error


def test_the_same_cast_within_the_budget_runs(cpu):
    frame = numbers().head(100_000)
    run = run_side_by_side([TO_TEXT], {"cpu": frame}, {"cpu": cpu}, budget=MemoryBudget(128 * 2**20, "")).runs["cpu"]
    assert run.ok and run.frame["n"].iloc[-1] == "99999"


def test_the_estimate_follows_the_kind_the_column_type_and_the_target(cpu):
    frame = pd.DataFrame({"n": np.arange(ROWS), "t": pd.array([f"label {i}" for i in range(ROWS)], dtype="str")})
    context = Context(cpu)

    def need(kind: str, params: dict) -> int:
        return host_need(Step(kind, params), frame, context)[0]

    assert need("cast", {"column": "n", "to": "str"}) > 5 * need("cast", {"column": "n", "to": "float64"})
    assert need("sort", {"columns": ["t"], "ascending": True}) > need("sort", {"columns": ["n"], "ascending": True})
    assert need("select", {"columns": ["n"]}) < need("sort", {"columns": ["n"], "ascending": True})
    dictionary = frame.assign(t=frame["t"].astype("category"))  # the same text as codes: written out when worked on
    assert host_need(Step("string", {"column": "t", "op": "upper", "output": "u"}), dictionary, context)[0] > 2 * (
        dictionary["t"].memory_usage(deep=True)
    )


def test_the_host_budget_is_for_engines_that_keep_their_data_in_this_servers_memory(cpu):
    frame = numbers().head(1_000)
    gpu = HostBackedGpu()  # pandas underneath, a GPU's traits: its data is in device memory, checked there
    budget = MemoryBudget(4 * 2**20, "the test allows")  # less than any step takes on the host
    result = run_side_by_side([TO_TEXT], {"cpu": frame, "gpu": frame}, {"cpu": cpu, "gpu": gpu}, budget=budget)
    assert result.runs["cpu"].frame is None and "needs about" in result.runs["cpu"].error
    assert result.runs["gpu"].ok


def test_the_columns_a_step_works_on_are_every_one_its_parameters_name_once_in_order():
    params = {
        "columns": ["a", "b"],
        "column": "c",
        "by": ["a", "d"],
        "on": "e",
        "conditions": [{"column": "f", "op": "is missing"}, {"column": "a"}, "not an item"],
        "aggregations": [{"column": "g", "function": "sum"}],
        "output": "h",
        "mapping": {"i": "j"},
    }
    assert worked_columns(params) == ["a", "b", "c", "d", "e", "f", "g"]
    assert worked_columns({"column": None, "columns": 3}) == []


def test_a_cost_counts_the_table_the_numbers_and_text_it_works_on_and_arrays_a_row():
    frame = pd.DataFrame({"n": np.arange(4, dtype=np.int64), "t": pd.Series(["ab", "cd", "ef", None], dtype="str")})
    text_bytes = spelt_out_bytes(frame["t"])
    cost = HostCost(table=2.0, number=3.0, text=5.0, row_bytes=7)
    base = WORK_OVERHEAD + 2 * 1000 + 7 * 4
    assert cost.need(frame, {"columns": ["n", "t", "gone"]}, 1000) == base + 3 * 32 + 5 * text_bytes
    assert cost.need(frame, {"column": "n"}, 1000) == base + 3 * 32
    assert cost.need(frame, {}, 1000) == base
    assert HostCost().need(frame, {"columns": ["n"]}, 10**9) == WORK_OVERHEAD


def test_a_kind_that_states_no_cost_is_estimated_at_a_copy_and_three_and_six_times_what_it_works_on():
    frame = pd.DataFrame({"n": np.arange(4, dtype=np.int64), "t": pd.Series(["ab", "cd", "ef", "gh"], dtype="str")})
    expected = WORK_OVERHEAD + 1000 + 3 * 32 + 6 * spelt_out_bytes(frame["t"]) + 32 * 4
    assert UNMEASURED.need(frame, {"columns": ["n", "t"]}, 1000) == expected
