"""Apply a plan's edits to a manifest's text, byte-exact, and prove nothing else changed.

Quotes, comments, flow style, CRLF line ends and a missing final newline all stay as they
were. Each edited text is loaded again with `gate.load` and compared with the original object
by object; any difference besides the pinned values refuses the whole pin.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml

from gate.load import STDIN, KubeObject, PathKey, get_path, load_text
from gate.load import split_documents as _split_yaml_documents
from gate.pin.json_edit import json_positions
from gate.pin.plan import PinEdit, PinError, PinPlan

try:  # the same loader as gate.load, so that marks and lines agree with the check's
    from yaml import CSafeLoader as _YamlLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _YamlLoader  # type: ignore[assignment]


_BOM = "\ufeff"


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
    found = json_positions(body, unique) if is_json else _yaml_positions(body, unique, file)
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
                        if edit.matches(path):
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
