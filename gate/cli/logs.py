"""Logging for the command line: our loggers (and httpx's at -vv) to stderr, never credentials."""

from __future__ import annotations

import logging
import sys


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is logged (click swaps it in tests)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("pullgate: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


_HANDLER = _StderrHandler()


def configure_logging(verbose: int) -> None:
    """Our loggers, and httpx's one line per request at -vv, to stderr.

    Lower layers stay at WARNING whatever the verbosity: hpack logs header blocks (Huffman-coded,
    not redacted) and httpcore raw headers, so credentials never reach the log.
    """
    levels = {
        "gate": logging.WARNING - 10 * min(verbose, 2),
        "httpx": logging.INFO if verbose >= 2 else logging.WARNING,
    }
    for name, level in levels.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if _HANDLER not in logger.handlers:
            logger.addHandler(_HANDLER)
    for wire_level in ("httpcore", "hpack", "h2"):
        logging.getLogger(wire_level).setLevel(logging.WARNING)
