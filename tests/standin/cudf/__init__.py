"""A stand-in for cuDF: pandas underneath, refusing what cuDF refuses and ordering what cuDF leaves unordered.

- Implicit host conversion is a TypeError, as in cuDF: `np.asarray(series)`, iterating over a Series,
  `Series.tolist()`; `.values` and `to_cupy()` give (stand-in) device arrays.
- Missing values stay nulls, as in cuDF, instead of becoming NaN: integer, float and boolean columns with
  gaps are pandas' nullable Int64/Float64/boolean; `to_pandas()` converts them as cuDF does. (pandas' masked
  floats make a NaN from arithmetic missing too, where cuDF keeps it a value: that difference is not copied.)
- Results cuDF gives in no particular order come in another order than pandas': group-by aggregations unless
  `sort=True` (cuDF's default is False), `merge` unless `sort=True`, `unique()` (a Series, as in cuDF) and
  `drop_duplicates()`.
- Every public function and method the code under test calls is recorded with its keywords
  (`standin_support.CALLS`), for `make preflight` to resolve and bind on the real cuDF classes.
"""

from __future__ import annotations

import io
import types
from pathlib import Path
from typing import Any

import cupy
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
from standin_support import from_outside, record, refuse

__version__ = "stand-in"
ACCESSORS = ("str", "dt", "cat", "list", "struct")
AGGREGATIONS = frozenset(
    [
        "agg",
        "aggregate",
        "sum",
        "mean",
        "min",
        "max",
        "count",
        "size",
        "std",
        "var",
        "first",
        "last",
        "nunique",
        "median",
        "prod",
        "any",
        "all",
        "idxmin",
        "idxmax",
        "quantile",
    ]
)
SERIES_HOST = (
    "cuDF does not support conversion to host memory via the `tolist()` method. Consider using "
    "`.to_arrow().to_pylist()` to construct a Python list."
)
ITERATION = "Series object is not iterable. Consider using `.to_arrow()`, `.to_pandas()` or `.values_host` if you wish to iterate over the values."  # noqa: E501
ARRAY = (
    "Implicit conversion to a host NumPy array via __array__ is not allowed, To explicitly construct a GPU "
    "matrix, consider using .to_cupy()\nTo explicitly construct a host matrix, consider using .to_numpy()."
)


def adopt(value: Any) -> Any:
    """pandas results as stand-in objects (sharing their data)."""
    if isinstance(value, pd.DataFrame) and not isinstance(value, DataFrame):
        return DataFrame(value)
    if isinstance(value, pd.Series) and not isinstance(value, Series):
        return Series(value)
    return value


def _reversed(value: Any) -> Any:
    """Rows in another order than pandas gives them (cuDF's hash order stands here as pandas' reversed)."""
    return value.iloc[::-1] if isinstance(value, pd.DataFrame | pd.Series) else value


class _Watched:
    """A pandas helper object (accessor, group-by) whose calls are recorded and whose results are adopted."""

    def __init__(self, target: Any, owner: str, unordered: bool = False) -> None:
        self._target, self._owner, self._unordered = target, owner, unordered

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name.startswith("_"):
            return value
        owner = self._owner
        if isinstance(value, pd.core.groupby.SeriesGroupBy):  # a column picked as an attribute
            return _Watched(value, "SeriesGroupBy", self._unordered)
        if not callable(value):
            record("cudf", f"{owner}.{name}")
            return adopt(value)

        def call(*args: Any, **kwargs: Any) -> Any:
            record("cudf", f"{owner}.{name}", kwargs)
            result = adopt(value(*args, **kwargs))
            return _reversed(result) if self._unordered and name in AGGREGATIONS else result

        return call

    def __getitem__(self, key: Any) -> Any:
        record("cudf", f"{self._owner}.__getitem__")
        selected = self._target[key]
        owner = "SeriesGroupBy" if isinstance(selected, pd.core.groupby.SeriesGroupBy) else self._owner
        return _Watched(selected, owner, self._unordered)

    def __iter__(self) -> Any:
        refuse(f"cudf.{self._owner}.__iter__", f"{self._owner} is not iterable in cuDF.")


class _Frame:
    """What the stand-in DataFrame and Series share."""

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if name[0] == "_" or not from_outside():
            return value
        owner = type(self).__name__
        if name in ACCESSORS:
            record("cudf", f"{owner}.{name}")
            return _Watched(value, f"{owner}.{name}")
        if name in ("tolist", "to_list") and isinstance(self, pd.Series):
            return lambda *args, **kwargs: refuse("cudf.Series.tolist", SERIES_HOST)
        if name == "dtypes":  # cuDF gives a pandas Series of dtypes, on the host
            record("cudf", f"{owner}.dtypes")
            return pd.Series(value) if isinstance(value, pd.Series) else value
        if name == "values":
            record("cudf", f"{owner}.values")
            return cupy.ndarray(value)
        if not isinstance(value, types.MethodType | types.FunctionType | types.BuiltinFunctionType):
            if not (isinstance(self, pd.DataFrame) and name in self.columns):  # a column read as an attribute
                record("cudf", f"{owner}.{name}")
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            record("cudf", f"{owner}.{name}", kwargs)
            result = value(*args, **kwargs)
            if name == "to_pandas":
                return result
            if name == "groupby":
                return _Watched(result, f"{owner}GroupBy", unordered=not kwargs.get("sort", False))
            if name == "merge" and not kwargs.get("sort", False):
                return adopt(result).iloc[::-1].reset_index(drop=True)
            if name == "drop_duplicates":
                return _reversed(adopt(result))
            return adopt(result)

        return call

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        if from_outside():
            refuse(f"cudf.{type(self).__name__}.__array__", ARRAY)
        return super().__array__(dtype)

    def to_cupy(self, dtype: Any = None, copy: bool = False, na_value: Any = None) -> cupy.ndarray:
        return cupy.ndarray(self.to_numpy(dtype=dtype, na_value=na_value))

    def to_arrow(self) -> Any:
        return pa.Table.from_pandas(self.to_pandas(), preserve_index=False)


def _host_column(series: pd.Series) -> pd.Series:
    """The column as cuDF's to_pandas gives it: integers with nulls as float64, booleans with nulls as objects."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) and series.dtype.kind == "f":
        return series.astype(series.dtype.numpy_dtype)
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) and series.dtype.kind in "iu":
        return series.astype("float64") if series.hasnans else series.astype(series.dtype.numpy_dtype)
    if isinstance(series.dtype, pd.BooleanDtype):
        return series.astype(object).where(series.notna(), None) if series.hasnans else series.astype(bool)
    return series


def _device_column(column: pa.ChunkedArray) -> pd.Series:
    """A column as cuDF holds it: integers, floats and booleans keep nulls apart from values (and NaN)."""
    if column.null_count and pa.types.is_integer(column.type):
        name = str(column.type)  # int8 → Int8, uint64 → UInt64: pandas' nullable integer of the same width
        nullable = pd.api.types.pandas_dtype("UInt" + name[4:] if name.startswith("u") else "Int" + name[3:])
        return column.to_pandas(types_mapper={column.type: nullable}.get)
    if column.null_count and pa.types.is_floating(column.type):  # nulls apart from NaN, as in cuDF
        return column.to_pandas(types_mapper={pa.float32(): pd.Float32Dtype(), pa.float64(): pd.Float64Dtype()}.get)
    if column.null_count and pa.types.is_boolean(column.type):
        return column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    return column.to_pandas()


class Series(_Frame, pd.Series):
    @property
    def _constructor(self) -> type:
        return Series

    @property
    def _constructor_expanddim(self) -> type:
        return DataFrame

    def __iter__(self) -> Any:
        if from_outside():
            refuse("cudf.Series.__iter__", ITERATION)
        return super().__iter__()

    def unique(self) -> Series:
        return Series(pd.Series(super().unique(), name=self.name)).iloc[::-1].reset_index(drop=True)

    @property
    def values_host(self) -> Any:
        return super().to_numpy()

    def to_pandas(self, nullable: bool = False) -> pd.Series:
        return _host_column(pd.Series(self, copy=True))

    @classmethod
    def from_arrow(cls, array: Any) -> Series:
        return cls(_device_column(pa.chunked_array(array) if isinstance(array, pa.Array) else array))

    @classmethod
    def from_pandas(cls, series: pd.Series, nan_as_null: Any = None) -> Series:
        return cls(series.copy())


class DataFrame(_Frame, pd.DataFrame):
    @property
    def _constructor(self) -> type:
        return DataFrame

    @property
    def _constructor_sliced(self) -> type:
        return Series

    def to_pandas(self, nullable: bool = False) -> pd.DataFrame:
        plain = pd.DataFrame(self, copy=True)
        for position in range(plain.shape[1]):
            plain.isetitem(position, _host_column(plain.iloc[:, position]))
        return plain

    @classmethod
    def from_arrow(cls, table: pa.Table) -> DataFrame:
        frame = cls({str(i): _device_column(column) for i, column in enumerate(table.columns)})
        frame.columns = table.column_names
        return frame

    @classmethod
    def from_pandas(cls, frame: pd.DataFrame, nan_as_null: Any = None) -> DataFrame:
        return cls(frame.copy())


def from_pandas(value: Any, nan_as_null: Any = None) -> Any:
    record("cudf", "from_pandas")
    return adopt(value.copy())


def _source(source: Any) -> Any:
    return pa.BufferReader(source.getvalue()) if isinstance(source, io.BytesIO) else str(Path(source))


def _arrow_type(dtype: str) -> pa.DataType:
    return pa.string() if dtype == "str" else pa.from_numpy_dtype(pd.api.types.pandas_dtype(dtype))


def read_csv(source: Any, sep: str = ",", dtype: list[str] | None = None, **kwargs: Any) -> DataFrame:
    record("cudf", "read_csv", {"sep": sep, "dtype": dtype, **kwargs})
    parse = pacsv.ParseOptions(delimiter=sep, newlines_in_values=True)
    names = pacsv.open_csv(_source(source), parse_options=parse).schema.names
    types = {n: _arrow_type(d) for n, d in zip(names, dtype, strict=True)} if dtype else None
    convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    return DataFrame.from_arrow(pacsv.read_csv(_source(source), parse_options=parse, convert_options=convert))


def read_json(source: Any, lines: bool = False, engine: str = "auto", dtype: Any = None, **kwargs: Any) -> DataFrame:
    record("cudf", "read_json", {"lines": lines, "engine": engine, "dtype": dtype, **kwargs})
    schema = pa.schema([(n, _arrow_type(d)) for n, d in dtype.items()]) if dtype else None
    options = pajson.ParseOptions(explicit_schema=schema)
    return DataFrame.from_arrow(pajson.read_json(_source(source), parse_options=options))


def read_parquet(source: Any, **kwargs: Any) -> DataFrame:
    record("cudf", "read_parquet", kwargs)
    import pyarrow.parquet as pq

    return DataFrame.from_arrow(pq.read_table(_source(source)))


def __getattr__(name: str) -> Any:
    value = getattr(pd, name)
    if not callable(value) or isinstance(value, type):
        return value

    def call(*args: Any, **kwargs: Any) -> Any:
        record("cudf", name, kwargs)
        return adopt(value(*args, **kwargs))

    return call
