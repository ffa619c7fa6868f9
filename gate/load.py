"""Load stage: rendered manifests in, located Kubernetes objects out.

Every object keeps the file it came from, the 1-based line of each of its nodes and, for Helm
output, the template named by the `# Source:` comment above it, so that every later finding can
point at the exact line a user has to change.
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import yaml

from gate.errors import GateError

try:  # the C loader is an order of magnitude faster on large release manifests
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp", "binary")
)
"""The scalar tags SafeConstructor builds from a scalar node (any other it refuses there)."""
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Loader(_SafeLoader):
    """PyYAML's safe loader, with a faster answer to the parser's question of each scalar's
    tag (asked for every scalar of every document).

    PyYAML tries the patterns of the implicit resolvers keyed on the scalar's first character
    each time, though the answer depends on the value alone (this loader adds no resolver, by
    value or by path): a plain scalar whose first character starts no pattern is a string at
    once, and the others' answers are kept (manifests repeat `name`, `true`, `80` in every
    document).
    """

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not yaml.ScalarNode:
            return _SEQ if kind is yaml.SequenceNode else _MAP
        if not implicit[0] or (value and value[0] not in _PATTERN_STARTS):
            return _STR
        tag = _PLAIN_TAGS.get(value)
        if tag is None:
            tag = str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]
            if len(_PLAIN_TAGS) < _PLAIN_TAGS_KEPT:
                _PLAIN_TAGS[value] = tag
        return tag


_PATTERN_STARTS = frozenset(key for key in _Loader.yaml_implicit_resolvers if key)
"""First characters of which an implicit resolver tries its pattern (`y`, `0`, `~`, ...)."""
_PLAIN_TAGS: dict[str, str] = {}
"""The tag of each plain scalar starting with one of `_PATTERN_STARTS` seen so far."""
_PLAIN_TAGS_KEPT = 8192

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_BLOCK = 1 << 16
"""Characters read at a time from a manifest file (a few copies of a block are what reading
costs in memory; the block is large enough that a step per block costs nothing)."""

log = logging.getLogger("gate")
STDIN = "-"

PathKey = tuple[str | int, ...]

_DOC_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$", re.MULTILINE)  # one line, or each in a text
_SOURCE_COMMENT = re.compile(r"^#\s*Source:\s*(\S.*?)\s*$")


def nearest_line(lines: dict[PathKey, int], path: PathKey) -> int:
    """Line of the node at `path`, or of its nearest ancestor that has one (else 1)."""
    while path:
        line = lines.get(path)
        if line is not None:
            return line
        path = path[:-1]
    return lines.get((), 1)


def get_path(data: Any, path: PathKey) -> Any:
    """The value at `path` (keys and list indexes) inside `data`, or None where there is none."""
    for key in path:
        if isinstance(key, int):
            if not isinstance(data, list) or not 0 <= key < len(data):
                return None
            data = data[key]
        elif isinstance(data, dict):
            data = data.get(key)
        else:
            return None
    return data


class LoadError(GateError):
    """A path given by the user cannot be read at all (a usage error, not a finding)."""


class NothingToCheck(LoadError):
    """The paths hold no Kubernetes object: a render step that wrote nothing must not pass."""


@dataclass(frozen=True)
class KubeObject:
    """One Kubernetes object, with where each of its nodes was written.

    `lines` maps a path inside the object (keys and list indexes) to the 1-based line of that
    node's value; `line_of` falls back to the closest written ancestor.
    """

    data: dict[str, Any]
    file: str
    doc_index: int
    lines: dict[PathKey, int]
    source: str | None = None
    list_path: PathKey = ()

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.data.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        meta = self.metadata
        name = meta.get("name")
        if name:
            return str(name)
        generate = meta.get("generateName")
        return f"{generate}*" if generate else ""

    @property
    def namespace(self) -> str | None:
        ns = self.metadata.get("namespace")
        return str(ns) if ns else None

    @property
    def line(self) -> int:
        return self.line_of(())

    def line_of(self, path: PathKey) -> int:
        """Line of the node at `path`, or of its nearest ancestor that has one."""
        return nearest_line(self.lines, self.list_path + tuple(path))


@dataclass(frozen=True)
class InvalidDocument:
    """A document that cannot be parsed: `kubectl apply` would refuse it too."""

    file: str
    line: int
    message: str


@dataclass
class LoadResult:
    objects: list[KubeObject] = field(default_factory=list)
    """Every object, in document order (empty when a `sink` took them)."""
    invalid: list[InvalidDocument] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    documents: int = 0
    """Non-empty documents parsed (before `kind: List` expansion)."""
    skipped_documents: int = 0
    """Non-empty documents (or List items) that are not Kubernetes objects (no apiVersion/kind)."""
    object_count: int = 0
    """Objects loaded, whether kept in `objects` or handed to `sink`."""
    sink: Callable[[KubeObject], None] | None = field(default=None, repr=False)
    """Takes each object as it is parsed instead of `objects`: with it, memory holds one
    document at a time, whatever the size of the input."""

    def add(self, obj: KubeObject) -> None:
        self.object_count += 1
        if self.sink is not None:
            self.sink(obj)
        else:
            self.objects.append(obj)


def discover(paths: Iterable[str]) -> list[str]:
    """Expand the command line's paths into manifest files, in a stable order.

    Directories are searched recursively for `*.yaml`, `*.yml` and `*.json` (hidden files and
    directories such as `.git` are skipped), following symbolic links to directories once
    each (a link back to an ancestor is a loop, not walked again); files named explicitly are
    taken whatever their suffix. Anything that cannot be read, a directory that cannot be
    listed or a manifest whose link leads nowhere, is a `LoadError` (exit 2): a gate that
    skipped it would pass what it never read.
    """
    found: list[str] = []
    for raw in paths:
        if raw == STDIN:
            found.append(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            found.extend(_walk(raw))
        elif path.exists():  # a file, or a pipe such as <(helm template ...)
            found.append(raw)
        elif path.is_symlink():
            raise LoadError(f"{raw}: a symbolic link to nothing ({os.readlink(raw)})")
        else:
            raise LoadError(f"{raw}: no such file or directory")
    return found


def _walk(root: str) -> list[str]:
    """Manifest files under the directory `root`, sorted as paths."""
    found: list[Path] = []
    visited: set[str] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        real = os.path.realpath(directory)
        if real in visited:
            log.warning("%s: already searched (a symbolic link loop or a second link)", directory)
            continue
        visited.add(real)
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            message = f"{directory}: cannot list this directory: {exc.strerror or exc}"
            raise LoadError(message) from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
                is_file = not is_dir and entry.is_file()
            except OSError as exc:
                raise LoadError(f"{entry.path}: cannot be read: {exc.strerror or exc}") from None
            if is_dir:
                stack.append(entry.path)
            elif Path(entry.name).suffix in MANIFEST_SUFFIXES:
                if is_file:
                    found.append(Path(entry.path))
                elif entry.is_symlink():
                    target = os.readlink(entry.path)
                    raise LoadError(f"{entry.path}: a symbolic link to nothing ({target})")
    return [str(p) for p in sorted(found)]


def load_paths(
    paths: Iterable[str], stdin: Any = None, sink: Callable[[KubeObject], None] | None = None
) -> LoadResult:
    """Load every manifest under `paths` (see `discover`); with `sink`, each object goes to it
    as it is parsed, and none is kept."""
    result = LoadResult(sink=sink)
    for name in discover(paths):
        if name != STDIN:
            _load_file(name, result)
        elif stdin is not None:
            result.files.append(name)
            load_text(stdin.read(), name, result)
        else:  # bytes, decoded as files are: a bad byte is a finding, not a traceback
            _load_bytes(sys.stdin.buffer.read(), name, result)
    return result


def _load_file(name: str, result: LoadResult) -> None:
    """One file. A regular file is read a block at a time and a YAML stream parsed document by
    document as it is read, so memory holds a block and one document, never the whole text (a
    JSON file is one value, read whole); a pipe such as <(helm template ...) is read whole.

    The bytes are checked as UTF-8 first, so that a bad byte anywhere makes the file one
    invalid document (kubectl cannot read it either) before any object of it is taken.
    """
    try:
        with open(name, "rb") as raw:
            if not stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
                _load_bytes(raw.read(), name, result)
                return
            result.files.append(name)
            problem = _utf8_problem(raw)
            if problem is not None:
                result.invalid.append(InvalidDocument(name, 1, f"not UTF-8 text: {problem}"))
                return
            raw.seek(0)
            # text mode ends lines as load_text does: "\r\n" and a lone "\r" become "\n"
            with io.TextIOWrapper(raw, encoding="utf-8-sig") as handle:
                _load_stream(handle, name, result)
    except UnicodeDecodeError as exc:  # the file changed since its bytes were checked
        result.invalid.append(InvalidDocument(name, 1, f"not UTF-8 text: {exc.reason}"))
    except OSError as exc:
        raise LoadError(f"{name}: {exc.strerror or exc}") from exc


def _load_bytes(data: bytes, name: str, result: LoadResult) -> None:
    result.files.append(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.invalid.append(InvalidDocument(name, 1, f"not UTF-8 text: {exc.reason}"))
        return
    load_text(text, name, result)


def _load_stream(handle: TextIO, name: str, result: LoadResult) -> None:
    blocks = iter(partial(handle.read, _BLOCK), "")
    head = ""
    for block in blocks:  # up to the first character that is not blank
        head += block
        if head.strip():
            break
    if head.lstrip().startswith(("{", "[")):
        _load_json(head + handle.read(), name, result)
        return
    for chunk_start, chunk in _stream_documents(chain((head,), blocks)):
        _load_chunk(chunk, chunk_start, name, result)


def _utf8_problem(raw: BinaryIO) -> str | None:
    """Why the bytes of `raw` are not UTF-8 text, or None; read a block at a time."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        for block in iter(partial(raw.read, _BLOCK), b""):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return exc.reason
    return None


def load_text(text: str, file: str, result: LoadResult | None = None) -> LoadResult:
    """Parse one file's text (multi-document YAML, or JSON) into `result`."""
    result = result if result is not None else LoadResult()
    # only line feeds end lines, as in an editor or a CI annotation (str.splitlines() also
    # splits on form feeds, vertical tabs, U+2028...); JSON too (no string holds a raw CR)
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    if normalized.lstrip().startswith(("{", "[")):
        _load_json(normalized, file, result)
        return result
    for chunk_start, chunk in _stream_documents((normalized,)):
        _load_chunk(chunk, chunk_start, file, result)
    return result


def _stream_documents(blocks: Iterable[str]) -> Iterator[tuple[int, str]]:
    """`split_documents` over a text given in `blocks` (all of it, or as it is read), without
    a list of its lines: (0-based line offset, text ending in a line feed) of one document at a
    time, found by one multi-line search per block of whole lines, so a stream of any size is
    split in the memory of a block and its largest document, without a Python step per line."""
    pieces: list[str] = []  # the current document so far
    start = 0
    for text in _whole_lines(blocks):
        position = 0
        for separator in _DOC_SEPARATOR.finditer(text):
            at = separator.start()
            if at > position:
                pieces.append(text[position:at])
            if pieces:  # a `---` on the first line opens the first document
                document = "".join(pieces)
                yield start, document
                start += document.count("\n")
                pieces = []
            position = at
        if position < len(text):
            pieces.append(text[position:])
    last = "".join(pieces)
    yield start, last if last.endswith("\n") else last + "\n"


def _whole_lines(blocks: Iterable[str]) -> Iterator[str]:
    """`blocks` joined again and cut after a line feed: each text holds whole lines (the last
    one may lack its line feed), so no separator line is ever split between two."""
    partial_line: list[str] = []
    for block in blocks:
        cut = block.rfind("\n") + 1
        if cut == 0:
            partial_line.append(block)
            continue
        partial_line.append(block[:cut])
        yield "".join(partial_line)
        partial_line = [block[cut:]] if cut < len(block) else []
    if partial_line:
        yield "".join(partial_line)


def _load_json(text: str, file: str, result: LoadResult) -> None:
    """JSON is parsed with JSON's own rules; YAML (a superset) is only asked for the lines.

    Like `kubectl`, a JSON file is a stream: several values may follow one another.
    """
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(text) and text[index] in " \t\n\r":
            index += 1
        if index >= len(text):
            return
        line = text.count("\n", 0, index)
        try:
            data, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            result.invalid.append(InvalidDocument(file, exc.lineno, f"invalid JSON: {exc.msg}"))
            return
        except RecursionError:
            message = "invalid JSON: nested too deeply"
            result.invalid.append(InvalidDocument(file, line + 1, message))
            return
        except ValueError as exc:  # e.g. an integer over Python's 4300-digit limit
            result.invalid.append(InvalidDocument(file, line + 1, f"invalid JSON: {exc}"))
            return
        lines: dict[PathKey, int] = {(): line + 1}
        try:
            node = yaml.compose(text[index:end], Loader=_Loader)
        except (yaml.YAMLError, RecursionError):  # e.g. tab indentation: lines stay coarse
            node = None
        if node is not None:  # JSON has no aliases: the budget cannot run out
            try:
                _record_lines(node, (), line, lines, _node_budget(end - index))
            except yaml.MarkedYAMLError as exc:  # a duplicate key
                mark_line = line + (exc.problem_mark.line + 1 if exc.problem_mark else 1)
                result.invalid.append(
                    InvalidDocument(file, mark_line, f"invalid JSON: {exc.problem}")
                )
                index = end
                continue
        _add_document(data, lines, None, file, result)
        index = end


def parse_yaml(text: str) -> tuple[Any, dict[PathKey, int]]:
    """One YAML document (a config file) with the line of each node; raises yaml.YAMLError."""
    lines: dict[PathKey, int] = {}
    node = yaml.compose(text, Loader=_Loader)
    if node is None:
        return None, lines
    _record_lines(node, (), 0, lines, _node_budget(len(text)))
    return yaml.load(text, Loader=_Loader), lines


def split_documents(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Split a YAML stream on `---` lines, so that one broken document hides no other one.

    Yields (0-based line offset, text). A `---` at column 0 always starts a document in YAML,
    even inside a block scalar, so splitting there is exact.
    """
    start = 0
    for index, line in enumerate(lines):
        if index > start and _DOC_SEPARATOR.match(line):
            yield start, "\n".join(lines[start:index]) + "\n"
            start = index
    yield start, "\n".join(lines[start:]) + "\n"


def _load_chunk(chunk: str, offset: int, file: str, result: LoadResult) -> None:
    loader = _Loader(chunk)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            lines: dict[PathKey, int] = {}
            data = _construct(loader, node, offset, lines, len(chunk))
            if data is None:
                continue
            source = _helm_source(chunk, node.start_mark.line)
            _add_document(data, lines, source, file, result)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        end = chunk.count("\n")
        if mark is not None and mark.line >= end:
            # An error at the end of the stream (an unclosed bracket or quote) points past the
            # last line; where the unclosed construct began is the line to show, or else the
            # document's last line with content (never the next document's `---`).
            context = exc.context_mark
            mark = context if context is not None and context.line < end else None
        line = offset + (mark.line + 1 if mark is not None else _last_content_line(chunk))
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        result.invalid.append(InvalidDocument(file, line, f"invalid YAML: {problem}"))
    except yaml.YAMLError as exc:
        result.invalid.append(InvalidDocument(file, offset + 1, f"invalid YAML: {exc}"))
    except RecursionError:
        result.invalid.append(InvalidDocument(file, offset + 1, "invalid YAML: nested too deeply"))
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit limit
        result.invalid.append(InvalidDocument(file, offset + 1, f"invalid YAML: {exc}"))
    finally:
        loader.dispose()


def _last_content_line(chunk: str) -> int:
    """1-based line of the last line of `chunk` that is neither blank nor a comment."""
    lines = chunk.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        text = lines[index].strip()
        if text and not text.startswith("#"):
            return index + 1
    return 1


def _add_document(
    data: Any, lines: dict[PathKey, int], source: str | None, file: str, result: LoadResult
) -> None:
    doc_index = result.documents
    result.documents += 1
    if not _is_kube_object(data):
        result.skipped_documents += 1
        return
    if str(data.get("kind")).endswith("List") and isinstance(data.get("items"), list):
        for index, item in enumerate(data["items"]):
            if _is_kube_object(item):
                result.add(KubeObject(item, file, doc_index, lines, source, ("items", index)))
            elif item is not None:
                result.skipped_documents += 1
        return
    result.add(KubeObject(data, file, doc_index, lines, source))


def _is_kube_object(data: Any) -> bool:
    return isinstance(data, dict) and bool(data.get("apiVersion")) and bool(data.get("kind"))


def _node_budget(size: int) -> int:
    """How many nodes a document of `size` characters may expand to through aliases."""
    return 10 * size + 10_000


_INTERNED = 80
"""Strings up to this length are shared between documents (keys, names, images, labels)."""


class _NotPlain(Exception):
    """A document `_construct_plain` leaves to PyYAML's own constructor."""


def _construct(
    loader: Any, node: yaml.Node, offset: int, lines: dict[PathKey, int], size: int
) -> Any:
    """The document's data, and its nodes' lines into `lines`.

    Manifests are plain trees of string-keyed mappings, sequences and scalars: those are
    built in one pass that records each node's line as it goes. Anything else (an alias of
    a collection, a merge key, a key that is not a string, a duplicate key, an explicit or
    unknown tag, nesting too deep for one pass) is constructed by PyYAML's `SafeConstructor`
    and walked by `_record_lines`, exactly as every document was before, errors included.
    """
    try:
        return _construct_plain(loader, node, offset, lines)
    except Exception:  # the exact path below decides, and raises what it must
        _reset(loader)
        lines.clear()
    data = loader.construct_document(node)
    if data is not None:
        _record_lines(node, (), offset, lines, _node_budget(size))
    return data


def _construct_plain(loader: Any, root: yaml.Node, offset: int, lines: dict[PathKey, int]) -> Any:
    """`SafeConstructor.construct_document` for a plain tree, with `_record_lines` in the same
    pass; raises `_NotPlain` (or whatever fails) for anything else."""
    seen: set[int] = set()
    intern = sys.intern
    scalar = yaml.ScalarNode
    mapping = yaml.MappingNode
    construct_object = loader.construct_object

    def build(node: yaml.Node, path: PathKey) -> Any:
        lines[path] = offset + node.start_mark.line + 1
        kind = node.__class__
        if kind is scalar:
            if node.tag == _STR:
                value: str = node.value
                # the same names, images and labels recur in every document: one string each
                return intern(value) if len(value) <= _INTERNED else value
            if node.tag not in _SCALAR_TAGS:
                raise _NotPlain  # `!!map x` and the like: SafeConstructor refuses them
            return construct_object(node)
        if id(node) in seen:  # an alias: shared data and expansion are the exact path's
            raise _NotPlain
        seen.add(id(node))
        if kind is mapping:
            if node.tag != _MAP:
                raise _NotPlain
            built: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not scalar or key_node.tag != _STR:
                    raise _NotPlain  # a merge key, a number, an explicit tag
                key = key_node.value
                key = intern(key) if len(key) <= _INTERNED else key
                if key in built:
                    raise _NotPlain  # a duplicate key: the exact path refuses it
                built[key] = build(value_node, (*path, key))
            return built
        if node.tag != _SEQ:
            raise _NotPlain
        return [build(item, (*path, index)) for index, item in enumerate(node.value)]

    try:
        return build(root, ())
    finally:
        _reset(loader)
        # `build` refers to itself: without this the function, the document's nodes and
        # `lines` would form a cycle that only the garbage collector frees, late and at a cost
        build = None  # type: ignore[assignment]


def _reset(loader: Any) -> None:
    """Forget what constructing one document left in the loader, so none of it reaches the
    next one (as `construct_document` does at its end)."""
    loader.constructed_objects = {}
    loader.recursive_objects = {}
    loader.state_generators = []


def _record_lines(
    root: yaml.Node, path: PathKey, offset: int, lines: dict[PathKey, int], budget: int
) -> None:
    """Walk the composed node tree beside the constructed data, keeping each value's line.

    Iterative (no recursion limit on deep documents) and bounded: aliases make the tree a
    graph, which may contain itself or expand exponentially (`excessive aliasing`, which
    kubectl refuses too).
    """
    stack: list[tuple[yaml.Node, PathKey]] = [(root, path)]
    while stack:
        node, path = stack.pop()
        budget -= 1
        if budget < 0:
            raise yaml.MarkedYAMLError(
                problem="excessive aliasing (or an alias that contains itself)",
                problem_mark=node.start_mark,
            )
        lines[path] = offset + node.start_mark.line + 1
        children: list[tuple[yaml.Node, PathKey]]
        if isinstance(node, yaml.MappingNode):
            children = [
                (value_node, (*path, key_node.value))
                for key_node, value_node in node.value
                if isinstance(key_node, yaml.ScalarNode)
            ]
            _refuse_duplicate_keys(node, path)
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, (*path, index)) for index, item in enumerate(node.value)]
        else:
            continue
        stack.extend(reversed(children))  # document order, so a duplicate key's last wins


def _refuse_duplicate_keys(node: yaml.MappingNode, path: PathKey) -> None:
    """A key written twice in one mapping: YAML and JSON parsers keep the last value without
    a word, so the first (an `image:` perhaps) would never be checked; the API server's
    strict field validation, kubectl's default since 1.27, refuses the object (`duplicate
    field`). `<<` merge keys may repeat."""
    seen: dict[str, yaml.Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
            continue
        first = seen.setdefault(key_node.value, key_node)
        if first is not key_node:
            where = _dotted(path) or "the document"
            raise yaml.MarkedYAMLError(
                problem=f"duplicate key {key_node.value!r} in {where} (first at line "
                f"{first.start_mark.line + 1}; the API server refuses a duplicate field)",
                problem_mark=key_node.start_mark,
            )


def _dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _helm_source(chunk: str, start_line: int) -> str | None:
    """The `# Source:` comment Helm writes between the `---` and the object, if any."""
    lines: list[str] = []  # only the lines above the object, never a copy of the rest
    position = 0
    while len(lines) < start_line:
        end = chunk.find("\n", position)
        if end < 0:
            lines.append(chunk[position:])
            break
        lines.append(chunk[position:end])
        position = end + 1
    index = min(start_line, len(lines)) - 1
    while index >= 0:
        line = lines[index].strip()
        match = _SOURCE_COMMENT.match(line)
        if match:
            return match.group(1)
        if line and not line.startswith("#"):
            return None  # another node or the `---` separator: no comment for this object
        index -= 1
    return None
