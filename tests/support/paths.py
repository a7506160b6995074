"""Where things are: the repository's root, the app, the tests' data."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = str(REPO_ROOT / "app.py")
TEST_DATA = REPO_ROOT / "tests" / "data"
