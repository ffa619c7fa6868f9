"""Extract stage: every pod spec in every object, with its containers and what they need.

`pods` finds the pod specs and reads their containers and images, `secret_refs` the Secrets
each one names, `fields` reads fields as the API server decodes them. What comes out is the
`gate.workload` types.
"""

from gate.extract.fields import expand_path
from gate.extract.pods import extract, pod_spec_paths
from gate.extract.unchecked import unchecked_images

__all__ = ["expand_path", "extract", "pod_spec_paths", "unchecked_images"]
