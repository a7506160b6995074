"""`make mutation`'s verdict: survivors matched to the accounted list by their change, whatever mutmut numbered them,
and the score counting listed mutants as neither killed nor missed."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.mutation.score import Mutant, entry_to_fill_in, load_accounted, percent, summary, table, unaccounted

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
    left, stale, listed = unaccounted([renumbered, other_function], [entry], lambda mutant: DIFF)
    assert [mutant.name for mutant, _ in left] == ["pipeline.cost.x_g__mutmut_1"]
    assert left[0][1] == "- return x > 1\n+ return x >= 1"
    assert (stale, listed) == ([], Counter({"pipeline/cost.py": 1}))
    left, stale, listed = unaccounted([], [entry], lambda mutant: DIFF)
    assert (left, stale, listed) == ([], [entry], Counter())


def test_a_method_is_named_with_its_class():
    assert Mutant("pipeline.cost.xǁInstancePricesǁchecked__mutmut_3", "pipeline/cost.py", "killed").function == (
        "InstancePrices.checked"
    )


def test_the_score_leaves_listed_mutants_out_and_counts_untested_ones_as_missed():
    mutants = [
        Mutant(f"m.x_f__mutmut_{i}", "pipeline/m.py", status)
        for i, status in enumerate(["killed"] * 6 + ["timeout", "survived", "survived", "no tests"])
    ]
    figures = summary(mutants, Counter({"pipeline/m.py": 1}))
    assert figures["killed"] == 7
    assert figures["score"] == 7 / 9
    assert figures["raw_score"] == 7 / 10
    module = figures["modules"]["pipeline/m.py"]
    assert module["statuses"] == {"killed": 6, "timeout": 1, "survived": 2, "no tests": 1}
    assert (module["listed"], module["score"]) == (1, 7 / 9)
    assert table(figures).splitlines()[-2:] == [
        "| `pipeline/m.py` | 10 | 7 | 1 | 77.7 % |",
        "| all | 10 | 7 | 1 | 77.7 % |",
    ]


def test_a_score_short_of_every_mutant_never_reads_as_all_of_them():
    assert (percent(7449 / 7450), percent(1.0), percent(0.8), percent(0.0)) == ("99.9 %", "100.0 %", "80.0 %", "0.0 %")


def test_the_entry_printed_for_a_survivor_is_one_the_list_accepts_once_it_has_a_reason(tmp_path):
    survivor = Mutant("pipeline.cost.xǁPricesǁchecked__mutmut_3", "pipeline/cost.py", "survived")
    printed = entry_to_fill_in(survivor, '- return "a" if x else b\n+ return "XXaXX" if x else b')
    (tmp_path / "area.toml").write_text(printed, "utf-8")
    with pytest.raises(SystemExit, match="gives no reason"):
        load_accounted(tmp_path)
    (tmp_path / "area.toml").write_text(printed.replace('reason = ""', 'reason = "equivalent: why"'), "utf-8")
    [entry] = load_accounted(tmp_path)
    left, stale, listed = unaccounted(
        [survivor], [entry], lambda mutant: '-  return "a" if x else b\n+ return "XXaXX" if x else b'
    )
    assert (left, stale, listed) == ([], [], Counter({"pipeline/cost.py": 1}))


ENTRY = 'module = "pipeline/cost.py"\nfunction = "f"\nchange = """\n- a\n+ b"""\nreason = "r"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"[[mutant]]\n{ENTRY}\n[[mutant]]\n{ENTRY}", "listed twice: pipeline/cost.py f"),
        (f"[[mutants]]\n{ENTRY}", r"only \[\[mutant\]\] entries belong here; found \['mutants'\]"),
        ('[[mutant]]\nmodule = "pipeline/cost.py"\nfunction = "f"\nreason = "r"\n', r"an entry lacks \['change'\]"),
        ("[[mutant]]\nmodule = pipeline/cost.py\n", "not valid TOML"),
    ],
    ids=["twice", "misspelt-table", "no-change", "bad-toml"],
)
def test_a_wrong_list_is_refused_naming_its_file(tmp_path, text, message):
    (tmp_path / "area.toml").write_text(text, "utf-8")
    with pytest.raises(SystemExit, match=message) as refused:
        load_accounted(tmp_path)
    assert str(refused.value).startswith(str(tmp_path / "area.toml"))
