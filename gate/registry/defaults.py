"""The transport's defaults, in a module of their own: every command's `--help` shows them,
and `--help` and `--version` load nothing else of the registry stage."""

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_PER_REGISTRY = 8
DEFAULT_DEADLINE = 300.0
"""Five minutes for every image of a run: long enough for an estate behind slow registries,
short enough that a hanging registry cannot hold a CI job."""
