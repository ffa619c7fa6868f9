"""A one-line progress display on stderr while images resolve, for people at a terminal.

Off when stderr is not a terminal, in CI (`CI` set) or with `--no-progress`, so logs stay clean;
the line is cleared at the end so the report starts on a fresh line.
"""

from __future__ import annotations

import os
from typing import TextIO


class ProgressLine:
    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self._shown = False

    @classmethod
    def for_terminal(cls, stream: TextIO, disabled: bool = False) -> ProgressLine:
        interactive = stream.isatty() and not os.environ.get("CI")
        return cls(stream, interactive and not disabled)

    def __call__(self, done: int, total: int, reference: str) -> None:
        if not self.enabled:
            return
        import shutil  # on a terminal only (shutil costs a pre-commit run 5 ms to import)

        width = shutil.get_terminal_size((80, 20)).columns - 1
        text = f"Resolving {done}/{total} {reference}"
        if len(text) > width:
            text = text[: max(width - 1, 0)] + "…"
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False
