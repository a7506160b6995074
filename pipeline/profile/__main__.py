"""`python -m pipeline.profile PATH`: profile a file from the command line."""

import sys

from pipeline.profile.cli import main

sys.exit(main())
