"""Images seen but not checked: the blind spots a user must know about before trusting a pass.

Every object (but Secrets, ConfigMaps and CRDs, whose strings are data and schemas) is walked
for fields named `image`, or ending in `Image` (`sidecarImage`), that hold a string parsing as
an image reference, and for the strings of `images` lists; any that no reading of the object
takes (its kind's, the generic search, a config `images:` entry) is listed. Known kinds add
the images their controller builds from settings (`KnownKind.unchecked`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from gate.extract.fields import dotted
from gate.extract.kinds import known_kind
from gate.extract.layout import Layout, object_ref
from gate.extract.pods import NEVER_SEARCHED, is_builtin, layouts
from gate.load import KubeObject, PathKey
from gate.reference import InvalidReference, parse_reference
from gate.workload import DEFAULT_NAMESPACE, ImagePaths, UncheckedImage

_UNKNOWN_KIND = (
    "pullgate does not know this kind, so nothing checks this image; add an `images:` entry "
    "for it to .pullgate.yaml (`pullgate explain kinds` lists the kinds it knows)"
)
_NOT_READ = (
    "pullgate's reading of {kind} does not take this field (its controller may ignore or "
    "replace it); if it is pulled, add an `images:` entry for it to .pullgate.yaml"
)


def unchecked_images(
    objects: Iterable[KubeObject],
    default_namespace: str = DEFAULT_NAMESPACE,
    image_paths: Sequence[ImagePaths] = (),
) -> list[UncheckedImage]:
    """Every image-like field no reading takes, in document order."""
    return [
        item
        for obj in objects
        for item in unchecked_in(obj, layouts(obj, image_paths), default_namespace)
    ]


def unchecked_in(
    obj: KubeObject, read_by: Sequence[Layout], default_namespace: str = DEFAULT_NAMESPACE
) -> list[UncheckedImage]:
    """The image-like fields of `obj` that none of `read_by` (its layouts) takes."""
    if obj.kind in NEVER_SEARCHED:
        return []
    read = {path for layout in read_by for path in layout.read_paths()}
    kind = known_kind(obj)
    listed: dict[PathKey, tuple[str | None, str]] = {}
    if kind is not None:
        for path, reason in kind.unchecked(obj.data):
            listed.setdefault(path, (None, reason))
    unknown = kind is None and not is_builtin(obj)
    why = _UNKNOWN_KIND if unknown else _NOT_READ.format(kind=obj.kind)
    for path, value in _image_strings(obj.data):
        if path not in read:
            listed.setdefault(path, (value, why))
    if not listed:
        return []
    ref = object_ref(obj, default_namespace)
    return [
        UncheckedImage(ref, dotted(path), obj.line_of(path), value, reason)
        for path, (value, reason) in sorted(listed.items(), key=lambda item: obj.line_of(item[0]))
    ]


def _image_strings(data: dict[str, Any]) -> Iterator[tuple[PathKey, str]]:
    """(path, value) of each `image: <reference>` (or `…Image:`) outside `metadata` and
    `status`, in document order."""
    # only mappings and lists are walked into: a path is built for each of them, not for
    # every scalar of the object
    stack: list[tuple[Any, PathKey]] = [
        (value, (key,))
        for key, value in reversed(list(data.items()))
        if key not in ("metadata", "status") and isinstance(value, (dict, list))
    ]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            children: list[tuple[Any, PathKey]] = []
            for key, child in value.items():
                if isinstance(child, str):
                    if _is_image_key(key) and _looks_like_image(child):
                        yield (*path, key), child
                elif key == "images" and isinstance(child, list):  # ImageListPullJob's
                    for index, item in enumerate(child):
                        if isinstance(item, str) and _looks_like_image(item):
                            yield (*path, key, index), item
                elif isinstance(child, (dict, list)):
                    children.append((child, (*path, key)))
            stack.extend(reversed(children))
        else:
            stack.extend(
                (child, (*path, i))
                for i, child in reversed(list(enumerate(value)))
                if isinstance(child, (dict, list))
            )


def _is_image_key(key: Any) -> bool:
    return isinstance(key, str) and (key == "image" or key.endswith("Image"))


def _looks_like_image(value: str) -> bool:
    try:
        parse_reference(value)
    except InvalidReference:
        return False
    return True
