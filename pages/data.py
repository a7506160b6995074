"""Data: load tables on every engine, manage them, and see each one as the engines hold it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pipeline.data.bundled import BUNDLED
from pipeline.data.io import ReadOptions, Source, data_dir, list_data_files, matches_in_folder, resolve_in_folder
from pipeline.data.loading import add_copy_on, load_bundled, load_file, load_files_on_dask, load_synthetic
from pipeline.engines.cluster import local_settings
from pipeline.engines.dask import DaskEngine, dask_missing_reason
from pipeline.render.charts import memory_chart, phase_time_chart
from pipeline.tables.formats import ENCODINGS
from pipeline.tables.synthetic import GENERATORS, MAX_ROWS, MIN_ROWS, SyntheticSpec, dataset_name, estimated_bytes
from ui import format as fmt
from ui.shell import within_app
from ui.state import (
    cached_bundled_frame,
    catalog,
    engines,
    progress,
    session_cluster,
    shown_errors,
    upload_limit_bytes,
    use_cluster,
)
from ui.views.data import held_memory, load_speedups, load_table
from ui.workspace import LEFT_OUT_KEY, open_file, store, workspace_file

within_app()

DELIMITER_CHOICES = {"automatic": None, "comma ,": ",", "tab": "\t", "semicolon ;": ";", "pipe |": "|"}

st.title("Data")
st.caption(
    "Load a table once; it is read on every available engine — "
    + ", ".join(engine.label for engine in engines())
    + " — and timed on each."
)


def read_options(key: str) -> ReadOptions:
    left, right = st.columns(2)
    delimiter = left.selectbox("CSV delimiter", list(DELIMITER_CHOICES), key=f"{key}_delimiter")
    encoding = right.selectbox("Text encoding", ENCODINGS, key=f"{key}_encoding")
    return ReadOptions(delimiter=DELIMITER_CHOICES[delimiter], encoding=encoding)


def upload_tab() -> None:
    limit = upload_limit_bytes()
    uploaded = st.file_uploader(
        f"Table file (CSV/TSV, .gz/.bz2/.zip/.xz/.zst CSV, Parquet, Arrow/Feather, JSON array or lines, Excel; "
        f"up to {limit // 2**20:,} MB)",
        key="upload_file",
    )
    options = read_options("upload")
    if st.button("Load uploaded file", key="upload_load", type="primary", disabled=uploaded is None):
        with progress(f"Loading {uploaded.name}…", f"loading {uploaded.name}") as status:
            source = Source.from_bytes(uploaded.name, uploaded.getvalue())
            dataset = load_file(catalog(), source, engines(), options, max_bytes=limit, progress=status.write)
            status.update(label=f"Loaded {dataset.name}", state="complete")
            st.rerun()  # the sidebar and the dataset list show the new active dataset


def folder_tab() -> None:
    folder = data_dir()
    files = list_data_files(folder)
    st.caption(f"Files in `{folder}` (set `GPL_DATA_DIR` to use another folder). No upload limit applies here.")
    if not files:
        st.info(f"The data folder is empty or missing. Copy tables into `{folder}` and reload this page.")
        return
    choice = st.selectbox(
        "File",
        [str(path) for path in files],
        key="folder_file",
        format_func=lambda name: f"{name} ({fmt.size((folder / name).stat().st_size)})",
    )
    options = read_options("folder")
    if st.button("Load file from folder", key="folder_load", type="primary"):
        with progress(f"Loading {choice}…", f"loading {choice}") as status:
            source = Source.from_path(resolve_in_folder(folder, choice))
            dataset = load_file(catalog(), source, engines(), options, progress=status.write)
            status.update(label=f"Loaded {dataset.name}", state="complete")
            st.rerun()  # the sidebar and the dataset list show the new active dataset


def bundled_tab() -> None:
    name = st.selectbox("Dataset", list(BUNDLED), key="bundled_name", format_func=lambda n: f"{n} — {BUNDLED[n][0]}")
    if st.button("Load bundled dataset", key="bundled_load", type="primary"):
        with shown_errors(f"loading {name}"):
            load_bundled(catalog(), name, engines(), frames=cached_bundled_frame)
            st.rerun()


def synthetic_spec(key: str) -> SyntheticSpec:
    """The generator and its settings, from widgets whose keys start with `key`."""
    kind = st.selectbox("Generator", list(GENERATORS), key=f"{key}_kind", format_func=lambda k: GENERATORS[k].label)
    st.caption(GENERATORS[kind].describe)
    left, middle, right = st.columns(3)
    settings = {
        "rows": left.number_input(
            "Rows", min_value=MIN_ROWS, max_value=MAX_ROWS, value=100_000, step=10_000, key=f"{key}_rows"
        ),
        "seed": middle.number_input("Seed", min_value=0, max_value=2**32 - 1, value=0, key=f"{key}_seed"),
    }
    if kind in ("classification", "regression", "blobs"):
        settings["features"] = right.number_input(
            "Features", min_value=1, max_value=500, value=8, key=f"{key}_features"
        )
    if kind in ("classification", "blobs"):
        label = "Classes" if kind == "classification" else "Clusters"
        settings["classes"] = left.number_input(label, min_value=2, max_value=1000, value=3, key=f"{key}_classes")
    if kind == "groupby_g1":
        settings["groups"] = right.number_input(
            "Groups K", min_value=1, max_value=MAX_ROWS, value=100, key=f"{key}_groups"
        )
        settings["na_percent"] = left.number_input("Missing values (%)", min_value=0, max_value=100, key=f"{key}_na")
        settings["sort"] = middle.checkbox("Sorted by id1..id6", key=f"{key}_sort")
    return SyntheticSpec(
        kind=kind, **{name: value if name == "sort" else int(value) for name, value in settings.items()}
    )


def generate_tab() -> None:
    spec = synthetic_spec("gen")
    budget = catalog().budget()
    st.caption(
        f"Name: `{dataset_name(spec)}` · about {fmt.size(estimated_bytes(spec))} of memory at its peak per engine; "
        f"one piece of work may take {fmt.size(budget.nbytes)} here ({budget.why})."
    )
    if st.button("Generate", key="gen_go", type="primary"):
        with progress(f"Generating {dataset_name(spec)}…", f"generating {dataset_name(spec)}") as status:
            added = load_synthetic(catalog(), spec, engines(), progress=status.write)
            status.update(label=f"Generated {', '.join(d.name for d in added)}", state="complete")
            st.rerun()  # the sidebar and the dataset list show the new active dataset


def cluster_for_loading() -> DaskEngine:
    """This session's Dask cluster, or the server's shared local one (started now if need be), with this session
    counted among its users (again, where an idle cluster was shut down and started anew since it joined)."""
    engine = session_cluster()
    return use_cluster(engine.settings if engine else local_settings())


def dask_tab() -> None:
    reason = dask_missing_reason()
    if reason:
        st.info(f"The Dask engines need dask and distributed: {reason}", icon=":material/info:")
        return
    engine = None
    with shown_errors("reaching the Dask cluster"):  # connects again where the cluster was lost
        engine = session_cluster()
    st.caption(
        "For tables larger than this server's memory: the data stays on a Dask cluster, read or made partition by "
        "partition by its workers (who spill to disk past their memory), and Explore, Pipeline and Benchmark run "
        "there. "
        + (
            f"Cluster: {engine.label}, set on the System page."
            if engine
            else "No cluster yet: loading joins this server's shared local one (started if need be); the System "
            "page shows it, or connects to a scheduler the operator lists."
        )
    )
    source = st.radio(
        "From", ["Files in the data folder", "Generated on the workers"], horizontal=True, key="dask_from"
    )
    if source == "Files in the data folder":
        folder = data_dir()
        pattern = st.text_input(
            f"Parquet or CSV: a file, a folder or a glob inside `{folder}`",
            placeholder="sales/*.parquet",
            key="dask_pattern",
        )
        matches: list = []
        if pattern.strip():
            with shown_errors("looking for the files"):
                matches = matches_in_folder(folder, pattern)
                st.caption(f"{len(matches):,} file(s) match, {fmt.size(sum(p.stat().st_size for p in matches))}.")
        if st.button("Read lazily on Dask", key="dask_read", type="primary", disabled=not pattern.strip()):
            with progress(f"Reading {pattern} on Dask…", f"reading {pattern} on Dask") as status:
                dataset = load_files_on_dask(
                    catalog(), cluster_for_loading(), matches_in_folder(folder, pattern), pattern, progress=status.write
                )
                status.update(label=f"Loaded {dataset.name} on the cluster", state="complete")
                st.rerun()
        return
    spec = synthetic_spec("dask_gen")
    st.caption(
        f"Name: `{dataset_name(spec)}` · about {fmt.size(estimated_bytes(spec))}, made by the workers in partitions "
        "and kept in their memory (spilled to disk past it); nothing is made on this server."
    )
    if st.button("Generate on the workers", key="dask_gen_go", type="primary"):
        with progress(f"Generating {dataset_name(spec)} on Dask…", f"generating {dataset_name(spec)}") as status:
            added = load_synthetic(catalog(), spec, [cluster_for_loading()], progress=status.write)
            status.update(label=f"Generated {', '.join(d.name for d in added)} on the cluster", state="complete")
            st.rerun()


def dataset_list() -> None:
    datasets = catalog()
    st.subheader("All loaded datasets")
    if not len(datasets):
        st.info("No dataset loaded. Load one above.", icon=":material/info:")
        return
    listing = pd.DataFrame(
        [
            {
                "name": d.name,
                "rows": d.shape[0],
                "columns": d.shape[1],
                "engines": ", ".join(name.upper() for name in d.copies),
                "source": d.source,
            }
            for d in datasets
        ]
    )
    st.dataframe(listing, hide_index=True, width="stretch")
    st.caption("Switch the active dataset in the sidebar.")


def rename_or_remove(dataset) -> None:
    datasets = catalog()
    rename_col, button_col, remove_col = st.columns([4, 1, 1], vertical_alignment="bottom")
    new_name = rename_col.text_input("Name", value=dataset.name, key=f"rename_{dataset.id}")
    if button_col.button("Rename", key="rename_go", width="stretch"):
        with shown_errors("renaming"):
            datasets.rename(dataset.id, new_name)
            st.rerun()
    if remove_col.button("Remove", key="remove_go", icon=":material/delete:", width="stretch"):
        datasets.remove(dataset.id)
        st.rerun()


def copy_to_dask(dataset) -> None:
    """A button that copies the dataset to the Dask cluster, so the pages run it there too."""
    if dask_missing_reason() or any(copy.lazy for copy in dataset.copies.values()):
        return
    if st.button(
        "Copy to the Dask cluster",
        key="dask_copy",
        icon=":material/hub:",
        help="Partitions of this table held by the Dask workers: Explore and Pipeline then run on Dask next to the "
        "other engines and compare the results.",
    ):
        with progress(f"Copying {dataset.name} to Dask…", f"copying {dataset.name} to Dask") as status:
            copy = add_copy_on(dataset, cluster_for_loading(), progress=status.write)
            status.update(label=f"On {copy.engine.label} in {fmt.seconds(copy.seconds)}", state="complete")
            st.rerun()


def show_active() -> None:
    dataset = catalog().active
    if dataset is None:
        return
    st.subheader(dataset.name)
    st.caption(fmt.literal(dataset.source))
    for engine_name, message in dataset.failures.items():
        st.warning(f"Not loaded on {engine_name.upper()}: {message}", icon=":material/warning:")
    for note in dataset.notes:
        st.caption(f":material/info: {fmt.literal(note)}")
    st.page_link("pages/explore.py", label="Explore this dataset", icon=":material/query_stats:")
    rename_or_remove(dataset)
    rows, columns = dataset.shape
    copy_to_dask(dataset)
    memory = held_memory(dataset)
    metrics = st.columns(2 + len(memory))
    metrics[0].metric("Rows", f"{rows:,}")
    metrics[1].metric("Columns", f"{columns:,}")
    for column, held in zip(metrics[2:], memory.itertuples(), strict=True):
        column.metric(f"{held.engine} memory", fmt.size(held.bytes), help=f"Measured as {held.memory}.")

    st.markdown("**Load time and memory by engine**")
    left, right = st.columns([3, 2])
    left.altair_chart(phase_time_chart(dataset.timings()), width="stretch")
    if len(memory):
        right.altair_chart(memory_chart(memory), width="stretch")
    for copy in dataset.copies.values():
        if not copy.engine.holds_data_here:
            right.caption(f":material/hub: {copy.engine.label}: {copy.route}; its memory is the workers'.")
    st.dataframe(load_table(dataset), hide_index=True, width="stretch")
    ratios = load_speedups(dataset)
    for label, ratio in ratios.items():
        st.caption(f"{label} speed-up for this load: {ratio:,.2f}×")
    comparable = len(dataset.copies) > 1 and any(copy.engine.holds_data_here for copy in dataset.copies.values())
    if comparable and st.button("Check that the copies agree", key="parity_go"):
        with (
            shown_errors("comparing the copies"),
            st.spinner("Copying the other frames to the host and comparing…"),
        ):
            parity = dataset.parity()
            if parity is None:
                st.info("Only copies on a Dask cluster besides this one: nothing held here to compare.")
            elif parity.ok:
                st.success("The copies hold the same values.", icon=":material/check_circle:")
            else:
                st.warning("The copies differ: " + "; ".join(parity.mismatches), icon=":material/warning:")

    st.markdown("**Preview** (first 20 rows)")
    with shown_errors("reading the first rows"):
        st.dataframe(fmt.people_table(dataset.preview(20), digits=None), width="stretch")
    st.markdown("**Schema**")
    with shown_errors("summarising the columns"):
        st.dataframe(dataset.schema(), hide_index=True, width="stretch")


def workspace_tab() -> None:
    kept = store()
    if kept is None:
        st.caption("This server keeps nothing across a refresh (its operator turned that off): save a workspace file.")
    else:
        st.caption(
            f"Your datasets, each with its Pipeline recipe, your last pipeline run, model and leaderboard, your "
            f"benchmark runs and your choices on the pages are kept on this server for {kept.keep_s / 3600:,.0f} "
            "hours after your last change, under the address in your browser's bar: a refresh on any page loses "
            "nothing. Whoever opens that address in another browser gets a copy of your work as it is then (keep it "
            "to yourself) and goes on under an address of their own: neither of you sees what the other does next. "
            "To keep your work longer or move it, save a workspace file (Parquet and JSON in a zip) and open it here "
            "later."
        )
    left_out = st.session_state.get(LEFT_OUT_KEY) or []
    if left_out:
        st.caption(":material/info: Not kept across a refresh: " + "; ".join(left_out))
    st.download_button(
        "Save workspace (.zip)",
        workspace_file(catalog()),  # what this session holds; the zip is written on the click
        "workspace.zip",
        "application/zip",
        key="workspace_save",
        on_click="ignore",
        icon=":material/download:",
    )
    upload = st.file_uploader("Workspace file (.zip) saved by this app", type=["zip"], key="workspace_file")
    if st.button("Open workspace", key="workspace_open", disabled=upload is None, icon=":material/folder_open:"):
        with progress(f"Opening {upload.name}…", f"opening {upload.name}") as status:
            problems = open_file(upload.getvalue(), catalog(), engines())
            if problems:
                st.warning("Opened, except: " + "; ".join(problems), icon=":material/warning:")
            status.update(label=f"Opened {upload.name}", state="complete")
            if not problems:
                st.rerun()


tabs = st.tabs(["Upload", "Data folder", "Bundled", "Generate", "Dask (larger than memory)", "Workspace"])
with tabs[0]:
    upload_tab()
with tabs[1]:
    folder_tab()
with tabs[2]:
    bundled_tab()
with tabs[3]:
    generate_tab()
with tabs[4]:
    dask_tab()
with tabs[5]:
    workspace_tab()
show_active()
dataset_list()
