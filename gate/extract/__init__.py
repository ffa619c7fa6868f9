"""Extract stage: every pod spec in every object, with its containers and what they need.

`pods` finds the pod specs and reads their containers and images, `secret_refs` the Secrets
each one names, `fields` reads fields as the API server decodes them. What comes out is the
`gate.workload` types.
"""

from collections.abc import Sequence

from gate.extract.fields import expand_path
from gate.extract.layout import build
from gate.extract.pods import extract, layouts, pod_spec_paths
from gate.extract.unchecked import unchecked_images, unchecked_in
from gate.load import KubeObject
from gate.workload import DEFAULT_NAMESPACE, ImagePaths, PodSpec, UncheckedImage


def read_object(
    obj: KubeObject,
    default_namespace: str = DEFAULT_NAMESPACE,
    image_paths: Sequence[ImagePaths] = (),
) -> tuple[list[PodSpec], list[UncheckedImage]]:
    """One object's pods and the image fields none of them reads, its layouts found once:
    what `extract` and `unchecked_images` give for it, in one pass over a stream."""
    found = layouts(obj, image_paths)
    pods = [build(obj, layout, default_namespace) for layout in found]
    return pods, unchecked_in(obj, found, default_namespace)


__all__ = ["expand_path", "extract", "pod_spec_paths", "read_object", "unchecked_images"]
