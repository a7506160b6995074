"""One step of every kind, for the parity tests on the engines (columns of the `table` fixture: id, x, city, ok,
when; the join's other dataset is called scores)."""

from pipeline.steps.spec import Step

PARITY_STEPS = [
    Step("select", {"columns": ["x", "city"]}),
    Step("drop", {"columns": ["ok"]}),
    Step("rename", {"mapping": {"x": "value"}}),
    Step("cast", {"column": "id", "to": "float64"}),
    Step(
        "filter", {"conditions": [{"column": "x", "op": ">", "value": 0}, {"column": "ok", "op": "==", "value": True}]}
    ),
    Step(  # a missing value passes no comparison, != included
        "filter",
        {
            "conditions": [
                {"column": "x", "op": "!=", "value": 4.0},
                {"column": "city", "op": "!=", "value": "Oslo"},
                {"column": "when", "op": "is not missing"},
            ]
        },
    ),
    Step("drop_missing", {}),
    Step("drop_duplicates", {"columns": ["x"]}),
    Step("sort", {"columns": ["x"]}),
    Step("sample", {"fraction": 0.5, "seed": 1}),
    Step("train_test_split", {"seed": 2}),
    Step("fill_missing", {"columns": ["x"], "method": "median"}),
    Step("datetime_parts", {"column": "when", "parts": ["year", "month", "weekday", "hour"]}),
    Step("string", {"column": "city", "op": "lower"}),
    Step("log1p", {"columns": ["id"]}),
    Step("scale", {"columns": ["x"], "method": "robust"}),
    Step("clip", {"columns": ["x"]}),
    Step("quantile_bin", {"column": "x", "bins": 3}),
    Step("rolling_mean", {"column": "x", "window": 2}),
    Step("one_hot", {"column": "city"}),
    Step("label_encode", {"column": "city"}),
    Step("group_aggregate", {"by": ["ok"], "aggregations": [{"column": "x", "function": "std"}]}),
    Step("join", {"dataset": "scores", "on": ["id"], "how": "left"}),
]
