"""A visitor's file loaded through the real upload path in a fresh process, with the peak resident memory of that
process and every process under it (the reader process and the children it forks) sampled as it runs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.child import run_child

LOAD_MEASURED = """
    import json, sys, threading, time
    from pathlib import Path
    import psutil
    from pipeline.data.catalog import Catalog
    from pipeline.data.io import Source
    from pipeline.data.loading import load_bundled, load_file
    from pipeline.engines import get_engine
    from pipeline.errors import DataError

    def tree_rss():
        me = psutil.Process()
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total

    cpu = get_engine("cpu")
    catalog = Catalog()
    load_bundled(catalog, "iris", [cpu])
    load_file(Catalog(), Source.from_bytes("warm.csv", b"a\\n1\\n"), [cpu])  # the reader process is up
    data = Path({path!r}).read_bytes()
    base = tree_rss()
    peak, done = [base], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss())
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    try:
        dataset = load_file(catalog, Source.from_bytes({name!r}, data), [cpu])
        said = f"loaded {{dataset.shape[0]}} x {{dataset.shape[1]}}"
    except DataError as error:
        said = f"refused: {{error}}"
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    print(json.dumps({{"said": said, "seconds": seconds, "growth": peak[0] - base, "kept": [d.name for d in catalog]}}))
"""


def load_measured(path: Path, name: str | None = None, **environment: str) -> dict:
    """What loading the file at `path` (uploaded as `name`, with the operator's `environment`) said, how long it
    took, how far the process tree's resident memory grew above where it stood with the reader process warm, and
    what the catalog kept."""
    done = run_child(LOAD_MEASURED.format(path=str(path), name=name or path.name), timeout=300, **environment)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
