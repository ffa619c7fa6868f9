"""The pin workflow: check, plan, edit every file or none, write the lock; no printing.

`pullgate pin` parses its options, calls `run_pin` and prints what the returned `PinRun` says,
so the whole workflow can be driven (and tested) as a library call, as `run_check` can.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from gate.load import STDIN
from gate.lock import dump_lock
from gate.pin.files import PinFileError, read_manifest, unified_diff, write_files
from gate.pin.plan import PinPlan, plan_check
from gate.pin.yaml_edit import pin_texts
from gate.pipeline import CheckOptions, run_check

if TYPE_CHECKING:
    from gate.registry.resolver import Progress


@dataclass(frozen=True)
class PinRun:
    """What one pin did: its plan and, when the plan was complete, the texts it changed."""

    plan: PinPlan
    texts: dict[str, str] = field(default_factory=dict)
    """The text, as read, of every file the plan edits."""
    changed: dict[str, str] = field(default_factory=dict)
    """The pinned text of every file that changed (written with `write=True`)."""
    stdin_text: str | None = None
    """The stream read from stdin, when the manifests came from there."""

    @property
    def exit_code(self) -> int:
        """As `check` would exit: 0 pinned, 3 only outages stand in the way, 1 otherwise."""
        return self.plan.exit_code

    @property
    def pinned_stream(self) -> str:
        """The stdin stream, pinned (unchanged when it had nothing to pin)."""
        return self.changed.get(STDIN, self.stdin_text or "")

    def diff(self) -> str:
        """Every change as one unified diff, file by file in the order the images were found."""
        return "".join(unified_diff(f, self.texts[f], new) for f, new in self.changed.items())


def run_pin(
    options: CheckOptions,
    *,
    stdin_text: str | None = None,
    write: bool = False,
    lock_path: str | None = None,
    progress: Progress | None = None,
) -> PinRun:
    """Check the manifests, plan every pin, and write the files (`write`) and the lock file
    (`lock_path`), all or nothing.

    An incomplete plan comes back with nothing read or written; its `problems` say why. Raises
    `PinError` when a text cannot be pinned safely, `PinFileError` when a file cannot be read
    or written, and whatever `run_check` raises.
    """
    if stdin_text is not None:
        options = replace(options, stdin=io.StringIO(stdin_text))
    plan = plan_check(run_check(options, progress=progress))
    if not plan.complete:
        return PinRun(plan, stdin_text=stdin_text)
    try:
        read = {f: stdin_text if f == STDIN else read_manifest(f) for f in plan.files}
        texts = {f: text for f, text in read.items() if text is not None}
        changed = pin_texts(plan, texts)
    except OSError as exc:
        raise PinFileError(f"cannot read {exc.filename}: {exc.strerror or exc}") from exc
    try:
        # the manifests and the lock land together: all staged, then all renamed
        outputs = dict(changed) if write else {}
        if lock_path:
            outputs[lock_path] = dump_lock(plan.lock)
        write_files(outputs)
    except OSError as exc:
        raise PinFileError(f"cannot write {exc.filename}: {exc.strerror or exc}") from exc
    return PinRun(plan, texts, changed, stdin_text)
