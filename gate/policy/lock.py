"""Lock rules: `check --lock` fails an image that resolves to another digest than was locked."""

from __future__ import annotations

from collections.abc import Iterable

from gate.lock import Lock, lock_mismatches, lock_unlisted, running_digest
from gate.model import Finding, ImageUse
from gate.policy.images import finding_for


def lock_findings(uses: Iterable[ImageUse], lock: Lock) -> list[Finding]:
    """`image-lock-mismatch` for a different digest, and for an image the lock does not know."""
    uses = list(uses)
    findings = [
        finding_for(
            "image-lock-mismatch",
            use,
            f"image {use.container.image} is {running_digest(use)}, but the lock file records "
            f"{locked}",
            "The deploy would run something other than what was verified. Review what changed "
            "behind the tag, then re-run `pullgate pin --lock`; or restore the tag.",
        )
        for use, locked in lock_mismatches(uses, lock)
    ]
    findings += [
        finding_for(
            "image-lock-mismatch",
            use,
            f"image {use.container.image} is not in the lock file",
            "It was added after the lock was written, so nothing verified it. Review it, then "
            "re-run `pullgate pin --lock`.",
        )
        for use in lock_unlisted(uses, lock)
    ]
    return findings
