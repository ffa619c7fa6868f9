"""Pin stage: rewrite each image value to `name:tag@sha256:…` and record a lock file.

`plan` decides the edits, `yaml_edit` (with `json_edit`) applies them byte-exact and proves
nothing else changed, `files` reads and writes atomically, and `run` is the whole workflow
behind `pullgate pin`. The lock file's format and matching live below, in `gate.lock`.
"""

from __future__ import annotations

from gate.pin.files import (
    PinFileError,
    read_manifest,
    read_stdin,
    unified_diff,
    write_files,
    write_lock,
)
from gate.pin.plan import (
    PinEdit,
    PinError,
    PinPlan,
    PinProblem,
    pinned_value,
    plan_check,
    plan_pins,
)
from gate.pin.run import PinRun, run_pin
from gate.pin.yaml_edit import apply_pins, pin_texts

__all__ = [
    "PinEdit",
    "PinError",
    "PinFileError",
    "PinPlan",
    "PinProblem",
    "PinRun",
    "apply_pins",
    "pin_texts",
    "pinned_value",
    "plan_check",
    "plan_pins",
    "read_manifest",
    "read_stdin",
    "run_pin",
    "unified_diff",
    "write_files",
    "write_lock",
]
