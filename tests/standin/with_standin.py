"""Run a module of the app with its GPU engine on the stand-ins: `python -m with_standin pipeline.bench ARGS`
(this folder on PYTHONPATH); `make gpu-check STANDIN=1` rehearses the GPU check this way, and the calls the
module made are written where $GPL_PREFLIGHT_CALLS says."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

from standin_activate import activate
from standin_support import CALLS_ENV, write_calls

if __name__ == "__main__":
    activate()
    module, sys.argv = sys.argv[1], sys.argv[1:]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        if os.environ.get(CALLS_ENV):
            write_calls(Path(os.environ[CALLS_ENV]), [])
