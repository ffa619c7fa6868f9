"""Plain data passed between the later stages: resolutions, findings and the whole result."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from gate.config_entries import ConfigEntry
from gate.display import TEXT_LIMIT, shown, shown_or_none
from gate.platform import Entry
from gate.reference import Reference
from gate.rules import RULES, Severity
from gate.workload import Container, PodSpec, UncheckedImage


class Outcome(str, Enum):
    """What the registry said about one reference."""

    RESOLVED = "resolved"
    MANIFEST_UNKNOWN = "manifest-unknown"
    NAME_UNKNOWN = "name-unknown"
    UNAUTHORIZED = "unauthorized"
    UNREACHABLE = "unreachable"
    INVALID_RESPONSE = "invalid-response"
    """The registry answered with something unusable that is no integrity failure (a status
    it should not send, a token service without a token): could not verify."""
    MANIFEST_INVALID = "manifest-invalid"
    """What the registry served fails integrity: a digest that does not match, a manifest that
    is no JSON object or no image manifest. containerd refuses it as well."""
    NO_HOST = "no-host"
    """No configured host may serve it (containerd's `no resolve hosts: not found`): every
    host of the domain lacks the `pull` (or, for a tag, `resolve`) capability."""
    REFUSED = "refused"
    """Not asked, by pullgate's own rule: a credential would have gone over plain HTTP to a
    host not marked insecure."""
    SKIPPED = "skipped"
    """Not asked: `--offline`."""
    UNVERIFIED = "unverified"
    """The kubelet would offer a credential the gate cannot replay, and no CI login verified."""
    NOT_PULLED = "not-pulled"
    """Not asked: `imagePullPolicy: Never`, so the kubelet never asks the registry either."""
    KEYRING_INVALID = "keyring-invalid"
    """Not asked: a pull secret breaks the pod's keyring, so the kubelet fails every pull."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """The registry's answer for one reference (pulled with one set of credentials)."""

    reference: Reference
    outcome: Outcome
    digest: str | None = None
    media_type: str | None = None
    platforms: tuple[str, ...] = ()
    """The report's platform strings (`gate.platform.strings` of `entries`)."""
    entries: tuple[Entry, ...] = ()
    """What a runtime chooses from, in index order (a single manifest: its config's)."""
    credential: str | None = None
    """Source of the credential that worked (`anonymous`, `secret:ns/name`, ...)."""
    detail: str = ""
    """The registry's own words, or the network error, for the finding's message."""
    tag_digest: str | None = None
    """For `name:tag@digest`: the digest the tag names now, "" if the tag is gone, None if not
    asked."""
    suggestions: tuple[str, ...] = ()
    """For a missing tag: existing tags that look like it."""
    mirror: str | None = None
    """The configured mirror that served it, if one did."""
    endpoint: str | None = None
    """Where it was resolved: the mirror's or the registry's URL (`https://host[/path]`)."""
    rate_limited: bool = False
    """Not verified because Docker Hub's pull budget is spent for this runner (429)."""
    verified_with: str | None = None
    """The CI login that verified on behalf of `credential` (which the gate cannot replay)."""
    pulled_by_ci_login: str | None = None
    """When the pod cannot pull: a CI login that can, so the image exists (for the hint)."""
    ci_logins: tuple[str, ...] = ()
    """The CI logins asked to verify, when they were (names, never values)."""
    artifact_config: str | None = None
    """A single manifest's config media type when it is not an image config: an OCI
    artifact, mountable as an image volume, not runnable as a container."""

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.RESOLVED


@dataclass(frozen=True, slots=True)
class ImageUse:
    """One image of one pod spec (a container's, or an image volume's), with its parsed
    reference (None if invalid)."""

    pod: PodSpec
    container: Container
    reference: Reference | None
    invalid_reason: str | None = None
    resolution: Resolution | None = None
    """Filled by the resolve stage: what this pod, with its credentials, got from the registry."""
    unmatched_secrets: tuple[str, ...] = ()
    """The pod's usable pull secrets that have no entry for this image's registry."""
    on_behalf_of: tuple[str, ...] = ()
    """Sources the kubelet would offer that the gate cannot replay but a CI login may verify
    for (`secret:<ns>/<name>` without readable values, `nodes:<pattern>`)."""
    unreplayable: tuple[str, ...] = ()
    """Sources that cannot be verified in CI at all (`provider:<name>` needing a pod token)."""
    provider_failures: tuple[tuple[str, str], ...] = ()
    """(`provider:<name>`, why) for node providers that gave nothing here (in `on_behalf_of`)."""
    skipped_providers: tuple[tuple[str, str], ...] = ()
    """(`provider:<name>`, why) for token providers the kubelet does not run for this pod."""


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    hint: str
    file: str
    line: int
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    container: str | None = None
    image: str | None = None
    source: str | None = None
    suppressed: str | None = None
    """The reason it was suppressed, or None when it counts."""
    suppressed_by: str | None = None
    """Where the suppression is written: `annotation` (in the manifest) or `config`."""
    volume: str | None = None
    """The image volume the finding is about (then `container` is None)."""
    subject: str | None = None
    """What the fix creates or corrects, named as `subject_kind` says (the missing Secret's
    name): the text report's closing digest groups findings by it."""
    subject_kind: str | None = None
    """`Secret`, `Secret key` or `ServiceAccount`, when `subject` is set."""
    entry: ConfigEntry | None = None
    """The `.pullgate.yaml` entry its hint offers as the fix (shown there on one line): the
    reports that gather findings merge these into one block."""

    def __post_init__(self) -> None:
        """Every value a report shows a person is escaped and capped (`gate.display`); a hint
        cut to the cap still ends with its config entry (the fix matters more than the rest)."""
        object.__setattr__(self, "message", shown(self.message, TEXT_LIMIT))
        hint = shown(self.hint, TEXT_LIMIT)
        entry = self.entry.inline() if self.entry is not None else None
        if entry is not None and entry not in hint:
            tail = shown(f" In .pullgate.yaml: `{entry}`.", TEXT_LIMIT // 2)
            hint = shown(self.hint, TEXT_LIMIT - len(tail)) + tail
        object.__setattr__(self, "hint", hint)
        for name in (
            "kind",
            "namespace",
            "name",
            "container",
            "image",
            "source",
            "volume",
            "subject",
        ):
            object.__setattr__(self, name, shown_or_none(getattr(self, name)))

    @property
    def target(self) -> str | None:
        """The container or image volume the finding is about, if any."""
        return self.container or self.volume

    @classmethod
    def at(
        cls,
        rule_id: str,
        file: str,
        line: int,
        message: str,
        hint: str,
        *,
        kind: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        container: str | None = None,
        image: str | None = None,
        source: str | None = None,
        volume: str | None = None,
        subject: str | None = None,
        subject_kind: str | None = None,
        entry: ConfigEntry | None = None,
    ) -> Finding:
        """A finding of `rule_id` at `file:line`, with the rule's default severity."""
        return cls(
            rule_id,
            RULES[rule_id].severity,
            message,
            hint,
            file,
            line,
            kind=kind,
            namespace=namespace,
            name=name,
            container=container,
            image=image,
            source=source,
            volume=volume,
            subject=subject,
            subject_kind=subject_kind,
            entry=entry,
        )

    @classmethod
    def about(
        cls,
        rule_id: str,
        pod: PodSpec,
        line: int,
        message: str,
        hint: str,
        *,
        container: str | None = None,
        image: str | None = None,
        volume: str | None = None,
        subject: str | None = None,
        subject_kind: str | None = None,
        entry: ConfigEntry | None = None,
    ) -> Finding:
        """A finding located in `pod`'s object."""
        obj = pod.object
        return cls.at(
            rule_id,
            obj.file,
            line,
            message,
            hint,
            kind=obj.kind,
            namespace=obj.namespace,
            name=obj.name,
            container=container,
            image=image,
            source=obj.source,
            volume=volume,
            subject=subject,
            subject_kind=subject_kind,
            entry=entry,
        )


@dataclass
class CheckResult:
    """Everything a report needs."""

    files: list[str]
    objects: int
    documents: int
    skipped_documents: int
    pods: list[PodSpec]
    uses: list[ImageUse]
    findings: list[Finding] = field(default_factory=list)
    offline: bool = False
    unchecked: list[UncheckedImage] = field(default_factory=list)
    """Image fields seen but read by no rule (`unchecked_image_fields`): a blind spot."""

    @property
    def active_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.suppressed is None and f.severity is not Severity.OFF]

    def summary(self) -> dict[str, Any]:
        """The JSON report's `summary` block (every report shows these counts)."""
        unique: dict[str, bool] = {}
        for use in self.uses:
            if use.container.image is None:
                continue
            ok = use.resolution is not None and use.resolution.ok
            unique[use.container.image] = unique.get(use.container.image, False) or ok
        active = self.active_findings
        return {
            "files": len(self.files),
            "objects": self.objects,
            "pods": len(self.pods),
            "images": len(self.uses),
            "unique_images": len(unique),
            "resolved": sum(1 for ok in unique.values() if ok),
            "errors": sum(1 for f in active if f.severity is Severity.ERROR),
            "warnings": sum(1 for f in active if f.severity is Severity.WARNING),
            "suppressed": sum(1 for f in self.findings if f.suppressed is not None),
            "skipped_documents": self.skipped_documents,
            "unchecked_image_fields": len(self.unchecked),
        }
