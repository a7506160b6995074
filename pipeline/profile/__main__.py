"""`python -m pipeline.profile PATH`: profile a file from the command line.

The reader process (`pipeline.tables.sandbox`) starts first, so that its imports overlap the command line's own
instead of adding to the first load.
"""

import sys

from pipeline.tables import sandbox

sandbox.warm()

from pipeline.profile.cli import main  # noqa: E402 (imported once the reader process has started)

sys.exit(main())
