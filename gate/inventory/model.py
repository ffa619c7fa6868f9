"""What exists in each namespace: Secrets, ServiceAccounts and patterns declared external.

An `Inventory` is filled source by source (rendered set, cluster-state files, the live cluster,
config) and then only read. The first source to name an object keeps it, so a finding can say
where an object was seen; a Secret's full object (its data, for pull-secret parsing) is kept
apart, from the first source that carried data.

Entries hold names, types and key names only. Secret values live solely in the objects kept for
`secret_object`, which no `repr` shows.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from gate.workload import PodSpec

DEFAULT_SERVICE_ACCOUNT = "default"
"""The ServiceAccount every namespace gets from the ServiceAccount controller."""


def data_keys(secret: Mapping[str, Any]) -> frozenset[str] | None:
    """The keys of a Secret's `data` and `stringData`; None when it carries neither (as a
    metadata-only listing or a snapshot taken without values)."""
    values = [v for v in (secret.get("data"), secret.get("stringData")) if isinstance(v, dict)]
    if not values:
        return None
    return frozenset(str(key) for mapping in values for key in mapping)


def pull_secret_names(entries: Any) -> tuple[str, ...]:
    """The names in an `imagePullSecrets` list, skipping malformed entries."""
    if not isinstance(entries, list):
        return ()
    return tuple(str(e["name"]) for e in entries if isinstance(e, dict) and e.get("name"))


def mountable_secret_names(entries: Any) -> tuple[str, ...]:
    """The names in a ServiceAccount's `secrets` list (object references: only the name
    counts, as `limitSecretReferences` compares names alone)."""
    return pull_secret_names(entries)


ENFORCE_MOUNTABLE_SECRETS = "kubernetes.io/enforce-mountable-secrets"
"""ServiceAccount annotation: its pods may use only the secrets it lists (ServiceAccount
admission plugin, plugin/pkg/admission/serviceaccount/admission.go)."""

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


def enforces_mountable_secrets(annotations: Any) -> bool:
    """Whether a ServiceAccount's annotations turn the mountable-secrets check on.

    The plugin reads the value with Go's `strconv.ParseBool` and treats a parse error as
    false, so `"yes"` or `"on"` leave the check off.
    """
    if not isinstance(annotations, dict):
        return False
    value = annotations.get(ENFORCE_MOUNTABLE_SECRETS)
    return isinstance(value, str) and value in _GO_TRUE


def annotation_keys(annotations: Any) -> tuple[str, ...]:
    """The keys of an object's `metadata.annotations` (none when it has none)."""
    if not isinstance(annotations, dict):
        return ()
    return tuple(sorted(str(key) for key in annotations))


SERVICE_ACCOUNT_TOKEN_TYPE = "kubernetes.io/service-account-token"
TOKEN_CONTROLLER_KEYS = frozenset({"token", "ca.crt", "namespace"})
"""What the token controller writes into a `kubernetes.io/service-account-token` Secret after
it is created (`generateTokenIfNeeded`, pkg/controller/serviceaccount/tokens_controller.go;
`ca.crt` only when the controller has a root CA)."""


@dataclass(frozen=True)
class SecretEntry:
    """A Secret known to exist (or to be created) in a namespace."""

    namespace: str
    name: str
    origin: str
    """Where it was seen: `rendered <file>:<line>`, `cluster-state <file>`, `cluster`."""
    type: str | None = None
    """`Opaque`, `kubernetes.io/dockerconfigjson`, ...; None when the source does not say."""
    keys: frozenset[str] | None = None
    """Its data keys, when the source says for certain; None when unknown."""
    created_by: str | None = None
    """`<Kind>/<name>` of the object that makes it (SealedSecret, ExternalSecret, ...)."""
    file: str | None = None
    line: int | None = None
    filled_by: str | None = None
    """What writes keys into it after it is created (the token controller, a replicator), in
    words: the keys it writes are unknown here, not absent."""
    filled_keys: frozenset[str] | None = None
    """The keys `filled_by` writes, when known by name; None: any key at all."""


@dataclass(frozen=True)
class ServiceAccountEntry:
    """A ServiceAccount: the pull secrets the admission plugin would copy onto its pods, and
    the secrets it lets them use when it enforces mountable secrets."""

    namespace: str
    name: str
    origin: str
    image_pull_secrets: tuple[str, ...] = ()
    pull_secret_lines: tuple[int, ...] = ()
    """Line of each `imagePullSecrets` name, for one from the rendered set (else empty)."""
    file: str | None = None
    line: int | None = None
    mountable_secrets: tuple[str, ...] = ()
    """The names in its `secrets` list."""
    enforce_mountable_secrets: bool = False
    """`kubernetes.io/enforce-mountable-secrets` is true: its pods may use only `secrets`
    (volumes, env, envFrom) and `imagePullSecrets` (pull secrets)."""
    enforce_line: int | None = None
    """Line of that annotation, for one from the rendered set."""
    annotation_keys: tuple[str, ...] | None = None
    """Its annotations' keys (a token credential provider may require some); None: unknown."""

    @property
    def where(self) -> str:
        """`sa.yaml:7` (the annotation's line, else the name's) or the source it came from."""
        line = self.enforce_line or self.line
        if self.file is not None and line is not None:
            return f"{self.file}:{line}"
        return self.origin


@dataclass(frozen=True)
class ExternalPattern:
    """Secrets that exist by means pullgate cannot see, as `namespace/name` globs."""

    pattern: str
    reason: str
    origin: str = "config"
    namespace_regexes: tuple[str, ...] = ()
    """Instead of the pattern's namespace glob: anchored regexes (replicators write these)."""

    @classmethod
    def parse(cls, pattern: str, reason: str, origin: str = "config") -> ExternalPattern:
        """A declared pattern; ValueError (a configuration error) for a pattern that is not
        `namespace/name` with both parts, or an empty reason."""
        if pattern.count("/") != 1 or not all(pattern.split("/")):
            raise ValueError(
                f"{pattern!r} is not a namespace/name pattern (e.g. 'prod/db-*' or "
                "'*/registry-cred')"
            )
        if not reason or not reason.strip():
            raise ValueError(f"{pattern!r} needs a reason")
        return cls(pattern, reason.strip(), origin)

    def matches(self, namespace: str, name: str) -> bool:
        ns_glob, _, name_glob = self.pattern.partition("/")
        if not fnmatch.fnmatchcase(name, name_glob):
            return False
        if self.namespace_regexes:
            return any(re.fullmatch(rx, namespace) for rx in self.namespace_regexes)
        return fnmatch.fnmatchcase(namespace, ns_glob)


@dataclass(frozen=True)
class Unreadable:
    """An object that makes Secrets whose names cannot be read (e.g. SOPS-encrypted names)."""

    namespace: str
    description: str


@dataclass(frozen=True)
class PullSecretSource:
    """Where a pod's pull secrets come from: its own list, or its service account's."""

    names: tuple[str, ...]
    service_account: str | None = None
    """Set when the names were inherited from this ServiceAccount."""


@dataclass
class Inventory:
    """Secrets and ServiceAccounts per namespace, from every source in turn.

    Fill it with `add_*` (see `gate.inventory.rendered` and `gate.inventory.snapshot` for the
    rendered set and cluster-state files, `gate.inventory.cluster` for the live cluster), then
    read it.
    """

    searched: list[str] = field(default_factory=list)
    """Sources consulted so far, in words, for the hint of a missing-secret finding."""
    _secrets: dict[tuple[str, str], SecretEntry] = field(default_factory=dict, repr=False)
    _objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    _accounts: dict[tuple[str, str], ServiceAccountEntry] = field(default_factory=dict, repr=False)
    _external: list[ExternalPattern] = field(default_factory=list, repr=False)
    _unreadable: list[Unreadable] = field(default_factory=list, repr=False)

    # building

    def add_source(self, description: str) -> None:
        if description not in self.searched:
            self.searched.append(description)

    def add_secret(self, entry: SecretEntry, obj: Mapping[str, Any] | None = None) -> None:
        """Record a Secret; the first source keeps the entry, the first with data the object.

        `obj` is the Secret as applied or stored (with `data`/`stringData`), for pull-secret
        parsing; pass it only when it carries real values.
        """
        key = (entry.namespace, entry.name)
        existing = self._secrets.get(key)
        if existing is None:
            self._secrets[key] = entry
        elif existing.keys is None and entry.keys is not None and existing.origin == entry.origin:
            self._secrets[key] = replace(existing, keys=entry.keys)
        if obj is not None and key not in self._objects:
            self._objects[key] = dict(obj)

    def add_service_account(self, entry: ServiceAccountEntry) -> None:
        self._accounts.setdefault((entry.namespace, entry.name), entry)

    def add_external(self, pattern: str, reason: str, origin: str = "config") -> None:
        """Declare `namespace/name` globs (fnmatch) of Secrets made where pullgate cannot look.

        Raises ValueError (a configuration error) for a pattern without `/` or an empty reason.
        """
        try:
            self._external.append(ExternalPattern.parse(pattern, reason, origin))
        except ValueError as exc:
            raise ValueError(f"secrets.external: {exc}") from None

    def add_external_pattern(self, entry: ExternalPattern) -> None:
        self._external.append(entry)

    def add_unreadable(self, namespace: str, description: str) -> None:
        self._unreadable.append(Unreadable(namespace, description))

    # reading

    @property
    def secrets(self) -> list[SecretEntry]:
        return list(self._secrets.values())

    @property
    def service_accounts(self) -> list[ServiceAccountEntry]:
        return list(self._accounts.values())

    @property
    def external(self) -> list[ExternalPattern]:
        return list(self._external)

    def secret(self, namespace: str, name: str) -> SecretEntry | None:
        return self._secrets.get((namespace, name))

    def external_match(self, namespace: str, name: str) -> ExternalPattern | None:
        return next((e for e in self._external if e.matches(namespace, name)), None)

    def secret_exists(self, namespace: str, name: str) -> bool:
        """True when any source has the Secret, or an external pattern covers it."""
        if (namespace, name) in self._secrets:
            return True
        return self.external_match(namespace, name) is not None

    def secret_keys(self, namespace: str, name: str) -> frozenset[str] | None:
        """The Secret's data keys when known for certain, else None (do not check keys).

        None too for a Secret something fills after creation: its keys are not all known.
        """
        entry = self._secrets.get((namespace, name))
        if entry is None or entry.filled_by is not None:
            return None
        return entry.keys

    def has_key(self, namespace: str, name: str, key: str) -> bool | None:
        """Whether the Secret has `key`: True, False, or None when that cannot be known (the
        source does not list keys, or a controller may write this one after creation)."""
        entry = self._secrets.get((namespace, name))
        if entry is None:
            return None
        if entry.keys is not None and key in entry.keys:
            return True
        if entry.keys is None:
            return None
        if entry.filled_by is not None and (entry.filled_keys is None or key in entry.filled_keys):
            return None
        return False

    def keys_unknown_because(self, namespace: str, name: str) -> str:
        """Why `has_key` said None, in words, for the note that says a key was not checked."""
        entry = self._secrets.get((namespace, name))
        if entry is not None and entry.filled_by is not None:
            return f"{entry.filled_by} after the Secret is created"
        if entry is None:
            pattern = self.external_match(namespace, name)
            return f"it is declared external ({pattern.reason})" if pattern else "it is unknown"
        maker = f"{entry.created_by} ({entry.origin})" if entry.created_by else entry.origin
        return f"{maker} does not say which keys it has"

    def secret_object(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The full Secret (with `data`/`stringData`) when a source carried its values."""
        return self._objects.get((namespace, name))

    def service_account(self, namespace: str, name: str) -> ServiceAccountEntry | None:
        return self._accounts.get((namespace, name))

    def service_account_exists(self, namespace: str, name: str) -> bool:
        """`default` exists in every namespace; any other needs a source."""
        return name == DEFAULT_SERVICE_ACCOUNT or (namespace, name) in self._accounts

    def secret_namespaces(self, name: str) -> list[str]:
        """Namespaces where a Secret of this name is known (for the cross-namespace hint)."""
        return sorted({ns for ns, n in self._secrets if n == name})

    def service_account_namespaces(self, name: str) -> list[str]:
        return sorted({ns for ns, n in self._accounts if n == name})

    def unreadable_in(self, namespace: str) -> list[Unreadable]:
        return [u for u in self._unreadable if u.namespace == namespace]

    def pull_secrets_for(self, pod: PodSpec) -> PullSecretSource:
        """The pull secrets the kubelet would use for `pod`, as the admission plugin sets them.

        The pod's own `imagePullSecrets` if it has any entry, even one without a name (which
        names nothing, so `names` leaves it out); otherwise its service account's (`default`
        when it names none), when that account is known.
        """
        if pod.has_own_pull_secrets:
            return PullSecretSource(tuple(name for name, _ in pod.image_pull_secrets))
        account_name = pod.service_account or DEFAULT_SERVICE_ACCOUNT
        account = self._accounts.get((pod.object.namespace, account_name))
        if account is None or not account.image_pull_secrets:
            return PullSecretSource(())
        return PullSecretSource(account.image_pull_secrets, account_name)

    def needed_pull_secrets(self, pods: Iterable[PodSpec]) -> list[tuple[str, str]]:
        """(namespace, name) of every pull secret some pod would use, in first-use order."""
        seen: dict[tuple[str, str], None] = {}
        for pod in pods:
            for name in self.pull_secrets_for(pod).names:
                seen.setdefault((pod.object.namespace, name), None)
        return list(seen)
