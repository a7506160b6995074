"""Run suites of questions on engines and peers: same seeded data, warm-up apart, answers checked, memory sampled."""

from __future__ import annotations

import contextlib
import gc
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from pipeline.bench.peers import PEER_BUILDERS, PEER_LABELS, Peer, peer_missing_reason
from pipeline.bench.questions import Answer, Question, Workspace
from pipeline.bench.results import ERROR, FAILED, OK, SKIPPED, BenchResults, Record
from pipeline.bench.suites import NOT_YET, SUITES
from pipeline.engines import REFERENCE, Engine, failure_message, get_engine
from pipeline.engines.choices import ENGINE_CHOICES, EngineChoice
from pipeline.engines.cluster import choice_named
from pipeline.engines.dask import ClusterSettings, DaskEngine, cluster_work
from pipeline.errors import DataError
from pipeline.steps.runner import memory_in_use
from pipeline.system import environment
from pipeline.tables.synthetic import MAX_ROWS, MIN_ROWS, SyntheticSpec, estimated_bytes
from pipeline.timing import measure

ENGINES = (*ENGINE_CHOICES, *PEER_BUILDERS)
LAZY_SUITES = ("groupby", "join", "steps")  # the suites whose questions run on a lazy engine (Dask) so far
QUICK = {"suites": ("io", "groupby", "join"), "sizes": (100_000,), "repeats": 1, "warmup": 1}
SAMPLE_EVERY_S = 0.005
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class BenchSettings:
    suites: tuple[str, ...]
    engines: tuple[str, ...]
    sizes: tuple[int, ...]
    repeats: int = 3
    warmup: int = 1
    groups: int = 100
    seed: int = 0
    dask_address: str | None = None  # the Dask engines' scheduler; None starts a local cluster
    dask_workers: int | None = None  # local cluster workers (None: one per core, or per GPU)
    dask_memory_limit: str = "auto"  # per local worker; past it workers spill to disk
    dask_cluster: str | None = None  # a cluster the server offers (pipeline.engines.cluster), in place of the above

    def cluster(self, engine: str) -> ClusterSettings:
        """Where the Dask engine called `engine` runs."""
        if self.dask_cluster is not None:
            return choice_named(self.dask_cluster, gpu=ENGINE_CHOICES[engine].gpu).settings
        return ClusterSettings(
            gpu=ENGINE_CHOICES[engine].gpu,
            address=self.dask_address,
            workers=self.dask_workers,
            memory_limit=self.dask_memory_limit,
        )


def parse_list(text: str, known: tuple[str, ...] | list[str], what: str) -> tuple[str, ...]:
    """Comma-separated names, each one of `known`; a DataError names any other."""
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    if not names:
        raise DataError(f"No {what} given: choose from {', '.join(known)}.")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise DataError(f"Unknown {what} {', '.join(map(repr, unknown))}: choose from {', '.join(known)}.")
    return tuple(dict.fromkeys(names))


def parse_sizes(text: str) -> tuple[int, ...]:
    """Row counts such as '1e5,1e6,2500000', each a whole number from MIN_ROWS to MAX_ROWS."""
    sizes = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            value = float(part)
        except ValueError:
            raise DataError(f"Size {part!r} is not a number: write sizes like 1e5,1e6,1e7.") from None
        if not value.is_integer() or not MIN_ROWS <= value <= MAX_ROWS:
            raise DataError(f"Size {part!r} must be a whole number of rows from {MIN_ROWS:,} to {MAX_ROWS:,}.")
        sizes.append(int(value))
    if not sizes:
        raise DataError("No sizes given: write sizes like 1e5,1e6,1e7.")
    return tuple(sorted(set(sizes)))


def validate(settings: BenchSettings) -> BenchSettings:
    """The settings when every suite, engine, size and count can be run here; else a DataError saying why."""
    for suite in settings.suites:
        if suite in NOT_YET:
            raise DataError(f"Suite {suite!r} is not available yet: {NOT_YET[suite]}.")
        if suite not in SUITES:
            raise DataError(f"Unknown suite {suite!r}: choose from {', '.join(SUITES)}.")
    if not settings.suites or not settings.engines:
        raise DataError("Choose at least one suite and one engine.")
    for name in settings.engines:
        if name not in ENGINES:
            raise DataError(f"Unknown engine {name!r}: choose from {', '.join(ENGINES)}.")
        reason = engine_missing_reason(name)
        if reason:
            raise DataError(f"Engine {name!r} cannot run here: {reason}")
        if starts_cluster(name):
            settings.cluster(name).checked()
    if "models" in settings.suites and settings.warmup < 1:
        raise DataError("The models suite needs at least one warm-up run: it prepares the features there.")
    if not 1 <= settings.repeats <= 100 or not 0 <= settings.warmup <= 10:
        raise DataError(f"Repeats must be 1–100 and warm-up 0–10; got {settings.repeats} and {settings.warmup}.")
    for rows in settings.sizes:
        check_memory(settings, rows)
    return settings


def engine_missing_reason(name: str) -> str | None:
    if name in PEER_BUILDERS:
        return peer_missing_reason(name)
    return ENGINE_CHOICES[name].missing_reason()


def starts_cluster(name: str) -> bool:
    """Whether the engine or peer called `name` runs on a Dask cluster (started or joined when it runs)."""
    return name in ENGINE_CHOICES and ENGINE_CHOICES[name].cluster


def default_engines() -> tuple[str, ...]:
    """Every engine and peer that can run here, the CPU engine first; the Dask engines only when asked for (each
    starts a cluster)."""
    return tuple(name for name in ENGINES if not starts_cluster(name) and engine_missing_reason(name) is None)


def estimated_need(settings: BenchSettings, rows: int) -> dict[str, int]:
    """Bytes each memory (host, GPU) needs at `rows`, roughly: the largest suite's tables per copy held there."""
    per_copy = max(
        sum(estimated_bytes(spec) for spec in SUITES[s].specs(rows, settings.seed, settings.groups).values())
        for s in settings.suites
    )
    peers = [e for e in settings.engines if e in PEER_BUILDERS]
    here = _choices_here(settings)
    host_copies = 1 + len(peers) if (peers or any(not choice.gpu for choice in here)) else 0
    need = {"host": per_copy * host_copies}
    if any(choice.gpu for choice in here):
        need["GPU"] = per_copy
    return need


def _choices_here(settings: BenchSettings) -> list[EngineChoice]:
    """The chosen engines that hold their tables in this machine's memory (not on a cluster's workers)."""
    return [ENGINE_CHOICES[e] for e in settings.engines if e in ENGINE_CHOICES and not ENGINE_CHOICES[e].cluster]


def check_memory(settings: BenchSettings, rows: int) -> None:
    """A DataError with the estimate when `rows` would not fit in free host or GPU memory."""
    free = {"host": psutil.virtual_memory().available}
    needs = estimated_need(settings, rows)
    if "GPU" in needs:
        gpu = next(choice for choice in _choices_here(settings) if choice.gpu)
        device = gpu.open().memory_info()
        free["GPU"] = device.free if device else 0
    for where, need in needs.items():
        if need > free[where]:
            raise DataError(
                f"{rows:,} rows need about {need / 2**30:.1f} GiB of {where} memory for these suites and engines, "
                f"but {free[where] / 2**30:.1f} GiB is free. Choose smaller sizes or fewer engines."
            )


class PeakSampler:
    """The highest memory in use seen while a block runs, sampled every 5 ms on a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.peak = memory_in_use(engine)
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.peak = max(self.peak, memory_in_use(self.engine))

    @contextlib.contextmanager
    def sampling(self) -> Iterator[PeakSampler]:
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.peak = max(self.peak, memory_in_use(self.engine))


@dataclass
class Contender:
    """Something that answers questions: an engine with its tables, or a peer with its own copy."""

    name: str
    label: str
    engine: Engine
    workspace: Workspace | None = None
    peer: Peer | None = None

    def skip_reason(self, question: Question) -> str | None:
        """Why this contender does not answer `question`, or None when it does."""
        if self.peer is not None:
            applies = self.peer.knows(question.suite, question.name)
        elif self.engine.lazy and question.suite not in LAZY_SUITES:
            return f"the {question.suite} suite does not run on Dask yet (only {', '.join(LAZY_SUITES)})"
        else:
            applies = question.applies_to(self.name)
        return None if applies else f"does not apply to {self.label}"

    def runner(self, question: Question) -> Callable[[], Any]:
        """The timed work: the question answered and its result held. A lazy engine (Dask) makes the result on its
        workers and keeps it there in partitions (persist): it is never gathered into one worker or this process."""
        if self.peer is not None:
            return lambda: self.peer.run(question.suite, question.name)
        return lambda: self.engine.persist(question.run(self.workspace))


def ask(contender: Contender, question: Question, rows: int, settings: BenchSettings, reference: Answer | None):
    """One record: a warm-up run (memory sampled, answer checked) then the timed repeats."""
    base = {
        "suite": question.suite,
        "question": question.name,
        "label": question.label,
        "engine": contender.name,
        "engine_label": contender.label,
        "rows": rows,
    }
    skipped = contender.skip_reason(question)
    if skipped:
        return Record(**base, status=SKIPPED, message=skipped), None
    run = contender.runner(question)
    sampler = PeakSampler(contender.engine)
    try:
        with sampler.sampling():
            result = run()
            contender.engine.synchronize()
        answer = question.check(result, contender.engine)
        del result
        gc.collect()  # let go before the timed runs, as measure() does between them: Dask would hand back a result held
        disagreement = answer.disagreement(reference, question.tolerance) if reference else None
        if disagreement:
            return Record(**base, status=FAILED, message=disagreement, answer=answer.to_dict()), answer
        timing = measure(run, sync=contender.engine.synchronize, warmup=settings.warmup, repeats=settings.repeats)
    except Exception as error:  # one contender's failure is recorded; the others go on
        return Record(
            **base,
            status=ERROR,
            message=failure_message(contender.engine, f"answering {question.suite} {question.name}", error),
        ), None
    finally:
        contender.engine.release_memory()
    notes = contender.engine.notes()
    return (
        Record(
            **base,
            status=OK,
            median_s=round(timing.timing.median_s, 6),
            min_s=round(timing.timing.min_s, 6),
            max_s=round(timing.timing.max_s, 6),
            first_s=round(timing.timing.first_s, 6),
            repeats=settings.repeats,
            warmup=settings.warmup,
            answer=answer.to_dict(),
            peak_memory_bytes=sampler.peak,
            memory_of=contender.engine.memory_kind,
            message=" ".join(notes),
        ),
        answer,
    )


def generated_tables(specs: dict[str, SyntheticSpec], engine: Engine) -> dict[str, Any]:
    """The suite's tables on `engine` by name: x for a single table (as in db-benchmark), else the prefix
    joined to each generated table's name."""
    tables = {}
    for prefix, spec in specs.items():
        made = engine.generate(spec)
        for name, frame in made.items():
            tables["_".join(part for part in (prefix, name) if part) or "x"] = frame
    return tables


def contenders(
    settings: BenchSettings, suite_name: str, rows: int, folder: Path, clusters: dict[str, DaskEngine]
) -> tuple[list[Contender], list]:
    """Engines (the Dask ones from `clusters`, by name) with their own generated tables and, for suites peers
    answer, peers with the CPU's; and questions."""
    suite = SUITES[suite_name]
    specs = suite.specs(rows, settings.seed, settings.groups)
    cpu = get_engine(REFERENCE)
    cpu_tables = generated_tables(specs, cpu)
    questions = suite.questions(cpu_tables, folder)
    found = []
    for name in settings.engines:
        if name in PEER_BUILDERS:
            if suite.peers:
                found.append(Contender(name, PEER_LABELS[name], cpu, peer=PEER_BUILDERS[name](cpu_tables)))
            continue
        engine = clusters[name] if name in clusters else ENGINE_CHOICES[name].open()
        if engine.is_reference:
            tables = cpu_tables
        elif engine.lazy and suite_name not in LAZY_SUITES:
            tables = {}
        else:
            tables = engine.persist_all(generated_tables(specs, engine))
        found.append(Contender(name, engine.label, engine, Workspace(engine, tables, folder)))
    return found, questions


def new_results(settings: BenchSettings) -> BenchResults:
    """An empty results object for `settings` (checked), with this machine's environment, for `run_bench` to fill."""
    return BenchResults(environment(), asdict(validate(settings)))


def run_bench(
    settings: BenchSettings,
    progress: Progress | None = None,
    results: BenchResults | None = None,
    user: str = "a benchmark run",
) -> BenchResults:
    """Every question of every suite at every size on every engine; the first engine's answers are the reference.

    Records are added to `results` (from `new_results`) as they come, so a caller that is stopped part-way keeps
    the records done. The Dask clusters the run uses are started (or reached) first and count the run as `user`'s
    work until it ends, so no one else's leaving shuts them down under it."""
    settings = validate(settings)
    report = progress or (lambda _fraction, _message: None)
    results = results if results is not None else new_results(settings)
    with contextlib.ExitStack() as held:
        clusters = {
            name: held.enter_context(cluster_work(settings.cluster(name), user))
            for name in settings.engines
            if starts_cluster(name)
        }
        _run_cases(settings, report, results, clusters)
    report(1.0, "Done")
    return results


def _run_cases(
    settings: BenchSettings, report: Progress, results: BenchResults, clusters: dict[str, DaskEngine]
) -> None:
    """Every suite at every size, its records added to `results` as they come."""
    cases = [(suite, rows) for rows in settings.sizes for suite in settings.suites]
    for number, (suite, rows) in enumerate(cases):
        report(number / len(cases), f"{suite} at {rows:,} rows: generating the tables")
        with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
            found, questions = contenders(settings, suite, rows, Path(scratch), clusters)
            for i, question in enumerate(questions):
                reference = None
                for contender in found:
                    done = (number + i / len(questions)) / len(cases)
                    report(done, f"{suite} {question.name} at {rows:,} rows on {contender.label}")
                    record, answer = ask(contender, question, rows, settings, reference)
                    reference = reference or answer
                    results.records.append(record)
            del found
