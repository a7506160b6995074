"""The mutation score of `make mutation`: mutmut's results per module, each survivor matched against the list of
mutants accounted for (tests/mutation/accounted/*.toml), the figures written as JSON and printed as a table.

Run from the repository root after `mutmut run`: `python -m tests.mutation.score [--out FILE] [--seconds S]`.
It fails (exit 1) when the score is under the goal or a survivor is not accounted for.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

GOAL = 0.80
ACCOUNTED = Path(__file__).with_name("accounted")
MUTANTS = Path("mutants")
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


@dataclass(frozen=True)
class Mutant:
    """One mutant as mutmut recorded it: its name, the module it changes and how it ended."""

    name: str
    module: str
    status: str

    @property
    def function(self) -> str:
        """The mutated function, as `Class.method` or `function`."""
        generated = self.name.rpartition(".")[2].rpartition("__mutmut_")[0]
        return generated.removeprefix("x_").removeprefix("xǁ").replace("ǁ", ".")


def change_of(diff: str) -> str:
    """The lines a mutant removes and adds, whitespace-normalised: what names a mutant across renumbering."""
    kept = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return "\n".join(line[0] + " " + " ".join(line[1:].split()) for line in kept)


def recorded_mutants(root: Path = MUTANTS) -> list[Mutant]:
    """Every mutant mutmut's last run recorded, with its status."""
    from mutmut.stats import status_by_exit_code

    found = []
    for meta in sorted(root.glob("pipeline/**/*.py.meta")):
        module = str(meta.relative_to(root))[: -len(".meta")]
        codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        found += [Mutant(name, module, status_by_exit_code[code]) for name, code in codes.items()]
    return found


def load_accounted(folder: Path = ACCOUNTED) -> list[dict[str, str]]:
    """The mutants that survive on purpose: module, function, change and the reason no test can kill them."""
    entries = []
    for path in sorted(folder.glob("*.toml")):
        for entry in tomllib.loads(path.read_text("utf-8")).get("mutant", []):
            missing = {"module", "function", "change", "reason"} - entry.keys()
            if missing:
                raise SystemExit(f"{path}: an entry lacks {sorted(missing)}: {entry}")
            entries.append(entry)
    return entries


def key_of(entry: dict[str, str]) -> tuple[str, str, str]:
    return entry["module"], entry["function"], change_of(entry["change"])


def unaccounted(
    survivors: Iterable[Mutant], accounted: list[dict[str, str]], diff_of
) -> tuple[list[tuple[Mutant, str]], list[dict[str, str]]]:
    """The survivors the list does not account for, each with its change; and the entries no survivor matches (their
    code changed, or a test kills them now)."""
    listed = {key_of(entry) for entry in accounted}
    left, matched = [], set()
    for mutant in survivors:
        key = (mutant.module, mutant.function, change_of(diff_of(mutant)))
        if key in listed:
            matched.add(key)
        else:
            left.append((mutant, key[2]))
    return left, [entry for entry in accounted if key_of(entry) not in matched]


def summary(mutants: list[Mutant], accounted_count: int) -> dict[str, object]:
    """Counts per module and in all; the score counts a mutant listed as equivalent as neither killed nor missed."""
    modules: dict[str, Counter] = {}
    for mutant in mutants:
        modules.setdefault(mutant.module, Counter())[mutant.status] += 1
    total = Counter(m.status for m in mutants)
    killed = sum(total[s] for s in KILLED)
    judged = len(mutants) - total["skipped"] - accounted_count
    return {
        "mutants": len(mutants),
        "killed": killed,
        "survived": total["survived"],
        "no_tests": total["no tests"],
        "accounted_for": accounted_count,
        "score": killed / judged if judged else 1.0,
        "raw_score": killed / len(mutants) if mutants else 1.0,
        "modules": {
            module: {"mutants": sum(c.values()), "killed": sum(c[s] for s in KILLED), "statuses": dict(c)}
            for module, c in sorted(modules.items())
        },
    }


def table(figures: dict[str, object]) -> str:
    """The figures as a Markdown table, a row per module."""
    rows = ["| module | mutants | killed | score |", "|---|---:|---:|---:|"]
    for module, c in figures["modules"].items():
        rows.append(f"| `{module}` | {c['mutants']} | {c['killed']} | {c['killed'] / c['mutants']:.0%} |")
    rows.append(
        f"| all | {figures['mutants']} | {figures['killed']} | {figures['score']:.1%} "
        f"({figures['accounted_for']} listed as equivalent) |"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("test-artifacts/mutation.json"))
    parser.add_argument("--seconds", type=float, help="how long the mutmut run took, written with the figures")
    args = parser.parse_args(argv)

    from mutmut.mutation.diff_apply import get_diff_for_mutant

    mutants = recorded_mutants()
    if not mutants:
        print("No mutmut results under mutants/: run `make mutation`.", file=sys.stderr)
        return 1
    accounted = load_accounted()
    survivors = [m for m in mutants if m.status in {"survived", "no tests", "suspicious", "not checked"}]
    left, stale = unaccounted(survivors, accounted, lambda m: get_diff_for_mutant(m.name, path=Path(m.module)))
    figures = summary(mutants, len(survivors) - len(left))
    figures["seconds"] = args.seconds
    figures["unaccounted"] = [
        {"name": m.name, "module": m.module, "function": m.function, "status": m.status, "change": c} for m, c in left
    ]
    figures["stale_entries"] = [{k: e[k] for k in ("module", "function", "change")} for e in stale]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False), "utf-8")
    print(table(figures))
    for entry in figures["unaccounted"]:
        print(f"\n{entry['status']}: {entry['name']}\n{entry['change']}")
    for entry in figures["stale_entries"]:
        print(f"\nlisted but no longer surviving (remove it): {entry['module']} {entry['function']}\n{entry['change']}")
    verdict = figures["score"] >= GOAL and not left
    print(
        f"\nscore {figures['score']:.1%} (goal {GOAL:.0%}); {len(left)} survivor(s) not accounted for "
        f"in {ACCOUNTED}; figures in {args.out}",
        file=sys.stderr,
    )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
