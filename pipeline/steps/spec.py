"""Preprocessing steps as declarative specs: a kind and JSON parameters, checked against a schema.

A `Step` says what to do; its `StepKind` (registered in `pipeline.steps.library`) checks the
parameters against the columns the step will see and applies it to a pandas or cuDF frame.
A `Recipe` is an ordered list of steps that round-trips through JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.budget import MemoryBudget
from pipeline.engines import Engine
from pipeline.errors import DataError
from pipeline.steps.host_memory import UNMEASURED, HostCost
from pipeline.tables.column_kinds import column_kind
from pipeline.tables.visitor_json import parse_json

RECIPE_VERSION = 1
MAX_RECIPE_STEPS = 100


@dataclass(frozen=True)
class Schema:
    """Column names in order, each with its kind (numeric, boolean, datetime, text, other)."""

    kinds: dict[str, str]

    @classmethod
    def of(cls, frame: Any) -> Schema:
        return cls({str(name): column_kind(dtype) for name, dtype in zip(frame.columns, frame.dtypes, strict=True)})

    @property
    def columns(self) -> list[str]:
        return list(self.kinds)

    def need(self, name: Any, *kinds: str) -> str:
        """`name` when it is a column here (of one of `kinds`, if given); a DataError saying why not otherwise."""
        if not isinstance(name, str) or name not in self.kinds:
            shown = ", ".join(self.columns[:12]) + (" …" if len(self.kinds) > 12 else "")
            raise DataError(f"No column {name!r} at this step (an earlier step may have removed it); columns: {shown}.")
        if kinds and self.kinds[name] not in kinds:
            raise DataError(f"{name!r} is {self.kinds[name]}; this step needs a {' or '.join(kinds)} column.")
        return name

    def need_all(self, names: Any, *kinds: str, at_least: int = 1) -> list[str]:
        """A non-empty list of distinct columns here, each checked by `need`."""
        if not isinstance(names, list) or len(names) < at_least:
            raise DataError(f"Choose at least {at_least} column(s) for this step.")
        if len(set(names)) != len(names):
            raise DataError("A column is chosen twice; choose each column once.")
        return [self.need(name, *kinds) for name in names]


@dataclass(frozen=True)
class Step:
    """One step of a pipeline: which kind, with which parameters (plain JSON values)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params)}

    def describe(self) -> str:
        if self.kind not in STEP_KINDS:
            return self.kind
        try:
            return STEP_KINDS[self.kind].describe(self.params)
        except (ValueError, TypeError, KeyError, AttributeError):  # settings the step's check refuses, with a message
            return f"{STEP_KINDS[self.kind].label} (settings not valid)"


@dataclass
class Context:
    """What a step may use beyond its input frame: the engine and other loaded datasets by name."""

    engine: Engine
    datasets: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FormField:
    """One field of a step's form, described for the page to draw (pipeline/ draws nothing).

    `widget` is one of: columns (several, of `kinds`), column (one, of `kinds`), choice (one of `options`,
    across), number (from `low` to `high`), whole (a whole number), share (a slider from `low` to `high`),
    toggle, text.
    """

    key: str
    widget: str
    label: str
    kinds: tuple[str, ...] = ()
    options: tuple[Any, ...] = ()
    default: Any = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class StepKind:
    """How to check and apply one kind of step.

    `check(params, schema, dataset_schemas)` returns the parameters with defaults filled in, or
    raises DataError; `apply(frame, params, context)` returns the new frame on the same engine.
    """

    name: str
    label: str
    group: str
    check: Callable[[dict[str, Any], Schema, dict[str, Schema]], dict[str, Any]]
    apply: Callable[[Any, dict[str, Any], Context], Any]
    describe: Callable[[Mapping[str, Any]], str]
    keeps_row_order: bool = True
    row_order_on_dask: bool = True  # False where Dask's own form of the step (a shuffle) reorders the rows
    estimated_on_dask: Callable[[Mapping[str, Any]], bool] = lambda _params: False  # uses Dask's estimated quantiles
    # For a step that can multiply memory: (bytes of its output, what it makes in words), estimated from its input
    # before it runs. None where the output is about the input's size.
    output_size: Callable[[Any, dict[str, Any], Context], tuple[int, str]] | None = None
    code: Callable[[dict[str, Any]], list[str]] | None = None  # its lines in an exported script (checked params)
    memory_factor: float = 2.5  # device memory it needs, in multiples of its input: input, output, a temporary
    # Host memory it takes beyond its input at its peak (pandas, in this server's process), per kind and column type;
    # a function of the parameters where they change it (a cast's target type).
    host_cost: HostCost | Callable[[Mapping[str, Any]], HostCost] = UNMEASURED
    form: tuple[FormField, ...] | None = None  # the fields of its form; None where the page has a form of its own
    needs_other_dataset: bool = False  # joins another loaded dataset: offered only when there is one


STEP_KINDS: dict[str, StepKind] = {}


def register(kind: StepKind) -> StepKind:
    STEP_KINDS[kind.name] = kind
    return kind


def checked(step: Step, schema: Schema, dataset_schemas: dict[str, Schema] | None = None) -> Step:
    """The step with its parameters validated against `schema`; DataError names what is wrong."""
    if step.kind not in STEP_KINDS:
        raise DataError(f"Unknown step {step.kind!r}: choose one of {', '.join(sorted(STEP_KINDS))}.")
    if not isinstance(step.params, Mapping):
        raise DataError(f"The parameters of a {step.kind} step must be an object of names and values.")
    params = STEP_KINDS[step.kind].check(dict(step.params), schema, dataset_schemas or {})
    return Step(step.kind, params)


def apply_step(step: Step, frame: Any, context: Context) -> Any:
    """Apply one checked step to an engine frame."""
    return STEP_KINDS[step.kind].apply(frame, dict(step.params), context)


def host_need(step: Step, frame: Any, context: Context) -> tuple[int, str | None]:
    """Bytes of this server's memory a step takes beyond its input at its peak (its kind's `host_cost`, plus what it
    makes beyond its input's size where its kind estimates that), and what it makes in words (or None)."""
    kind, params = STEP_KINDS[step.kind], dict(step.params)
    cost = kind.host_cost(params) if callable(kind.host_cost) else kind.host_cost
    frame_bytes = context.engine.frame_nbytes(frame)
    need = cost.need(frame, params, frame_bytes)
    if kind.output_size is None:
        return need, None
    made, what = kind.output_size(frame, params, context)
    return need + max(made - frame_bytes, 0), what


def check_step_size(step: Step, frame: Any, context: Context, budget: MemoryBudget, number: int) -> None:
    """A DataError, before the step runs, when it would take more memory than `budget`: on an engine that keeps its
    data in this server's memory, its peak there (`host_need`); elsewhere (a GPU), the size of its output."""
    engine = context.engine
    if engine.data_in_host_memory:
        need, what = host_need(step, frame, context)
    elif STEP_KINDS[step.kind].output_size is not None:
        need, what = STEP_KINDS[step.kind].output_size(frame, dict(step.params), context)
    else:
        return
    budget.check(
        need,
        f"Step {number} ({step.describe()})" + (f" would make {what} and" if what else ""),
        "Filter rows (a “Sample rows” step) or drop columns before it (for a join, make its keys unique in one "
        "table), or run it on a Dask cluster.",
    )


@dataclass(frozen=True)
class Recipe:
    """An ordered list of steps; saved and loaded as JSON."""

    steps: tuple[Step, ...] = ()

    def to_json(self) -> str:
        return json.dumps({"version": RECIPE_VERSION, "steps": [s.to_dict() for s in self.steps]}, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> Recipe:
        """A recipe from JSON text; DataError for anything that is not a recipe this app wrote."""
        data = parse_json(text, "The recipe", "a recipe file saved by this app")
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise DataError('A recipe is a JSON object with a "steps" list; this file has none.')
        if data.get("version") != RECIPE_VERSION:
            raise DataError(
                f"This recipe has version {data.get('version')!r}; this app reads version {RECIPE_VERSION}."
            )
        if len(data["steps"]) > MAX_RECIPE_STEPS:
            raise DataError(f"A recipe holds at most {MAX_RECIPE_STEPS} steps; this one has {len(data['steps'])}.")
        steps = []
        for number, item in enumerate(data["steps"], start=1):
            if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
                raise DataError(f'Step {number} of the recipe has no "kind".')
            if item["kind"] not in STEP_KINDS:
                raise DataError(f"Step {number} of the recipe is an unknown kind, {item['kind']!r}.")
            params = item.get("params", {})
            if not isinstance(params, dict):
                raise DataError(f'Step {number} of the recipe has "params" that are not an object.')
            steps.append(Step(item["kind"], params))
        return cls(tuple(steps))
