"""Code run by a fresh Python in the repository root: what can crash or exhaust memory stays out of the tests."""

import os
import subprocess
import sys
import textwrap

from tests.support.paths import REPO_ROOT as ROOT


def run_child(code: str, timeout: float = 120, **environment: str) -> subprocess.CompletedProcess:
    """`code` run by a fresh Python in the repository root, with `environment` added to this one's."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **environment},
    )
