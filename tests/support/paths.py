"""Where the tests find the project, its test data, and the shared corpus and schemas."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository: README.md, action.yml, the GitLab template."""
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
SCHEMAS = SHARED / "schemas"
CUSTOM_RESOURCES = ROOT / "docs" / "research" / "custom-resources" / "examples"
"""Custom resources in their projects' published shapes, each with the images its controller
runs (`*.expected.json`), researched from upstream sources (see NOTES.md beside them)."""
