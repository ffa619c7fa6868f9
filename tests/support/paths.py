"""Where the tests find the project, its test data, and the shared corpus and schemas."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository: README.md, action.yml, the GitLab template."""
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SCHEMAS = SHARED / "schemas"
