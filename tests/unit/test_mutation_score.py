"""`make mutation`'s verdict: survivors matched to the accounted list by their change, whatever mutmut numbered them,
and the score counting listed mutants as neither killed nor missed."""

from __future__ import annotations

from tests.mutation.score import Mutant, summary, unaccounted

DIFF = """--- pipeline/cost.py
+++ pipeline/cost.py
@@ -1,3 +1,3 @@
 def f(x):
-    return  x > 1
+    return x >= 1
"""


def test_a_survivor_is_accounted_for_by_its_change_not_its_number():
    entry = {"module": "pipeline/cost.py", "function": "f", "change": "- return x > 1\n+ return x >= 1", "reason": "r"}
    renumbered = Mutant("pipeline.cost.x_f__mutmut_7", "pipeline/cost.py", "survived")
    other_function = Mutant("pipeline.cost.x_g__mutmut_1", "pipeline/cost.py", "survived")
    left, stale = unaccounted([renumbered, other_function], [entry], lambda mutant: DIFF)
    assert [mutant.name for mutant, _ in left] == ["pipeline.cost.x_g__mutmut_1"]
    assert left[0][1] == "- return x > 1\n+ return x >= 1"
    assert stale == []
    left, stale = unaccounted([], [entry], lambda mutant: DIFF)
    assert (left, stale) == ([], [entry])


def test_a_method_is_named_with_its_class():
    assert Mutant("pipeline.cost.xǁInstancePricesǁchecked__mutmut_3", "pipeline/cost.py", "killed").function == (
        "InstancePrices.checked"
    )


def test_the_score_leaves_listed_mutants_out_and_counts_untested_ones_as_missed():
    mutants = [
        Mutant(f"m.x_f__mutmut_{i}", "pipeline/m.py", status)
        for i, status in enumerate(["killed"] * 6 + ["timeout", "survived", "survived", "no tests"])
    ]
    figures = summary(mutants, accounted_count=1)
    assert figures["killed"] == 7
    assert figures["score"] == 7 / 9
    assert figures["raw_score"] == 7 / 10
    assert figures["modules"]["pipeline/m.py"]["statuses"] == {"killed": 6, "timeout": 1, "survived": 2, "no tests": 1}
