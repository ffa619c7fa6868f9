"""Images seen but not checked: the blind spots a user must know about before trusting a pass.

Objects of kinds no rule reads (not built in, not a known custom resource, not named by a config
`images:` entry) are walked for fields named `image` holding a string that parses as an image
reference, outside the pod specs the generic search already found. Known kinds add the images
their operator builds from settings (`KnownKind.unchecked`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from gate.extract.fields import dotted
from gate.extract.kinds import known_kind
from gate.extract.layout import object_ref
from gate.extract.pods import NEVER_SEARCHED, is_read, layouts, rule_matches
from gate.load import KubeObject, PathKey
from gate.reference import InvalidReference, parse_reference
from gate.workload import DEFAULT_NAMESPACE, ImagePaths, UncheckedImage

_NOT_READ = (
    "pullgate does not know this kind, so nothing checks this image; add an `images:` entry "
    "for it to .pullgate.yaml (`pullgate explain kinds` lists the kinds it knows)"
)


def unchecked_images(
    objects: Iterable[KubeObject],
    default_namespace: str = DEFAULT_NAMESPACE,
    image_paths: Sequence[ImagePaths] = (),
) -> list[UncheckedImage]:
    """Every image-like field no rule reads, in document order."""
    found: list[UncheckedImage] = []
    for obj in objects:
        ref = None
        if is_read(obj, image_paths):
            kind = known_kind(obj)
            if kind is None or any(rule_matches(r, obj) for r in image_paths):
                continue
            for path, reason in dict(kind.unchecked(obj.data)).items():  # a field once
                ref = ref or object_ref(obj, default_namespace)
                found.append(UncheckedImage(ref, dotted(path), obj.line_of(path), None, reason))
            continue
        if obj.kind in NEVER_SEARCHED:
            continue
        read = [layout.path for layout in layouts(obj)]
        for path, value in _image_strings(obj.data):
            if any(path[: len(p)] == p for p in read):
                continue
            ref = ref or object_ref(obj, default_namespace)
            found.append(UncheckedImage(ref, dotted(path), obj.line_of(path), value, _NOT_READ))
    return found


def _image_strings(data: dict[str, Any]) -> Iterator[tuple[PathKey, str]]:
    """(path, value) of each `image: <reference>` outside `metadata` and `status`."""
    stack: list[tuple[Any, PathKey]] = [
        (value, (key,))
        for key, value in reversed(data.items())
        if key not in ("metadata", "status")
    ]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            image = value.get("image")
            if isinstance(image, str) and _looks_like_image(image):
                yield (*path, "image"), image
            stack.extend((child, (*path, key)) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(
                (child, (*path, index)) for index, child in reversed(list(enumerate(value)))
            )


def _looks_like_image(value: str) -> bool:
    try:
        parse_reference(value)
    except InvalidReference:
        return False
    return True
