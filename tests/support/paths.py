"""Where the tests find the project, its test data, and the shared corpus and schemas.

The corpus and schemas live beside the checkout (`../shared`, or `PULLGATE_SHARED`). On a
bare clone they are not there: the tests that need them skip with one line, unless in CI
(`CI` set, as GitHub Actions and GitLab set it), where a missing corpus is a failure.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
"""The repository: README.md, action.yml, the GitLab template."""
DATA = ROOT / "tests" / "data"
SHARED = Path(os.environ.get("PULLGATE_SHARED") or ROOT.parent / "shared")
CORPUS = SHARED / "corpus"
SCHEMAS = SHARED / "schemas"
CUSTOM_RESOURCES = ROOT / "docs" / "research" / "custom-resources" / "examples"
"""Custom resources in their projects' published shapes, each with the images its controller
runs (`*.expected.json`), researched from upstream sources (see NOTES.md beside them)."""


def require_shared(path: Path, what: str) -> Path:
    """`path` under the shared directory, which must exist: a skip on a bare clone, a
    failure in CI."""
    if path.exists():
        return path
    message = f"{what} not found at {path} (../shared beside the checkout)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{message}: in CI the shared corpus and schemas are required", pytrace=False)
    pytest.skip(f"{message}; with CI=true this fails")
