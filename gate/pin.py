"""Pin stage: rewrite each image value to `name:tag@sha256:…` and record a lock file.

A reviewer must be able to trust a pin diff at a glance, so the only change ever made is an
insertion at the end of an image value (`@sha256:…`, or `:latest@sha256:…` for a tag-less
image): quotes, comments, flow style, CRLF line ends and a missing final newline all stay as
they were. Each edited text is loaded again with `gate.load` and compared with the original
object by object; any difference besides the pinned values refuses the whole pin. Nothing is
written unless every image of every file resolved (all or nothing).

The lock file records what each reference, as written, resolved to, so that `check --lock`
can fail a deploy of anything else (`image-lock-mismatch`).
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate.errors import GateError
from gate.load import STDIN, KubeObject, PathKey, get_path, load_text
from gate.load import split_documents as _split_yaml_documents
from gate.model import CheckResult, ImageUse, Outcome
from gate.reference import (
    DEFAULT_TAG,
    InvalidReference,
    Reference,
    parse_reference,
    validate_digest,
)
from gate.verdict import EXIT_OK, EXIT_UNVERIFIED, EXIT_VIOLATIONS

try:  # the same loader as gate.load, so that marks and lines agree with the check's
    from yaml import CSafeLoader as _YamlLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _YamlLoader  # type: ignore[assignment]

__all__ = [
    "LOCK_VERSION",
    "Lock",
    "LockEntry",
    "LockError",
    "PinEdit",
    "PinError",
    "PinPlan",
    "PinProblem",
    "apply_pins",
    "dump_lock",
    "lock_mismatches",
    "lock_unlisted",
    "pin_texts",
    "pinned_value",
    "plan_check",
    "plan_pins",
    "read_lock",
    "read_manifest",
    "running_digest",
    "unified_diff",
    "write_files",
    "write_lock",
]

LOCK_VERSION = 1

_UNVERIFIED_OUTCOMES = frozenset(
    {Outcome.UNREACHABLE, Outcome.INVALID_RESPONSE, Outcome.SKIPPED, Outcome.UNVERIFIED}
)
"""Outcomes that mean "could not ask", not "asked and wrong" (exit 3, as for `check`)."""

_BOM = "\ufeff"
_JSON_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.DOTALL)
_JSON_LITERAL = re.compile(
    r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity"
)
_JSON_WHITESPACE = " \t\n\r"


class PinError(GateError):
    """Pinning was refused: the text could not be edited safely, or not every image resolved."""

    exit_code = EXIT_VIOLATIONS


class LockError(GateError):
    """A lock file that cannot be used; the message names the file and what is wrong."""


# -- plan ------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class LockEntry:
    """What one reference resolved to when it was locked."""

    canonical: str
    digest: str
    media_type: str
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lock:
    """Lock file contents: references as written in the manifests, to what they resolved."""

    images: dict[str, LockEntry] = field(default_factory=dict)


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


# -- edit ------------------------------------------------------------------------------------


def apply_pins(text: str, edits: Sequence[PinEdit], file: str = STDIN) -> str:
    """`text` with every edit applied, and no other character changed.

    Each value is found by what the parser says about it (its path, line and value), never by
    searching the text; the result is then loaded again and must equal the original except for
    the pinned values. Raises `PinError` instead of returning anything else.
    """
    if not edits:
        return text
    bom = _BOM if text.startswith(_BOM) else ""
    body = text[len(bom) :]
    for edit in edits:
        if not edit.new.startswith(edit.old) or edit.new == edit.old:
            raise PinError(f"{file}:{edit.line}: {edit.new!r} does not extend {edit.old!r}")
    is_json = _is_json(body)
    unique = list(dict.fromkeys(edits))
    found = _json_positions(body, unique) if is_json else _yaml_positions(body, unique, file)
    insertions: dict[int, str] = {}
    for edit in unique:
        positions = found.get(edit)
        if not positions:
            raise PinError(
                f"{file}:{edit.line}: cannot find the image value {edit.old!r} "
                f"at {_show_path(edit.path)}"
            )
        suffix = edit.new[len(edit.old) :]
        for position in positions:
            if insertions.setdefault(position, suffix) != suffix:
                raise PinError(f"{file}:{edit.line}: two different pins for one value")
    pieces: list[str] = []
    done = 0
    for position in sorted(insertions):
        pieces += [body[done:position], insertions[position]]
        done = position
    pinned = "".join([*pieces, body[done:]])
    _verify(body, pinned, edits, file, is_json)
    return bom + pinned


def pin_texts(plan: PinPlan, texts: Mapping[str, str]) -> dict[str, str]:
    """New text of every file the plan changes (from `texts`, keyed like the uses' files).

    Refuses an incomplete plan, and raises on the first file that cannot be pinned, before
    anything is written: the caller writes all of them or none.
    """
    if not plan.complete:
        listed = "\n".join(f"  {problem}" for problem in plan.problems)
        raise PinError(f"not every image resolved; nothing pinned:\n{listed}")
    changed: dict[str, str] = {}
    for file in plan.files:
        if file not in texts:
            raise PinError(f"{file}: text not given")
        old = texts[file]
        new = apply_pins(old, plan.edits_in(file), file)
        if new != old:
            changed[file] = new
    return changed


def _is_json(text: str) -> bool:
    """The same test `gate.load.load_text` applies."""
    return text.lstrip().startswith(("{", "["))


def _path_matches(doc_path: PathKey, object_path: PathKey) -> bool:
    """An object's path seen from its document: itself, or inside a `kind: List` item."""
    if doc_path == object_path:
        return True
    return (
        len(doc_path) == len(object_path) + 2
        and doc_path[0] == "items"
        and isinstance(doc_path[1], int)
        and doc_path[2:] == object_path
    )


def _yaml_positions(text: str, edits: Sequence[PinEdit], file: str) -> dict[PinEdit, list[int]]:
    """Where to insert each pin: the end of every YAML scalar that is that edit's value.

    Documents are split and parsed exactly as `gate.load` does, so lines agree with the
    check's; each document holding an edit is parsed once.
    """
    lines = text.splitlines()
    starts = _line_starts(text)
    found: dict[PinEdit, list[int]] = {}
    for offset, chunk in _split_yaml_documents(lines):
        wanted: dict[tuple[int, str], list[PinEdit]] = {}
        for edit in edits:
            if offset < edit.line <= offset + chunk.count("\n"):
                wanted.setdefault((edit.line, edit.old), []).append(edit)
        if not wanted:
            continue
        loader = _YamlLoader(chunk)
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                for path, scalar in _scalars(node, (), set()):
                    line = offset + scalar.start_mark.line + 1
                    for edit in wanted.get((line, scalar.value), ()):
                        if _path_matches(path, edit.path):
                            end = starts[offset + scalar.end_mark.line] + scalar.end_mark.column
                            position = _insertion_point(text, end, scalar, edit, file)
                            if position not in found.setdefault(edit, []):
                                found[edit].append(position)
        except yaml.YAMLError:
            continue  # a broken document holds no image the check found
        finally:
            loader.dispose()
    return found


def _scalars(
    node: yaml.Node, path: PathKey, stack: set[int]
) -> Iterator[tuple[PathKey, yaml.ScalarNode]]:
    """Every scalar value under `node` with its path (keys and list indexes, as in gate.load)."""
    if isinstance(node, yaml.ScalarNode):
        yield path, node
        return
    if id(node) in stack:  # a recursive alias
        return
    stack.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                yield from _scalars(value_node, (*path, key_node.value), stack)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _scalars(item, (*path, index), stack)
    stack.discard(id(node))


def _insertion_point(text: str, end: int, scalar: yaml.ScalarNode, edit: PinEdit, file: str) -> int:
    """Just after the value's last character: before a closing quote, after a plain scalar."""
    style = scalar.style or ""
    where = f"{file}:{edit.line}"
    if style in ("'", '"'):
        if text[end - 1 : end] != style:
            raise PinError(f"{where}: the quoted value {edit.old!r} does not end where expected")
        return end - 1
    if style:
        raise PinError(f"{where}: {edit.old!r} is a block scalar ({style}); write it on one line")
    if text[end - len(edit.old) : end] != edit.old:
        raise PinError(f"{where}: the value {edit.old!r} is not written where the parser says")
    return end


def _line_starts(text: str) -> list[int]:
    """Index of the first character of each line, lines split as `str.splitlines` splits them."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _json_positions(text: str, edits: Sequence[PinEdit]) -> dict[PinEdit, list[int]]:
    """Closing-quote index of each JSON string that is an edit's value.

    JSON is matched by path and value only: `gate.load` gets JSON lines from the YAML parser,
    which gives up on tab-indented JSON, so lines may be coarse there.
    """
    found: dict[PinEdit, list[int]] = {}
    for path, value, close in _json_strings(text):
        for edit in edits:
            if value == edit.old and _path_matches(path, edit.path):
                found.setdefault(edit, []).append(close)
    return found


def _json_strings(text: str) -> list[tuple[PathKey, str, int]]:
    """Every string value of a JSON document: (path, value, index of its closing quote)."""
    strings: list[tuple[PathKey, str, int]] = []

    def skip(i: int) -> int:
        while i < len(text) and text[i] in _JSON_WHITESPACE:
            i += 1
        return i

    def string_at(i: int) -> tuple[str, int]:
        match = _JSON_STRING.match(text, i)
        if match is None:
            raise PinError(f"unexpected JSON at character {i}")
        value: str = json.loads(match.group(0))
        return value, match.end()

    def value_at(i: int, path: PathKey) -> int:
        i = skip(i)
        char = text[i : i + 1]
        if char == '"':
            value, end = string_at(i)
            strings.append((path, value, end - 1))
            return end
        if char in "{[":
            closing = "}" if char == "{" else "]"
            i = skip(i + 1)
            index = 0
            while text[i : i + 1] != closing:
                if char == "{":
                    key, i = string_at(i)
                    i = skip(i)
                    if text[i : i + 1] != ":":
                        raise PinError(f"unexpected JSON at character {i}")
                    i = value_at(i + 1, (*path, key))
                else:
                    i = value_at(i, (*path, index))
                    index += 1
                i = skip(i)
                if text[i : i + 1] == ",":
                    i = skip(i + 1)
                elif text[i : i + 1] != closing:
                    raise PinError(f"unexpected JSON at character {i}")
            return i + 1
        match = _JSON_LITERAL.match(text, i)
        if match is None:
            raise PinError(f"unexpected JSON at character {i}")
        return match.end()

    value_at(0, ())
    return strings


def _verify(old: str, new: str, edits: Sequence[PinEdit], file: str, is_json: bool) -> None:
    """Load both texts as the check does; they must differ in the pinned values only."""
    before, after = load_text(old, file), load_text(new, file)
    if (
        len(before.objects) != len(after.objects)
        or before.invalid != after.invalid
        or before.documents != after.documents
        or before.skipped_documents != after.skipped_documents
    ):
        raise PinError(f"{file}: pinning would change how the file parses; nothing pinned")
    applied: set[PinEdit] = set()
    for was, now in zip(before.objects, after.objects, strict=True):
        expected = copy.deepcopy(was.data)
        for edit in edits:
            if _applies(was, edit, is_json):
                _set(expected, edit.path, edit.new)
                applied.add(edit)
        if now.data != expected:
            where = _first_difference(expected, now.data, ())
            raise PinError(
                f"{file}:{was.line}: pinning would also change {_show_path(where)} of "
                f"{was.kind} {was.name} (a YAML anchor shared with another value?); nothing pinned"
            )
        if (now.lines, now.source, now.list_path, now.doc_index) != (
            was.lines,
            was.source,
            was.list_path,
            was.doc_index,
        ):
            raise PinError(f"{file}:{was.line}: pinning would move lines; nothing pinned")
    for edit in edits:
        if edit not in applied:
            raise PinError(f"{file}:{edit.line}: the image {edit.old!r} was not found to pin")


def _applies(obj: KubeObject, edit: PinEdit, is_json: bool) -> bool:
    if get_path(obj.data, edit.path) != edit.old:
        return False
    return is_json or obj.line_of(edit.path) == edit.line


def _set(data: Any, path: PathKey, value: str) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _first_difference(a: Any, b: Any, path: PathKey) -> PathKey:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), (*path, key))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, (*path, index))
    return path


def _show_path(path: PathKey) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else f".{key}"
    return text.lstrip(".") or "the object"


# -- files -----------------------------------------------------------------------------------


def read_manifest(path: str) -> str:
    """A file's exact text: no newline translation (CRLF stays CRLF), a BOM kept."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PinError(f"{path}: not UTF-8 text: {exc.reason}") from exc


def unified_diff(path: str, old: str, new: str) -> str:
    """What a pin would change in one file, as `git diff` shows it (`a/PATH`, `b/PATH`)."""
    name = path.replace(os.sep, "/")
    while name.startswith("./"):
        name = name[2:]
    name = name.lstrip("/")
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def write_files(texts: Mapping[str, str]) -> None:
    """Replace every file with its new text, atomically per file, all staged before any lands.

    Each text goes to a temporary file in the target's own directory (so `os.replace` is a
    rename on one file system), with the target's mode; only when every one is written and
    synced are they renamed into place. A failure while staging leaves every file untouched.
    """
    staged: list[tuple[str, str]] = []
    try:
        for path, text in texts.items():
            target = os.path.realpath(path)  # edit through a symlink, do not replace it
            staged.append((_stage(target, text.encode("utf-8")), target))
        while staged:
            temp, target = staged[0]
            os.replace(temp, target)
            staged.pop(0)
    finally:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _stage(target: str, data: bytes) -> str:
    directory, name = os.path.split(target)
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    fd, temp = tempfile.mkstemp(dir=directory or ".", prefix=f".{name}.", suffix=".pullgate")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode) if info is not None else _new_file_mode())
        if info is not None and hasattr(os, "chown"):
            with contextlib.suppress(OSError):  # only root may give a file away; best effort
                os.chown(temp, info.st_uid, info.st_gid)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def _new_file_mode() -> int:
    """0666 less the umask, as `open()` would create a file (mkstemp makes 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# -- lock ------------------------------------------------------------------------------------


def dump_lock(lock: Lock) -> str:
    """The lock file's text: sorted keys, two-space indent, a final newline (diffs stay small)."""
    images = {
        reference: {
            "canonical": entry.canonical,
            "digest": entry.digest,
            "media_type": entry.media_type,
            "platforms": list(entry.platforms),
        }
        for reference, entry in lock.images.items()
    }
    document = {"version": LOCK_VERSION, "images": images}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_lock(path: str, lock: Lock) -> None:
    """Write the lock file atomically (same staging as `write_files`)."""
    write_files({path: dump_lock(lock)})


def read_lock(path: str) -> Lock:
    """Load and validate a lock file; `LockError` says which file and what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockError(f"{path}: no such lock file") from None
    except UnicodeDecodeError as exc:
        raise LockError(f"{path}: not UTF-8 text: {exc.reason}") from None
    except OSError as exc:
        raise LockError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None
    if not isinstance(document, dict):
        raise LockError(f"{path}: a lock file is a JSON object")
    version = document.get("version")
    if version != LOCK_VERSION or isinstance(version, bool):
        raise LockError(
            f"{path}: unsupported version {version!r} (this pullgate reads version {LOCK_VERSION})"
        )
    images = document.get("images")
    if not isinstance(images, dict):
        raise LockError(f"{path}: `images` must be an object of reference to entry")
    entries: dict[str, LockEntry] = {}
    for reference, raw in images.items():
        entries[reference] = _lock_entry(path, reference, raw)
    return Lock(entries)


def _lock_entry(path: str, reference: str, raw: Any) -> LockEntry:
    where = f"{path}: images[{reference!r}]"
    if not isinstance(raw, dict):
        raise LockError(f"{where}: must be an object")
    for key in ("canonical", "digest", "media_type"):
        if not isinstance(raw.get(key), str):
            raise LockError(f"{where}: `{key}` must be a string")
    platforms = raw.get("platforms", [])
    if not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms):
        raise LockError(f"{where}: `platforms` must be a list of strings")
    try:
        written = parse_reference(reference)
    except InvalidReference as exc:
        raise LockError(f"{where}: not an image reference: {exc.reason}") from None
    if written.canonical != raw["canonical"]:
        raise LockError(
            f"{where}: `canonical` {raw['canonical']!r} is not {written.canonical!r}, "
            "the reference the key names"
        )
    problem = validate_digest(raw["digest"])
    if problem is not None:
        raise LockError(f"{where}: `digest` {raw['digest']!r}: {problem[0]} ({problem[1]})")
    if written.digest is not None and written.digest != raw["digest"]:
        raise LockError(f"{where}: `digest` differs from the digest in the reference")
    return LockEntry(raw["canonical"], raw["digest"], raw["media_type"], tuple(platforms))


def lock_mismatches(uses: Iterable[ImageUse], lock: Lock) -> list[tuple[ImageUse, str]]:
    """Images whose digest differs from the lock's: (use, locked digest), in use order.

    The digest compared is what the registry answered or, without an answer, the digest
    written in the reference (what the kubelet pulls either way); an image with neither is
    not compared (its own finding already says why). An image the lock does not list is not
    here: see `lock_unlisted`.
    """
    index = _LockIndex(lock)
    mismatches: list[tuple[ImageUse, str]] = []
    for use in uses:
        if use.container.pull_policy == "Never":
            continue  # the node runs what it holds: `pin --lock` leaves it out too
        entry = index.find(use)
        actual = running_digest(use)
        if entry is not None and actual is not None and actual != entry.digest:
            mismatches.append((use, entry.digest))
    return mismatches


def lock_unlisted(uses: Iterable[ImageUse], lock: Lock) -> list[ImageUse]:
    """Valid images the lock knows nothing about (added since it was written); images with
    pull policy `Never` are never locked (`plan_pins`), so never missing from a lock."""
    index = _LockIndex(lock)
    return [
        use
        for use in uses
        if use.reference is not None
        and use.container.pull_policy != "Never"
        and index.find(use) is None
    ]


def running_digest(use: ImageUse) -> str | None:
    """The digest the kubelet would run: the registry's answer, else the one written."""
    resolution = use.resolution
    if resolution is not None and resolution.ok and resolution.digest is not None:
        return resolution.digest
    return use.reference.digest if use.reference is not None else None


def _tracking_key(reference: Reference) -> str:
    """What a reference follows: `name:tag` (tag-less is `latest`), or `name@digest` alone.

    Pinning keeps this key (`nginx:1.27` → `nginx:1.27@sha256:…`, `nginx` →
    `nginx:latest@sha256:…`), so a lock written by `pin` matches the pinned manifests too.
    """
    if reference.tag is None and reference.digest is not None:
        return reference.canonical
    return f"{reference.name}:{reference.tag or DEFAULT_TAG}"


class _LockIndex:
    """Find a use's lock entry: by the reference as written, else by what it tracks."""

    def __init__(self, lock: Lock) -> None:
        self.exact = lock.images
        self.tracking: dict[str, LockEntry] = {}
        # Entries without a digest first: they are what `pin` resolved, so they win a tie.
        for written, entry in sorted(
            lock.images.items(), key=lambda item: ("@" in item[0], item[0])
        ):
            try:
                key = _tracking_key(parse_reference(written))
            except InvalidReference:
                continue
            self.tracking.setdefault(key, entry)

    def find(self, use: ImageUse) -> LockEntry | None:
        image, reference = use.container.image, use.reference
        if image is None or reference is None:
            return None
        entry = self.exact.get(image)
        if entry is not None:
            return entry
        return self.tracking.get(_tracking_key(reference))
