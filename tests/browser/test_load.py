"""Users at once on the real server, each in their own headless Chromium: no errors, and nobody sees anyone else's
data. Four keep `make test` within its time (ten Chromiums on two cores took three minutes); ten and twenty, with
the figures (time, server peak memory) in docs/reliability.md, are benchmarks/load_test.py's."""

from __future__ import annotations

import pytest

from tests.support.chrome import require_chromium
from tests.support.server import running_server

pytestmark = pytest.mark.browser

require_chromium()

SESSIONS = 4
TIME_BOUND_S = 600


@pytest.mark.timeout(TIME_BOUND_S + 120)  # the suite's 300 s default cut it off before its own bound (seen at 300 s)
def test_concurrent_sessions_see_only_their_own_data(tmp_path):
    from tests.support.load_sessions import run_sessions

    data = tmp_path / "data"
    data.mkdir()
    with running_server(data) as server:
        report = run_sessions(server.url, server.process.pid, SESSIONS, tmp_path)
        assert server.process.poll() is None, "the server is still up"
    for session in report.sessions:
        assert not session.problems, (session.number, session.problems)
        assert session.isolated, (session.number, session.datasets_seen, session.foreign_markers)
    assert report.seconds < TIME_BOUND_S
    assert report.server_peak_bytes >= report.server_baseline_bytes > 0
