"""Pipeline: build preprocessing steps, run them on every engine side by side, check parity, save, export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from pipeline.data.catalog import Dataset, EngineCopy
from pipeline.published.size_model import TimedWork
from pipeline.render.charts import cumulative_time_chart, speedup_chart, step_time_chart
from pipeline.steps.export import to_script
from pipeline.steps.presets import PRESETS
from pipeline.steps.runner import SideBySide, run_side_by_side
from pipeline.steps.spec import STEP_KINDS, Recipe, Schema, Step
from ui import format as fmt
from ui.chart_panel import show_chart
from ui.published_panel import published_estimates
from ui.shell import within_app
from ui.state import active_dataset_or_stop, catalog, shown_errors, working_on
from ui.step_forms import step_form
from ui.views.pipeline import preset_after, recipe_check, run_speedups, step_speedups, step_table, valid_steps
from ui.workspace import OWNER_KEY, RECIPES_KEY, STEPS_KEY, pipeline_results

within_app()

RUN_NOW_KEY = "pipeline_run_now"
PLACE_KEY = "new_place"
PREVIOUS_KEY = "pipeline_previous"  # the dataset active before this one
LAST_CHANGE_KEY = "pipeline_last_change"  # (dataset id, the steps before the last change, what it did)
Place = tuple[str, int]


def current_steps() -> list[Step]:
    return st.session_state.setdefault(STEPS_KEY, [])


def other_datasets(dataset: Dataset) -> dict[str, Dataset]:
    return {other.name: other for other in catalog() if other.id != dataset.id}


def follow_dataset(dataset: Dataset) -> None:
    """Give each dataset its own recipe: the steps on the page belong to the dataset they were made for, so a newly
    active dataset (one just saved from a result, say) starts from its own steps, never re-checks another's."""
    owner = st.session_state.setdefault(OWNER_KEY, dataset.id)
    if owner == dataset.id:
        return
    recipes = st.session_state.setdefault(RECIPES_KEY, {})
    recipes[owner] = current_steps()
    st.session_state[STEPS_KEY] = recipes.pop(dataset.id, [])
    st.session_state[OWNER_KEY] = dataset.id
    st.session_state[PREVIOUS_KEY] = owner
    results = pipeline_results()
    if owner in results:  # kept, with its times and checks; its result frames go (the dataset is not in view)
        recipe, result = results[owner]
        results[owner] = (recipe, result.without_frames())


def offer_previous_steps(dataset: Dataset, others: dict[str, Dataset]) -> None:
    """With no steps of its own, a dataset may take a copy of the steps of the dataset active before it."""
    previous = st.session_state.get(PREVIOUS_KEY)
    kept = st.session_state.get(RECIPES_KEY, {}).get(previous, [])
    source = next((other for other in others.values() if other.id == previous), None)
    if current_steps() or not kept or source is None:
        return
    left, right = st.columns([3, 1], vertical_alignment="center")
    left.caption(
        f"This dataset has no steps yet; the {fmt.counted(len(kept), 'step')} made for **{source.name}** stay with it."
    )
    if right.button(f"Use a copy of {source.name}'s steps", key="steps_copy", icon=":material/content_copy:"):
        with shown_errors(f"copying the steps of {source.name}"):
            set_steps(
                valid_steps(dataset, list(kept), others),
                f"Copied the {fmt.counted(len(kept), 'step')} of {source.name}.",
            )
            st.rerun()


def set_steps(steps: list[Step], change: str) -> None:
    """Put `steps` on the page; `change` says what that did, beside the Undo that puts back the steps before."""
    st.session_state[LAST_CHANGE_KEY] = (st.session_state.get(OWNER_KEY), list(current_steps()), change)
    st.session_state[STEPS_KEY] = list(steps)
    pipeline_results().pop(st.session_state.get(OWNER_KEY), None)


def undo_last_change(dataset: Dataset) -> None:
    """What the last change to this dataset's steps did, and a button that undoes it."""
    last = st.session_state.get(LAST_CHANGE_KEY)
    if not last or last[0] != dataset.id:
        return
    said, undo = st.columns([5, 1], vertical_alignment="center")
    said.caption(f":material/history: {last[2]}")
    if undo.button("Undo", key="steps_undo", icon=":material/undo:", help="Put back the steps as they were before"):
        st.session_state[STEPS_KEY] = list(last[1])
        pipeline_results().pop(dataset.id, None)
        st.session_state.pop(LAST_CHANGE_KEY)
        st.rerun()


def use_preset(dataset: Dataset, others: dict[str, Dataset], name: str, keep: list[Step]) -> None:
    """The preset's steps after `keep` (fitted to the table those make), and what the preset left alone, said."""
    fitted = preset_after(dataset, name, keep, others, catalog().budget())
    steps = valid_steps(dataset, [*keep, *fitted.recipe.steps], others)
    added = fmt.counted(len(fitted.recipe.steps), "step")
    change = (
        f"Added the {added} of '{PRESETS[name][0]}' after the {fmt.counted(len(keep), 'step')} here."
        if keep
        else f"Used '{PRESETS[name][0]}': {added}" + (", in place of the steps here." if current_steps() else ".")
    )
    if fitted.left_alone:
        change += " Left as they are: " + "; ".join(f"{c} — {why}" for c, why in fitted.left_alone.items()) + "."
    set_steps(steps, change)


def start_from(dataset: Dataset, others: dict[str, Dataset]) -> None:
    steps = current_steps()
    with st.expander("Start from a preset or a recipe file", expanded=not steps):
        left, right = st.columns(2)
        with left:
            name = st.selectbox("Preset", list(PRESETS), format_func=lambda n: PRESETS[n][0], key="preset_name")
            how = "append"
            if steps:
                how = st.radio(
                    f"With the {fmt.counted(len(steps), 'step')} here",
                    ["append", "replace"],
                    format_func={"append": "add the preset's steps after them", "replace": "replace them"}.get,
                    horizontal=True,
                    key="preset_how",
                )
            use, use_and_run = st.columns(2)
            chosen = use.button("Use this preset", key="preset_go", icon=":material/auto_awesome:")
            run_now = use_and_run.button("Use and run", key="preset_run", type="primary", icon=":material/play_arrow:")
            if chosen or run_now:
                with shown_errors("building the preset"), working_on(dataset):
                    use_preset(dataset, others, name, list(steps) if how == "append" else [])
                    st.session_state[RUN_NOW_KEY] = run_now
                    st.rerun()
        with right:
            upload = st.file_uploader("Recipe (.json)", type=["json"], key="recipe_file")
            if st.button("Load recipe", key="recipe_go", disabled=upload is None, icon=":material/upload_file:"):
                with shown_errors("loading the recipe"):
                    recipe = Recipe.from_json(upload.getvalue())
                    change = f"Loaded {upload.name}: {fmt.counted(len(recipe.steps), 'step')}"
                    set_steps(
                        valid_steps(dataset, list(recipe.steps), others),
                        change + (", in place of the steps here." if steps else "."),
                    )
                    st.rerun()


def step_list(problem: str | None) -> None:
    steps = current_steps()
    if not steps:
        st.info("No steps yet: add one below, or start from a preset.", icon=":material/info:")
        return
    for i, step in enumerate(steps):
        text, edit, up, down, remove = st.columns([12, 1, 1, 1, 1], vertical_alignment="center")
        text.markdown(f"**{i + 1}. {STEP_KINDS[step.kind].label}** — {step.describe()}")
        edit.button(
            "",
            key=f"edit_{i}",
            icon=":material/edit:",
            help="Change this step: the form below replaces it",
            on_click=aim_at,
            args=(("replace", i), step.kind),
        )
        if up.button("", key=f"up_{i}", icon=":material/arrow_upward:", disabled=i == 0, help="Move up"):
            set_steps([*steps[: i - 1], step, steps[i - 1], *steps[i + 1 :]], f"Moved step {i + 1} up.")
            st.rerun()
        if down.button("", key=f"down_{i}", icon=":material/arrow_downward:", disabled=i == len(steps) - 1):
            set_steps([*steps[:i], steps[i + 1], step, *steps[i + 2 :]], f"Moved step {i + 1} down.")
            st.rerun()
        if remove.button("", key=f"remove_{i}", icon=":material/delete:", help="Remove this step"):
            set_steps(steps[:i] + steps[i + 1 :], f"Removed step {i + 1} ({step.describe()}).")
            st.rerun()
    if problem:
        st.error(f"{problem} Edit (the pencil), move or remove that step.", icon=":material/error:")
    if st.button("Remove all steps", key="clear_steps"):
        set_steps([], f"Removed {'the step' if len(steps) == 1 else f'all {len(steps)} steps'}.")
        st.rerun()


def aim_at(place: Place, kind: str | None = None) -> None:
    """Point the add-step form at a place in the list (and a step kind), as the Edit buttons do."""
    st.session_state[PLACE_KEY] = place
    if kind is not None:
        st.session_state["new_kind"] = kind


def places(steps: list[Step], usable: int) -> list[Place]:
    """Where a step can go: anywhere the steps before it apply (`usable` leading steps do)."""
    ends = [("end", len(steps))] if usable == len(steps) else []
    inside = range(min(usable + 1, len(steps)))
    return [*ends, *[("replace", i) for i in reversed(inside)], *[("before", i) for i in inside]]


def place_label(place: Place, steps: list[Step]) -> str:
    where, i = place
    if where == "end":
        return "At the end"
    return f"{'In place of' if where == 'replace' else 'Before'} step {i + 1} ({steps[i].describe()})"


def with_step(steps: list[Step], place: Place, new: Step) -> tuple[list[Step], list[Step]]:
    """The steps up to and including `new` at `place`, and the steps after it."""
    where, i = place
    return [*steps[:i], new], steps[i + (1 if where == "replace" else 0) :]


def add_step(dataset: Dataset, others: dict[str, Dataset], usable: int, sample_at: Callable[[int], Any]) -> None:
    steps = current_steps()
    with st.container(border=True):
        st.markdown("**Add or change a step**")
        choices = places(steps, usable)
        if st.session_state.get(PLACE_KEY) not in choices:
            st.session_state[PLACE_KEY] = choices[0]
        left, right = st.columns(2)
        place = left.selectbox("Where", choices, key=PLACE_KEY, format_func=lambda p: place_label(p, steps))
        kinds = [k for k, step_kind in STEP_KINDS.items() if others or not step_kind.needs_other_dataset]
        kind = right.selectbox(
            "Step",
            kinds,
            key="new_kind",
            format_func=lambda k: f"{STEP_KINDS[k].group}: {STEP_KINDS[k].label}",
        )
        schema = Schema.of(sample_at(place[1]))
        key = f"form_{kind}"
        params = step_form(kind, schema, key, list(others))
        label = "Replace step" if place[0] == "replace" else "Add step"
        if st.button(label, key="add_step", type="primary", icon=":material/add:"):
            with shown_errors("adding the step"):
                head, tail = with_step(steps, place, Step(kind, params))
                done = "Replaced" if place[0] == "replace" else "Added"
                set_steps(
                    valid_steps(dataset, head, others) + tail, f"{done} step {len(head)} ({head[-1].describe()})."
                )
                st.session_state.pop(PLACE_KEY, None)
                for field in [k for k in st.session_state if k == key or str(k).startswith(f"{key}_")]:
                    del st.session_state[field]  # the next step's form starts from its defaults
                st.rerun()


def run_all(dataset: Dataset, steps: list[Step], others: dict[str, Dataset]) -> SideBySide:
    frames = {name: copy.frame for name, copy in dataset.copies.items()}
    engines = {name: copy.engine for name, copy in dataset.copies.items()}
    datasets = {
        name: {other_name: other.copies[name].frame for other_name, other in others.items() if name in other.copies}
        for name in frames
    }
    bar = st.progress(0.0, text="Running…")
    budget = catalog().budget()
    with working_on(dataset):
        result = run_side_by_side(
            steps, frames, engines, datasets, lambda done, text: bar.progress(done, text=text), budget=budget
        )
    bar.empty()
    return result


def show_result(dataset: Dataset, result: SideBySide) -> None:
    st.subheader("Result")
    if any(run.ok and run.frame is None for run in result.runs.values()):
        st.caption(
            ":material/history: This run was kept in your workspace: its times and checks, not its rows. Run again "
            "to save the rows as a dataset."
        )
    metrics = st.columns(len(result.runs) + 1)
    for column, run in zip(metrics, result.runs.values(), strict=False):
        column.metric(run.engine.label, fmt.seconds(run.seconds) if run.ok else "failed", help=run.error)
    for label, ratio in run_speedups(result).items():
        metrics[-1].metric(f"{label} speed-up", f"{ratio:,.2f}×")
    for run in result.runs.values():
        if run.error:
            st.warning(f"{run.engine.label} stopped: {run.error}", icon=":material/warning:")
    if len(result.runs) == 1 and next(iter(result.runs.values())).engine.lazy:
        st.caption(
            "This dataset lives on the Dask cluster only, so there is nothing to compare it with; a table that fits "
            "here can be copied to the cluster from the Data page (Copy to the Dask cluster) to run on both."
        )
    elif len(result.runs) == 1:
        st.caption(
            "Only one engine holds this dataset, so there is nothing to compare; the System page says why "
            "the GPU engine is unavailable."
        )
    st.caption(
        "Each engine works on its own copy, loaded on the Data page (host-to-device transfer is timed there), so "
        "these times hold no transfer. Memory in use: "
        + "; ".join(sorted({f"{run.engine.label}: {run.engine.memory_kind}" for run in result.runs.values()}))
        + ". On Dask each step's result is computed and held by the workers inside its time."
    )
    reference = next(iter(result.runs.values()))
    rows_in = [dataset.shape[0], *(s.rows for s in reference.steps)]  # each step reads what the one before left
    published_estimates(
        [
            TimedWork(f"{s.number}. {STEP_KINDS[s.step.kind].label}", s.step.kind, s.seconds, rows, library="cuDF")
            for s, rows in zip(reference.steps, rows_in, strict=False)
            if s.seconds is not None
        ],
        "pipeline_published",
    )
    verdicts = [p for p in result.parity if p is not None]
    if verdicts and all(p.ok for p in verdicts):
        st.success("After every step the engines hold the same result.", icon=":material/check_circle:")
    elif verdicts:
        st.warning("The engines disagree after some steps: see the table.", icon=":material/warning:")
    st.dataframe(step_table(result), hide_index=True, width="stretch")
    timings = result.timings()
    if not timings.empty:
        log = st.toggle("Log scale", key="time_log")
        show_chart(step_time_chart(timings, log=log), timings, "step_times", "chart_step_times")
        speedups = step_speedups(result)
        if not speedups.empty:
            show_chart(speedup_chart(speedups), speedups, "step_speedups", "chart_speedups")
        show_chart(cumulative_time_chart(timings), timings, "cumulative_time", "chart_cumulative")
    save_result(dataset, result)


def save_result(dataset: Dataset, result: SideBySide) -> None:
    finished = {name: run for name, run in result.runs.items() if run.frame is not None}
    if not finished:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input("Save the result as a dataset named", value=f"{dataset.name} (pipeline)", key="save_name")
    if right.button("Save as dataset", key="save_go", icon=":material/save:"):
        with shown_errors("saving the result"):
            copies = {
                engine_name: EngineCopy(run.engine, run.frame, {"pipeline": run.seconds}, "made by a pipeline")
                for engine_name, run in finished.items()
            }
            source = f"pipeline of {len(current_steps())} steps on {dataset.name}"
            saved = catalog().add(name, source, copies)
            st.toast(f"Saved {saved.name}; it is now the active dataset.")
            st.rerun()


def export(steps: list[Step], dataset: Dataset, others: dict[str, Dataset]) -> None:
    recipe = Recipe(tuple(steps))
    joined = {name: other.read_from for name, other in others.items()}
    st.markdown("**Export**")
    columns = st.columns(3)
    columns[0].download_button(
        "Recipe (JSON)", recipe.to_json(), "recipe.json", "application/json", key="export_json", width="stretch"
    )
    for column, (library, label) in zip(columns[1:], (("pandas", "pandas"), ("cudf", "cuDF")), strict=True):
        column.download_button(
            f"{label} script",
            lambda library=library: to_script(recipe, library, dataset.read_from, joined),
            f"pipeline_{library}.py",
            "text/x-python",
            key=f"export_{library}",
            on_click="ignore",
            width="stretch",
        )


st.title("Pipeline")
dataset = active_dataset_or_stop()

engine_labels = ", ".join(copy.engine.label for copy in dataset.copies.values())
rows, width = dataset.shape
st.caption(f"**{dataset.name}** · {rows:,} rows × {width:,} columns · runs on {engine_labels}.")
others = other_datasets(dataset)
follow_dataset(dataset)
start_from(dataset, others)
offer_previous_steps(dataset, others)

steps = current_steps()
check = recipe_check(dataset, steps, others)
usable = check.usable
valid = [] if check.problem else check.steps  # runs, previews and exports only when every step applies
problem = str(check.problem) if check.problem else None
st.subheader("Steps")
undo_last_change(dataset)
step_list(problem)


with shown_errors("previewing the steps"):
    add_step(dataset, others, usable, lambda count: check.samples[count])
    if valid:
        with st.expander("Preview the first rows after a step"):
            after = st.selectbox(
                "After step",
                range(len(valid), 0, -1),
                format_func=lambda n: f"{n}. {valid[n - 1].describe()}",
                key="preview_step",
            )
            shown = check.samples[after]
            st.caption(f"{len(shown.columns)} columns; the first 20 of up to 500 sample rows.")
            st.dataframe(fmt.people_table(shown.head(20), digits=None), width="stretch")

if valid:
    label = " and ".join(copy.engine.label for copy in dataset.copies.values())
    clicked = st.button(f"Run on {label}", key="run_go", type="primary", icon=":material/play_arrow:")
    if clicked or st.session_state.pop(RUN_NOW_KEY, False):
        with shown_errors("running the pipeline"):
            pipeline_results()[dataset.id] = (Recipe(tuple(valid)).to_json(), run_all(dataset, valid, others))
    stored = pipeline_results().get(dataset.id)
    if stored and stored[0] == Recipe(tuple(valid)).to_json():
        with shown_errors("showing the result"):  # a result read back from a workspace file is anyone's
            show_result(dataset, stored[1])
    export(valid, dataset, others)
