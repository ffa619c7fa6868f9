"""What a pod needs: where it lives, its containers and images, the Secrets it names.

The types every stage after extraction reads (`PodSpec` and its parts), with the naming rules
they rely on. `gate.extract` fills them in from the loaded objects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from gate.load import PathKey

DEFAULT_NAMESPACE = "default"

ANNOTATION_DOMAIN = "pullgate.io/"
"""The annotations pullgate reads (its ignore annotations); a pod keeps only these."""


class NotAString(str):
    """An annotation value YAML read as a boolean, a number or a list, as text: the API
    server decodes annotations as `map[string]string` (apimachinery ObjectMeta) and refuses
    the object, so no rule may take it for a reason."""


NO_ENTRIES: Mapping[str, Any] = MappingProxyType({})
"""The empty mapping of every pod without node selectors, affinity or pullgate annotations:
one, not a dict per pod (20,000 pods kept as many)."""

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def validate_namespace(name: str) -> str:
    """`name` if it is a valid namespace (a DNS-1123 label); ValueError (exit 2) otherwise."""
    if len(name) > 63 or not _DNS1123_LABEL.match(name):
        raise ValueError(
            f"invalid namespace {name!r}: a namespace is a DNS-1123 label (lower-case letters, "
            "digits and '-', starting and ending with a letter or digit, at most 63 characters)"
        )
    return name


@dataclass(frozen=True, slots=True)
class ImagePaths:
    """Config `images:`: where a custom resource keeps images (`spec.runner.image`,
    `spec.jobs[*].image`) and the settings of the pod that runs them. Every field but `kind`
    and `api_version` is a dotted path (`[*]` for each item of a list)."""

    kind: str
    paths: tuple[str, ...]
    api_version: str = "*"
    pull_secrets: tuple[str, ...] = ()
    """Lists of pull secrets: `[{name}]` entries, or names as strings."""
    service_account: str | None = None
    node_selector: str | None = None
    namespace: str | None = None
    """Where the object names the namespace its pods run in (else its own)."""


CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")
IMAGE_VOLUME_FIELD = "volumes"
"""`Container.field` of an image volume: `volumes[].image.reference` (KEP-4639)."""


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Where a pod spec lives: enough to locate it for a user and to key suppressions."""

    file: str
    kind: str
    namespace: str
    name: str
    api_version: str = ""
    source: str | None = None
    line: int = 1


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    field: str
    """`containers`, `initContainers` or `ephemeralContainers`."""
    image: str | None
    """The `image` value as written; None when the container has none."""
    line: int
    """Line of the `image:` value (of the container itself when there is none)."""
    path: PathKey
    pull_policy: str | None = None
    image_problem: str | None = None
    """Why the value cannot be an image at all (a number, a list), before any parsing."""

    @property
    def is_volume(self) -> bool:
        """An image volume (`volumes[].image`), not a container: named by its volume."""
        return self.field == IMAGE_VOLUME_FIELD

    @property
    def label(self) -> str:
        """`container web` or `image volume models`, for messages."""
        return f"image volume {self.name}" if self.is_volume else f"container {self.name}"


SecretVia = Literal["env", "envFrom", "volume", "projected", "plugin"]


@dataclass(frozen=True, slots=True)
class SecretRef:
    """One reference from a pod spec to a Secret by name, located for the finding it may become.

    `via` says which field holds it: `env` (`env[].valueFrom.secretKeyRef`), `envFrom`
    (`envFrom[].secretRef`), `volume` (`volumes[].secret.secretName`), `projected`
    (`volumes[].projected.sources[].secret.name`) or `plugin` (a volume type whose plugin
    reads the secret to mount it, `source` says which: `csi.nodePublishSecretRef`, ...).
    """

    name: str
    line: int
    """Line of the secret's name value."""
    via: SecretVia
    container: str | None
    """The container that refers to it; None for volumes (any container may mount them)."""
    key: str | None = None
    """The key a `secretKeyRef` reads."""
    optional: bool = False
    volume: str | None = None
    """The volume's name, for `volume`, `projected` and `plugin` references."""
    items: tuple[tuple[str, int], ...] = ()
    """(key, line) of each `items[].key` of a `volume` or `projected` secret: the kubelet fails
    the mount when one is missing from the Secret, unless the reference is optional."""
    source: str | None = None
    """For `plugin` references: the field naming the secret (`cephfs.secretRef`, ...)."""


@dataclass(frozen=True, slots=True)
class PodSpec:
    """One pod spec: a Pod, or the template a controller stamps pods from."""

    object: ObjectRef
    path: PathKey
    containers: tuple[Container, ...]
    service_account: str | None = None
    service_account_line: int | None = None
    """Line of the `serviceAccountName` (or deprecated `serviceAccount`) value."""
    image_pull_secrets: tuple[tuple[str, int], ...] = ()
    """(name, line) of each `imagePullSecrets` entry that names a secret."""
    node_selector: Mapping[str, str] = field(default_factory=dict)
    affinity: Mapping[str, Any] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    """The object's annotations under `ANNOTATION_DOMAIN`, overlaid with its pod template's
    (no rule reads the others, so they are not kept)."""
    secret_refs: tuple[SecretRef, ...] = ()
    """Every reference to a Secret: container by container (env, then envFrom), then volumes."""
    image_volumes: tuple[Container, ...] = ()
    """Image volumes (`volumes[].image`): the kubelet pulls them with the pod's credentials
    before any container starts, and the pod fails if one does not pull."""
    annotation_lines: Mapping[str, int] = field(default_factory=dict)
    """Line of each annotation in `annotations`, to locate findings about them."""
    empty_pull_secrets: tuple[int, ...] = ()
    """Line of each `imagePullSecrets` entry with no name (`- name: ""`, `- {}`). The API
    server accepts one with a warning and the kubelet skips it, but it still makes the list
    non-empty, so the ServiceAccount admission plugin copies none of the account's."""

    api_problems: tuple[tuple[str, int], ...] = ()
    """(what, line) of each field the API server cannot decode (a number where a name goes,
    a string where an object goes): it refuses the whole object, so nothing of it runs."""

    account_pull_secrets: bool = True
    """False where the puller uses only the object's own list and never a service account's
    (OpenKruise's ImagePullJob, pulled by kruise-daemon)."""

    replicas: int | None = None
    """How many pods the object runs from this spec (`spec.replicas`, a Job's `parallelism`;
    1 for a bare Pod), None where unknown (a custom resource, a PodTemplate)."""
    per_node: bool = False
    """One pod per node (a DaemonSet): how many depends on the cluster, not the object."""

    @property
    def has_own_pull_secrets(self) -> bool:
        """Whether the pod's pull secrets are its own list only: `imagePullSecrets` has an
        entry, named or not (then the admission plugin leaves it as it is instead of copying
        the service account's), or its puller reads no service account."""
        return bool(self.image_pull_secrets or self.empty_pull_secrets) or not (
            self.account_pull_secrets
        )


@dataclass(frozen=True, slots=True)
class UncheckedImage:
    """An image pullgate saw but did not check, said so that a pass is not trusted blindly:
    an `image` string in a kind it does not know, or an image a known operator builds from
    settings the manifest does not pin down."""

    object: ObjectRef
    path: str
    """Dotted path of the field (`spec.runner.image`)."""
    line: int
    value: str | None
    reason: str
