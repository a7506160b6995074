import numpy as np
import pandas as pd
import pytest

from pipeline.data.bundled import BUNDLED, bundled_frame
from pipeline.errors import DataError
from pipeline.parity import compare_frames
from pipeline.tables.random_streams import CounterRandom
from pipeline.tables.synthetic import (
    GENERATORS,
    SyntheticSpec,
    check_fits,
    dataset_name,
    estimated_bytes,
    generate,
    made_bytes,
    validate,
)


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_datasets_load_from_installed_packages(name):
    frame = bundled_frame(name)
    assert len(frame) >= 20 and len(frame.columns) >= 4
    assert frame.columns.is_unique


def test_class_targets_carry_their_names():
    assert sorted(bundled_frame("iris")["target"].unique()) == ["setosa", "versicolor", "virginica"]


def test_unknown_bundled_dataset():
    with pytest.raises(DataError, match="No bundled dataset called 'titanic'"):
        bundled_frame("titanic")


def test_counter_random_is_deterministic_and_well_spread():
    rng = CounterRandom(np, 7, 200_000)
    uniform = rng.uniform(1)
    assert np.array_equal(uniform, CounterRandom(np, 7, 200_000).uniform(1))
    assert not np.array_equal(uniform, rng.uniform(2))
    assert not np.array_equal(uniform, CounterRandom(np, 8, 200_000).uniform(1))
    assert uniform.min() >= 0 and uniform.max() < 1
    assert abs(uniform.mean() - 0.5) < 0.005
    normal = rng.normal(3)
    assert abs(normal.mean()) < 0.01 and abs(normal.std() - 1) < 0.01
    counts = np.bincount(rng.integers(4, 0, 10))
    assert counts.min() > 19_000 and counts.max() < 21_000


def test_prefix_of_a_longer_stream_is_the_same():
    assert np.array_equal(CounterRandom(np, 1, 1000).uniform(5), CounterRandom(np, 1, 5000).uniform(5)[:1000])


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_every_generator_is_seeded_and_sized(kind, cpu):
    spec = SyntheticSpec(kind=kind, rows=5_000, seed=3)
    tables = generate(spec, cpu)
    again = generate(spec, cpu)
    for suffix, frame in tables.items():
        pd.testing.assert_frame_equal(frame, again[suffix])
    main = next(iter(tables.values()))
    assert len(main) == 5_000
    other_seed = next(iter(generate(SyntheticSpec(kind=kind, rows=5_000, seed=4), cpu).values()))
    assert not main.equals(other_seed)


def test_g1_matches_db_benchmark_shape(cpu):
    frame = generate(SyntheticSpec("groupby_g1", rows=20_000, groups=50), cpu)[""]
    assert list(frame.columns) == ["id1", "id2", "id3", "id4", "id5", "id6", "v1", "v2", "v3"]
    assert frame["id1"].nunique() == 50 and frame["id1"].str.match(r"^id\d{3}$").all()
    assert frame["id3"].str.match(r"^id\d{10}$").all() and frame["id3"].nunique() <= 400
    assert frame["id4"].between(1, 50).all() and frame["id6"].between(1, 400).all()
    assert set(frame["v1"].unique()) == set(range(1, 6)) and set(frame["v2"].unique()) == set(range(1, 16))
    assert frame["v3"].between(0, 100).all()
    assert frame.isna().sum().sum() == 0


def test_g1_missing_values_and_sorting(cpu):
    frame = generate(SyntheticSpec("groupby_g1", rows=20_000, groups=10, na_percent=10, sort=True), cpu)[""]
    share = frame.isna().mean()
    assert ((share > 0.08) & (share < 0.12)).all()
    assert str(frame["id4"].dtype) == "Int64"
    keys = frame[["id1", "id2", "id3", "id4", "id5", "id6"]]
    assert keys.equals(keys.sort_values(list(keys.columns)).reset_index(drop=True))


def test_j1_tables_match_about_ninety_percent(cpu):
    tables = generate(SyntheticSpec("join_j1", rows=100_000), cpu)
    assert {name: len(frame) for name, frame in tables.items()} == {
        "x": 100_000,
        "small": 10,
        "medium": 100,
        "big": 100_000,
    }
    x, big = tables["x"], tables["big"]
    matched = big["id3"].isin(x["id3"]).mean()
    assert 0.5 < matched < 0.95
    assert (x["id4"] == "id" + x["id1"].astype(str)).all()
    medium = tables["medium"]
    assert medium["id2"].isin(x["id2"]).mean() == pytest.approx(0.9, abs=0.1)


def test_classification_classes_are_separable(cpu):
    frame = generate(SyntheticSpec("classification", rows=20_000, classes=3, features=4), cpu)[""]
    assert sorted(frame["target"].unique()) == [0, 1, 2]
    means = frame.groupby("target")["x0"].mean()
    assert means.max() - means.min() > 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rows": 0}, "rows must be between 1,000 and 100,000,000; got 0"),
        ({"rows": 10**12}, "rows must be between 1,000 and 100,000,000; got 1,000,000,000,000"),
        ({"rows": 1.5e6}, "rows must be a whole number"),
        ({"kind": "mystery"}, "Unknown generator 'mystery'"),
        ({"classes": 1}, "classes must be between 2"),
        ({"na_percent": 101}, "na_percent must be between 0 and 100"),
        ({"seed": -1}, "seed must be between 0"),
    ],
)
def test_bad_generator_parameters(change, message):
    spec = SyntheticSpec(kind="classification", rows=10_000)
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        validate(SyntheticSpec(**{**spec.__dict__, **change}))


def test_too_big_for_memory_is_refused_before_generating(cpu, monkeypatch):
    spec = SyntheticSpec("groupby_g1", rows=100_000_000)
    assert estimated_bytes(spec) > 10 * 2**30
    monkeypatch.setattr("psutil.virtual_memory", lambda: type("M", (), {"available": 2**30})())
    with pytest.raises(DataError, match=r"need about .* GiB, but only 1.0 GiB is left \(available host memory\)"):
        check_fits(spec, cpu)


@pytest.mark.parametrize("kind", list(GENERATORS))
@pytest.mark.parametrize("settings", [{}, {"features": 3, "groups": 7, "na_percent": 5, "sort": True}])
def test_the_columns_a_generator_lists_are_the_ones_it_makes(kind, settings, cpu):
    """The memory estimate is derived from each generator's own list of the tables and columns it makes."""
    spec = SyntheticSpec(kind, rows=3_000, **settings)
    made = GENERATORS[kind].made(spec)
    tables = generate(spec, cpu)
    assert set(made) == set(tables)
    for suffix, frame in tables.items():
        assert len(frame) == made[suffix].rows
        assert {name: str(dtype) for name, dtype in frame.dtypes.items()} == {
            name: column.dtype for name, column in made[suffix].columns.items()
        }
        for name, column in made[suffix].columns.items():
            if column.dtype == "str":
                assert frame[name].str.len().max() <= column.chars, name
    assert made_bytes(spec) >= sum(cpu.frame_nbytes(frame) for frame in tables.values()) * 0.95


def test_names_follow_db_benchmark():
    assert dataset_name(SyntheticSpec("groupby_g1", rows=10_000_000, groups=100, na_percent=5)) == "G1_1e7_1e2_5_0"
    assert dataset_name(SyntheticSpec("join_j1", rows=1_000_000)) == "J1_1e6_NA_0_0"
    assert dataset_name(SyntheticSpec("blobs", rows=2_000, seed=9)) == "blobs_2e3_seed9"


@pytest.mark.gpu
@pytest.mark.parametrize("kind", list(GENERATORS))
def test_generators_run_on_the_device_and_match_the_cpu(kind, cpu, gpu):
    spec = SyntheticSpec(kind=kind, rows=20_000, na_percent=5 if kind == "groupby_g1" else 0)
    on_gpu = generate(spec, gpu)
    on_cpu = generate(spec, cpu)
    for suffix, frame in on_gpu.items():
        assert type(frame).__module__.startswith("cudf")
        parity = compare_frames(on_cpu[suffix], gpu.to_pandas(frame), rtol=1e-12)
        assert parity.ok, parity.mismatches
