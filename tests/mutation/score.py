"""The mutation score of `make mutation`: mutmut's results per module, each survivor matched against the list of
mutants accounted for (tests/mutation/accounted/*.toml), the figures written as JSON and printed as a table.

Run from the repository root after `mutmut run` (make mutation runs it): `python -m tests.mutation.score`.
It fails (exit 1) when the score is under 80 %, when a survivor is not accounted for (it prints the entry to fill
in: kill the mutant with a test, or add the entry with the reason no test can tell it apart), or when an entry
matches no survivor any more (its code changed or a test kills it now: remove it). The score leaves the listed
mutants out: killed ÷ (mutants − listed); a timeout counts as killed.

An entry: [[mutant]] with module (the file), function (`name` or `Class.method`), change (the removed and added
lines, "- old" and "+ new", as printed; spacing does not matter) and reason; matched by all three, not by
mutmut's number. To rerun one mutant after a change: `.venv/bin/mutmut run NAME`, then this script again.
"""

from __future__ import annotations

import argparse
import json
import math
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
    entries: list[dict[str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for path in sorted(folder.glob("*.toml")):
        try:
            document = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise SystemExit(f"{path}: not valid TOML: {error}") from error
        if set(document) - {"mutant"}:
            raise SystemExit(f"{path}: only [[mutant]] entries belong here; found {sorted(set(document) - {'mutant'})}")
        for entry in document.get("mutant", []):
            missing = {"module", "function", "change", "reason"} - entry.keys()
            if missing:
                raise SystemExit(f"{path}: an entry lacks {sorted(missing)}: {entry}")
            if not str(entry["reason"]).strip():
                raise SystemExit(f"{path}: an entry gives no reason: {entry['module']} {entry['function']}")
            if key_of(entry) in seen:
                raise SystemExit(f"{path}: listed twice: {entry['module']} {entry['function']}\n{entry['change']}")
            seen.add(key_of(entry))
            entries.append(entry)
    return entries


def key_of(entry: dict[str, str]) -> tuple[str, str, str]:
    return entry["module"], entry["function"], change_of(entry["change"])


def unaccounted(
    survivors: Iterable[Mutant], accounted: list[dict[str, str]], diff_of
) -> tuple[list[tuple[Mutant, str]], list[dict[str, str]], Counter]:
    """The survivors the list does not account for, each with its change; the entries no survivor matches (their
    code changed, or a test kills them now); and how many survivors the list accounts for in each module."""
    listed = {key_of(entry) for entry in accounted}
    left, matched, per_module = [], set(), Counter()
    for mutant in survivors:
        key = (mutant.module, mutant.function, change_of(diff_of(mutant)))
        if key in listed:
            matched.add(key)
            per_module[mutant.module] += 1
        else:
            left.append((mutant, key[2]))
    return left, [entry for entry in accounted if key_of(entry) not in matched], per_module


def score_of(killed: int, judged: int) -> float:
    return killed / judged if judged else 1.0


def percent(share: float) -> str:
    """A share as a percentage rounded down: 7,449 of 7,450 reads 99.9 %, never 100.0 %."""
    return f"{math.floor(share * 1000) / 10:.1f} %"


def summary(mutants: list[Mutant], listed: Counter) -> dict[str, object]:
    """Counts per module and in all; the score counts a mutant listed as equivalent as neither killed nor missed."""
    modules: dict[str, Counter] = {}
    for mutant in mutants:
        modules.setdefault(mutant.module, Counter())[mutant.status] += 1
    total = Counter(m.status for m in mutants)
    killed = sum(total[s] for s in KILLED)
    accounted = sum(listed.values())
    return {
        "mutants": len(mutants),
        "killed": killed,
        "timeouts": total["timeout"],
        "survived": total["survived"],
        "no_tests": total["no tests"],
        "accounted_for": accounted,
        "score": score_of(killed, len(mutants) - total["skipped"] - accounted),
        "raw_score": killed / len(mutants) if mutants else 1.0,
        "modules": {
            module: {
                "mutants": sum(c.values()),
                "killed": sum(c[s] for s in KILLED),
                "listed": listed[module],
                "score": score_of(sum(c[s] for s in KILLED), sum(c.values()) - c["skipped"] - listed[module]),
                "statuses": dict(c),
            }
            for module, c in sorted(modules.items())
        },
    }


def table(figures: dict[str, object]) -> str:
    """The figures as a Markdown table, a row per module; the score leaves the listed mutants out."""
    rows = ["| module | mutants | killed | listed as equivalent | score |", "|---|---:|---:|---:|---:|"]
    for module, c in figures["modules"].items():
        rows.append(f"| `{module}` | {c['mutants']:,} | {c['killed']:,} | {c['listed']:,} | {percent(c['score'])} |")
    rows.append(
        f"| all | {figures['mutants']:,} | {figures['killed']:,} | {figures['accounted_for']:,} | "
        f"{percent(figures['score'])} |"
    )
    return "\n".join(rows)


def entry_to_fill_in(mutant: Mutant, change: str) -> str:
    """The accounted-list entry for a survivor, its reason left to write (or kill the mutant with a test)."""
    return "\n".join(
        [
            "[[mutant]]",
            f"module = {json.dumps(mutant.module)}",
            f"function = {json.dumps(mutant.function)}",
            f'change = """\n{change}"""',
            'reason = ""',
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mutation.score", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, default=Path("test-artifacts/mutation.json"), help="where the figures go (%(default)s)"
    )
    parser.add_argument(
        "--seconds", type=float, help="how long the mutmut run took, shown and written with the figures"
    )
    args = parser.parse_args(argv)

    from mutmut.mutation.diff_apply import get_diff_for_mutant

    mutants = recorded_mutants()
    if not mutants:
        print("No mutmut results under mutants/: run `make mutation`.", file=sys.stderr)
        return 1
    accounted = load_accounted()
    survivors = [m for m in mutants if m.status in {"survived", "no tests", "suspicious", "not checked"}]
    left, stale, listed = unaccounted(survivors, accounted, lambda m: get_diff_for_mutant(m.name, path=Path(m.module)))
    figures = summary(mutants, listed)
    figures["seconds"] = args.seconds
    figures["timed_out"] = [m.name for m in mutants if m.status == "timeout"]
    figures["unaccounted"] = [
        {"name": m.name, "module": m.module, "function": m.function, "status": m.status, "change": c} for m, c in left
    ]
    figures["stale_entries"] = [{k: e[k] for k in ("module", "function", "change")} for e in stale]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False), "utf-8")
    print(table(figures))
    for mutant, change in left:
        print(f"\n{mutant.status}: {mutant.name} (kill it with a test, or list it with its reason):")
        print(entry_to_fill_in(mutant, change))
    for entry in figures["stale_entries"]:
        print(f"\nlisted but no longer surviving (remove it): {entry['module']} {entry['function']}\n{entry['change']}")
    if figures["timed_out"]:
        print(f"\ntimed out (counted as killed): {', '.join(figures['timed_out'])}")
    took = f" in {args.seconds / 60:.1f} min" if args.seconds is not None else ""
    print(
        f"\n{figures['mutants']:,} mutants{took}: score {percent(figures['score'])} (goal {GOAL:.0%}); "
        f"{len(left)} survivor(s) not accounted for, {len(stale)} stale entr{'y' if len(stale) == 1 else 'ies'} "
        f"in {ACCOUNTED}; figures in {args.out}",
        file=sys.stderr,
    )
    return 0 if figures["score"] >= GOAL and not left and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
