"""Concurrent users on the real server: time, the server's peak memory, errors and isolation per session count.

    python -m benchmarks.load_test --sessions 1,10,20 --out docs/results/load_test_cpu.json

For each count, a fresh `streamlit run app.py` is started and that many headless Chromium
sessions (Debian's chromium and chromium-driver) each upload their own table, explore it and
run a one-step pipeline on it, all at once (tests/support/load_sessions.py, the same code the
`tests/browser/test_load.py` test runs). The server's resident memory (with its children) is sampled
every 0.2 s. A session is isolated when its sidebar lists only the sample dataset and its own,
and no other session's dataset name appears on its pages.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import benchmark_parser, publish, run_facts
from tests.support.load_sessions import run_sessions
from tests.support.server import running_server

MIB = 2**20


def measure(sessions: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="load-") as scratch:
        folder = Path(scratch)
        (folder / "data").mkdir()
        with running_server(folder / "data") as server:
            report = run_sessions(server.url, server.process.pid, sessions, folder)
    durations = [session.seconds for session in report.sessions]
    summary = report.as_dict()
    return {
        "sessions": sessions,
        "wall_s": round(report.seconds, 1),
        "session_median_s": round(statistics.median(durations), 1),
        "session_max_s": round(max(durations), 1),
        "server_baseline_mib": round(report.server_baseline_bytes / MIB),
        "server_peak_mib": round(report.server_peak_bytes / MIB),
        "isolated_sessions": summary["isolated_sessions"],
        "sessions_with_problems": summary["sessions_with_problems"],
        "problems": [problem for session in report.sessions for problem in session.problems],
        "per_session": [
            {
                "session": session.number,
                "rows": session.rows,
                "seconds": round(session.seconds, 1),
                "datasets_seen": session.datasets_seen,
                "foreign_markers": session.foreign_markers,
            }
            for session in report.sessions
        ],
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| sessions at once | wall time | per session (median / max) | server memory (start → peak) | "
        "isolated | with errors |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['sessions']} | {r['wall_s']} s | {r['session_median_s']} s / {r['session_max_s']} s | "
            f"{r['server_baseline_mib']} → {r['server_peak_mib']} MiB | {r['isolated_sessions']} of {r['sessions']} | "
            f"{r['sessions_with_problems']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--sessions", default="1,10", help="comma-separated session counts")
    arguments = parser.parse_args()
    results = []
    for count in (int(value) for value in arguments.sessions.split(",")):
        print(f"{count} concurrent sessions…", file=sys.stderr)
        results.append(measure(count))
    publish({**run_facts(), "results": results}, arguments.out, table({"results": results}))


if __name__ == "__main__":
    main()
