"""The transport's defaults, in a module of their own: every command's `--help` shows them,
and `--help` and `--version` load nothing else of the registry stage."""

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_PER_REGISTRY = 16
"""Requests in flight to one registry (`--max-requests`): 16 hide a 100 ms round trip for a
few hundred images per registry, and stay well under what registries allow one client
(Docker Hub and Harbor throttle far beyond it); over HTTP/2 they share one connection."""
MAX_PER_REGISTRY = 64
DEFAULT_DEADLINE = 300.0
"""Five minutes for every image of a run: long enough for an estate behind slow registries,
short enough that a hanging registry cannot hold a CI job."""
