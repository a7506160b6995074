"""A size-aware GPU estimate from published figures: a fixed cost per GPU call plus the published speed-up.

For a piece of work timed here on the CPU (`cpu_s` seconds on a table of `rows` rows) that the GPU would do in
`calls` calls, the model gives

    gpu_s = calls × fixed + cpu_s / speedup

`fixed` is what one call costs on the GPU whatever the table's size, from small-table timings that sources published
(fixed_costs/*.json, each with its address); `speedup` is the published speed-up of similar work, measured on large
tables where the fixed cost no longer counts, so it stands for the ratio of the two engines' time per row. Both are
ranges: the fastest estimate pairs the lowest fixed cost with the highest speed-up, the slowest the reverse. No
estimate is below the fixed cost; a table smaller than any the sources timed, larger than the published figure's,
or a figure with no size, is said so beside the estimate. docs/benchmarks.md ("How the GPU estimate is made") has
the sources and the limits.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.cost import InstancePrices, cost_ratios, crossings
from pipeline.errors import DataError
from pipeline.published import FOLDER, WORKS, published_span, speedup_range, work_of

FIXED_FOLDER = FOLDER / "fixed_costs"
MEASUREMENT_FIELDS = ("operation", "rows", "gpu_seconds", "title", "url", "date", "hardware", "software", "method")
NO_FIGURE = "no published figure for work like this: no GPU estimate"
NOT_HELPING_AT_SIZE = "not expected to help at this size"
NOT_HELPING = "not expected to help at this size: the GPU's fixed cost per call is at least the CPU time measured here"
NOT_HELPING_SMALL = (
    "not expected to help at this size: in every small-table timing the sources give (up to {rows:,} rows) the CPU "
    "was faster"
)
FASTER = "expected to be faster: even the slowest estimate is under the CPU time measured here"
MAYBE = "may be faster: the estimate's range spans the CPU time measured here"
RAISED = "the model gives fewer, but up to {rows:,} rows every small-table timing the sources give had the CPU faster"


@dataclass(frozen=True)
class Measurement:
    """One published timing of a GPU call on a small table."""

    library: str
    works: tuple[str, ...]  # the kinds of work this library's fixed cost stands for
    operation: str
    rows: int
    gpu_seconds: float
    cpu_seconds: float | None
    source: str  # title (date)
    url: str
    hardware: str
    software: str


@dataclass(frozen=True)
class FixedCost:
    """What one GPU call costs whatever the table's size: the range over the small-table timings that apply."""

    low: float
    high: float
    smallest_rows: int
    cpu_faster_up_to: int | None  # the largest table up to which every timing had the CPU faster
    sources: tuple[str, ...]


def _checked(path: Path) -> list[Measurement]:
    data = json.loads(path.read_text(encoding="utf-8"))
    works = tuple(data.get("works") or ())
    if not data.get("library") or not works or not set(works) <= set(WORKS):
        raise DataError(f"Fixed costs {path.name} need a library and works among {WORKS}.")
    found = []
    for item in data.get("measurements", []):
        missing = [key for key in MEASUREMENT_FIELDS if item.get(key) in (None, "")]
        if missing:
            raise DataError(f"Fixed costs {path.name}: {item.get('operation')!r} lacks {', '.join(missing)}.")
        seconds, rows = item["gpu_seconds"], item["rows"]
        if not (isinstance(seconds, int | float) and seconds > 0 and isinstance(rows, int) and rows > 0):
            raise DataError(f"Fixed costs {path.name}: {item['operation']!r} needs positive seconds and rows.")
        if item.get("work") is not None and item["work"] not in works:
            raise DataError(
                f"Fixed costs {path.name}: {item['operation']!r} times {item['work']!r}, not one of {works}."
            )
        found.append(
            Measurement(
                data["library"],
                works,
                item["operation"],
                rows,
                float(seconds),
                item.get("cpu_seconds"),
                f"{item['title']} ({item['date']})",
                item["url"],
                item["hardware"],
                item["software"],
            )
        )
    if not found:
        raise DataError(f"Fixed costs {path.name} hold no measurement.")
    return found


def fixed_cost_measurements() -> list[Measurement]:
    """Every shipped small-table timing, checked."""
    return [m for path in sorted(FIXED_FOLDER.glob("*.json")) for m in _checked(path)]


def fixed_cost_table(measurements: list[Measurement]) -> pd.DataFrame:
    """The small-table timings behind the fixed costs, one row each, for people to check."""
    return pd.DataFrame(
        {
            "library": m.library,
            "operation": m.operation,
            "rows": f"{m.rows:,}",
            "GPU seconds": m.gpu_seconds,
            "CPU seconds": m.cpu_seconds,
            "fixed cost of": ", ".join(m.works),
            "source": m.source,
            "url": m.url,
            "hardware": m.hardware,
            "software": m.software,
        }
        for m in measurements
    )


def fixed_cost(measurements: list[Measurement], work: str) -> FixedCost:
    """The fixed cost per call for a kind of work: the range over every small-table timing of the library that
    does it."""
    timed = sorted((m for m in measurements if work in m.works), key=lambda m: m.rows)
    if not timed:
        raise DataError(f"No fixed GPU cost is shipped for {work!r}: add a small-table timing to {FIXED_FOLDER.name}.")
    return FixedCost(
        min(m.gpu_seconds for m in timed),
        max(m.gpu_seconds for m in timed),
        timed[0].rows,
        cpu_faster_up_to(timed),
        tuple(sorted({m.source for m in timed})),
    )


def cpu_faster_up_to(measurements: list[Measurement]) -> int | None:
    """The largest table up to which every one of these small-table timings had the CPU faster."""
    found = None
    for m in sorted(measurements, key=lambda m: m.rows):
        if m.cpu_seconds is None or m.cpu_seconds >= m.gpu_seconds:
            break
        found = m.rows
    return found


def largest_published_rows(figures: pd.DataFrame, work: str) -> int | None:
    """The largest table a published speed-up of this work was measured on; None where no figure states a size."""
    sizes = figures.loc[figures["work"] == work, "rows"].dropna()
    return int(sizes.max()) if len(sizes) else None


def size_note(rows: float, fixed: FixedCost, largest: int | None) -> str:
    """Where `rows` stands against the sizes the sources measured, in words."""
    notes = []
    if rows < fixed.smallest_rows:
        notes.append(
            f"smaller than any table a source timed ({fixed.smallest_rows:,} rows): the fixed cost is assumed to hold"
        )
    if largest is None:
        notes.append("the published speed-ups state no table size: only the fixed cost makes this size-aware")
    elif rows > largest:
        notes.append(f"larger than the largest table measured for this work ({largest:,} rows): extrapolated")
    return "; ".join(notes) or f"within the sizes the sources measured ({fixed.smallest_rows:,} to {largest:,} rows)"


@dataclass(frozen=True)
class TimedWork:
    """A piece of work timed here on the CPU: its name, its step kind or algorithm, seconds, table rows, GPU calls."""

    name: str
    kind: str
    cpu_s: float
    rows: int
    calls: int = 1
    library: str | None = None  # the GPU library that would do it (cuDF, cuML): its small-table size applies


@dataclass(frozen=True)
class Estimate:
    """A piece of work's CPU time beside the GPU time the model gives for it, or the reason it gives none."""

    timed: TimedWork
    work: str | None  # the published work like it; None where nothing published is alike
    verdict: str
    speedups: tuple[float, float] | None = None
    published_rows: int | None = None
    fastest: float | None = None
    slowest: float | None = None
    size_note: str = ""
    sources: tuple[str, ...] = ()

    @property
    def speedup_text(self) -> str:
        if self.speedups is None:
            return "none published"
        size = f"{self.published_rows:,} rows" if self.published_rows else "a size the source does not state"
        return f"{published_span(*self.speedups)} (measured at {size})"


def gpu_seconds(cpu_s: float, calls: int, fixed: float, speedup: float) -> float:
    """The model: a fixed cost per call plus the CPU time divided by the published speed-up."""
    return calls * fixed + cpu_s / speedup


def estimate(figures: pd.DataFrame, measurements: list[Measurement], timed: TimedWork) -> Estimate:
    """The GPU time the model gives for one piece of work timed here, with its range, verdict and sources."""
    work = work_of(timed.kind)
    span = speedup_range(figures, work) if work else None
    if span is None:
        limit = cpu_faster_up_to([m for m in measurements if m.library == timed.library]) if timed.library else None
        small = limit is not None and timed.rows <= limit
        return Estimate(timed, None, NOT_HELPING_SMALL.format(rows=limit) if small else NO_FIGURE)
    low, high = span
    fixed = fixed_cost(measurements, work)
    fastest = gpu_seconds(timed.cpu_s, timed.calls, fixed.low, high)
    slowest = gpu_seconds(timed.cpu_s, timed.calls, fixed.high, low)
    if fastest >= timed.cpu_s:
        verdict = NOT_HELPING
    elif fixed.cpu_faster_up_to is not None and timed.rows <= fixed.cpu_faster_up_to:
        verdict = NOT_HELPING_SMALL.format(rows=fixed.cpu_faster_up_to)
    else:
        verdict = FASTER if slowest < timed.cpu_s else MAYBE
    largest = largest_published_rows(figures, work)
    alike = figures[figures["work"] == work]
    published = sorted(set(alike["source"] + " (" + alike["date"] + ")"))
    return Estimate(
        timed,
        work,
        verdict,
        span,
        largest,
        fastest,
        slowest,
        size_note(timed.rows, fixed, largest),
        (*published, *fixed.sources),
    )


def estimated_curve(
    cpu: pd.DataFrame, work: str, figures: pd.DataFrame, measurements: list[Measurement]
) -> pd.DataFrame:
    """The GPU times the model gives at each size of a CPU curve (columns rows, cpu_s, calls): fastest, slowest and
    their geometric middle (the dashed line a chart draws in the band)."""
    span = speedup_range(figures, work)
    if span is None or cpu.empty:
        return cpu.assign(fastest=pd.Series(dtype=float), slowest=pd.Series(dtype=float), middle=pd.Series(dtype=float))
    fixed = fixed_cost(measurements, work)
    fastest = [gpu_seconds(c, n, fixed.low, span[1]) for c, n in zip(cpu["cpu_s"], cpu["calls"], strict=True)]
    slowest = [gpu_seconds(c, n, fixed.high, span[0]) for c, n in zip(cpu["cpu_s"], cpu["calls"], strict=True)]
    middle = [math.sqrt(f * s) for f, s in zip(fastest, slowest, strict=True)]
    return cpu.assign(fastest=fastest, slowest=slowest, middle=middle)


def cheaper(rows: float, cpu_s: float, fastest: float, slowest: float, fixed: FixedCost, prices: InstancePrices) -> str:
    """Which instance the model says costs less per run at one size: "GPU", "CPU", or "either" where the range of
    the estimate spans the CPU's cost; the CPU up to the size where every small-table timing had it faster."""
    cpu_cost, gpu_per_cpu = cpu_s * prices.cpu_per_hour, prices.gpu_per_hour
    if fastest * gpu_per_cpu >= cpu_cost or (fixed.cpu_faster_up_to is not None and rows <= fixed.cpu_faster_up_to):
        return "CPU"
    return "GPU" if slowest * gpu_per_cpu < cpu_cost else "either"


@dataclass(frozen=True)
class BreakEvenEstimate:
    """The row counts from which the GPU instance would cost less per run, at the model's fastest and slowest ends
    (None at an end where it never does at these prices), with the sentence that says it."""

    fastest: float | None
    slowest: float | None
    verdict: str


def _break_even_rows(
    cpu: pd.DataFrame, fixed: float, speedup: float, prices: InstancePrices
) -> tuple[float | None, str]:
    """The row count from which the GPU costs less at one end of the model, and how it was found."""
    paying = prices.paying_speedup
    if speedup <= paying:
        return None, f"never at these prices (a speed-up of {speedup:,.4g}× does not reach the {paying:.2g}× needed)"
    gpu = [gpu_seconds(c, n, fixed, speedup) for c, n in zip(cpu["cpu_s"], cpu["calls"], strict=True)]
    times = cpu.assign(gpu_s=gpu).sort_values("rows")
    found = [c for c in crossings(times, prices) if c.gpu_cheaper_above]
    if found:
        return found[0].rows, f"between the sizes {found[0].below:,.0f} and {found[0].above:,.0f} timed here"
    _, ratio = cost_ratios(times, prices)
    if all(r > 1 for r in ratio):
        end, where = times.iloc[0], "below the smallest"
    elif all(r <= 1 for r in ratio):
        end, where = times.iloc[-1], "beyond the largest"
    else:
        return None, "not found: the CPU times measured here do not grow with the rows"
    # equal costs: cpu_s × CPU price = (calls × fixed + cpu_s / speedup) × GPU price, solved for cpu_s
    needed = paying * end["calls"] * fixed / (1 - paying / speedup)
    return float(end["rows"] * needed / end["cpu_s"]), (
        f"extrapolated {where} size timed here ({end['rows']:,.0f} rows), taking the CPU time as proportional to rows"
    )


def about(rows: float) -> str:
    """An estimated row count as a sentence gives it: two significant digits (about 54,000 rows, not 54,338)."""
    return f"{float(f'{rows:.2g}'):,.0f}"


def estimated_break_even(
    cpu: pd.DataFrame, work: str, figures: pd.DataFrame, measurements: list[Measurement], prices: InstancePrices
) -> BreakEvenEstimate | None:
    """Where the model says the GPU instance starts to cost less per run, from a CPU curve (rows, cpu_s, calls)
    measured here; None where nothing published is like the work."""
    span = speedup_range(figures, work)
    if span is None or cpu.empty:
        return None
    fixed = fixed_cost(measurements, work)
    fastest, fast_how = _break_even_rows(cpu, fixed.low, span[1], prices)
    slowest, slow_how = _break_even_rows(cpu, fixed.high, span[0], prices)
    floor = fixed.cpu_faster_up_to
    if fastest is not None and floor is not None and fastest < floor:
        fastest, fast_how = float(floor), RAISED.format(rows=floor)
    if slowest is not None and floor is not None and slowest < floor:
        slowest, slow_how = float(floor), RAISED.format(rows=floor)
    if fastest is None:
        return BreakEvenEstimate(None, None, f"The GPU would not cost less at any size: {fast_how}.")
    if slowest is not None and about(slowest) == about(fastest) and slow_how == fast_how:
        return BreakEvenEstimate(
            fastest, slowest, f"The GPU would cost less per run from about {about(fastest)} rows ({fast_how})."
        )
    verdict = f"The GPU would cost less per run from about {about(fastest)} rows at the fastest estimate ({fast_how})"
    if slowest is None:
        return BreakEvenEstimate(fastest, None, f"{verdict}; at the slowest, {slow_how}.")
    return BreakEvenEstimate(
        fastest, slowest, f"{verdict}, and from about {about(slowest)} rows at the slowest ({slow_how})."
    )
