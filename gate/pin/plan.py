"""What a pin will change: one edit per image value, or the problems that refuse the pin.

A reviewer must be able to trust a pin diff at a glance, so the only change ever made is an
insertion at the end of an image value (`@sha256:…`, or `:latest@sha256:…` for a tag-less
image). Nothing is written unless every image of every file resolved (all or nothing): a plan
with problems is never applied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gate.errors import GateError
from gate.exits import EXIT_OK, EXIT_UNVERIFIED, EXIT_VIOLATIONS
from gate.load import PathKey
from gate.lock import Lock, LockEntry
from gate.model import CheckResult, ImageUse, Outcome
from gate.reference import DEFAULT_TAG, InvalidReference, Reference, parse_reference

_UNVERIFIED_OUTCOMES = frozenset(
    {
        Outcome.UNREACHABLE,
        Outcome.REFUSED,
        Outcome.INVALID_RESPONSE,
        Outcome.SKIPPED,
        Outcome.UNVERIFIED,
    }
)
"""Outcomes that mean "could not ask", not "asked and wrong" (exit 3, as for `check`)."""


class PinError(GateError):
    """Pinning was refused: the text could not be edited safely, or not every image resolved."""

    exit_code = EXIT_VIOLATIONS


@dataclass(frozen=True)
class PinEdit:
    """One image value to pin: where it is written, what it says, and what it will say."""

    file: str
    line: int
    """1-based line of the value (`Container.line`)."""
    path: PathKey
    """Path of the value inside its object (`Container.path`)."""
    old: str
    """The value as written."""
    new: str
    """`old` with the digest (and, for a tag-less image, `:latest`) appended."""

    def matches(self, doc_path: PathKey) -> bool:
        """A value at `doc_path` in its document is this edit's: the object's own path, or the
        same path inside a `kind: List` item."""
        if doc_path == self.path:
            return True
        return (
            len(doc_path) == len(self.path) + 2
            and doc_path[0] == "items"
            and isinstance(doc_path[1], int)
            and doc_path[2:] == self.path
        )


@dataclass(frozen=True)
class PinProblem:
    """Why one image (or document) blocks the pin."""

    file: str
    line: int
    image: str | None
    reason: str
    unverified: bool = False
    """True when the registry could not be asked (outage, --offline): exit 3, not 1."""

    def __str__(self) -> str:
        subject = f"image {self.image}" if self.image is not None else "document"
        return f"{self.file}:{self.line}: {subject}: {self.reason}"


@dataclass
class PinPlan:
    """Every edit a pin makes, and every reason it must not make them."""

    edits: list[PinEdit] = field(default_factory=list)
    problems: list[PinProblem] = field(default_factory=list)
    lock: Lock = field(default_factory=Lock)

    @property
    def complete(self) -> bool:
        """Every image resolved: the only state in which anything may be written."""
        return not self.problems

    @property
    def files(self) -> list[str]:
        """Files with at least one edit, in the order their images were found."""
        return list(dict.fromkeys(edit.file for edit in self.edits))

    def edits_in(self, file: str) -> list[PinEdit]:
        return [edit for edit in self.edits if edit.file == file]

    @property
    def exit_code(self) -> int:
        """As `check` would exit: 0 pinnable, 3 only outages stand in the way, 1 otherwise."""
        if not self.problems:
            return EXIT_OK
        if all(problem.unverified for problem in self.problems):
            return EXIT_UNVERIFIED
        return EXIT_VIOLATIONS


def pinned_value(image: str, reference: Reference, digest: str) -> str:
    """The value an image is pinned to: the text as written, plus `@digest`.

    A tag-less image gets `:latest` first: that is the tag the digest was resolved from, and
    keeping it visible lets `image-tag-digest-mismatch` say when `latest` has moved on.
    """
    pinned = reference.with_digest(digest)  # validates the digest
    suffix = f"@{digest}" if reference.tag is not None else f":{DEFAULT_TAG}@{digest}"
    new = image + suffix
    expected = Reference(pinned.domain, pinned.path, pinned.tag or DEFAULT_TAG, digest)
    if parse_reference(new) != expected:  # pragma: no cover - the grammar makes this impossible
        raise InvalidReference(new, "pinning changed what the reference names")
    return new


def plan_pins(uses: Iterable[ImageUse]) -> PinPlan:
    """Decide the edit for every resolved image, and list every image that blocks the pin.

    Images that already carry a digest are left as they are (that digest is what runs) but
    still go into the lock. Images with pull policy `Never` are left as they are and out of the
    lock: the kubelet runs whatever the node holds under that name, never what a registry says.
    """
    plan = PinPlan()
    seen_edits: set[PinEdit] = set()
    lock: dict[str, LockEntry] = {}
    for use in uses:
        container = use.container
        file, line, image = use.pod.object.file, container.line, container.image
        ref, resolution = use.reference, use.resolution
        if image is None or ref is None:
            reason = use.invalid_reason or "not a valid image reference"
            plan.problems.append(PinProblem(file, line, image, reason))
            continue
        if resolution is not None and resolution.outcome is Outcome.NOT_PULLED:
            continue
        if resolution is None or not resolution.ok or resolution.digest is None:
            plan.problems.append(_unresolved(file, line, image, use))
            continue
        digest = resolution.digest
        entry = LockEntry(
            canonical=ref.canonical,
            digest=digest,
            media_type=resolution.media_type or "",
            platforms=tuple(resolution.platforms),
        )
        known = lock.setdefault(image, entry)
        if known.digest != digest:
            plan.problems.append(
                PinProblem(
                    file,
                    line,
                    image,
                    f"resolved to {digest} here but to {known.digest} elsewhere; run again",
                )
            )
            continue
        if ref.digest is not None:
            continue
        try:
            new = pinned_value(image, ref, digest)
        except InvalidReference as exc:
            plan.problems.append(PinProblem(file, line, image, f"registry digest unusable: {exc}"))
            continue
        edit = PinEdit(file, line, container.path, image, new)
        if edit not in seen_edits:
            seen_edits.add(edit)
            plan.edits.append(edit)
    plan.lock = Lock(dict(sorted(lock.items())))
    return plan


def plan_check(result: CheckResult) -> PinPlan:
    """`plan_pins` over a check's images; a document that did not parse blocks the pin too
    (unless a suppression accepts it), as `kubectl apply` would refuse the file."""
    plan = plan_pins(result.uses)
    broken = [
        PinProblem(f.file, f.line, None, f.message)
        for f in result.active_findings
        if f.rule == "manifest-invalid"
    ]
    plan.problems[:0] = broken
    return plan


def _unresolved(file: str, line: int, image: str, use: ImageUse) -> PinProblem:
    resolution = use.resolution
    if resolution is None:
        return PinProblem(file, line, image, "not resolved", unverified=True)
    if resolution.outcome is Outcome.SKIPPED:
        return PinProblem(file, line, image, "not resolved (offline)", unverified=True)
    detail = f": {resolution.detail}" if resolution.detail else ""
    return PinProblem(
        file,
        line,
        image,
        f"{resolution.outcome.value}{detail}",
        unverified=resolution.outcome in _UNVERIFIED_OUTCOMES,
    )
