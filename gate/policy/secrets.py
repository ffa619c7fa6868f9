"""Secret rules: every Secret and ServiceAccount a pod refers to exists in the pod's namespace.

Each missing reference is one finding at its own line (the secret's name, the key, or the
`serviceAccountName` value). Where the name exists in another namespace the message says so:
Secrets and ServiceAccounts are namespace-scoped, and putting one in the wrong namespace is the
usual mistake. Messages say what is missing in plain words; hints say what the pod would have
shown and what to do.

A key that cannot be known (a Secret whose source does not list its keys, or whose keys a
controller writes after creation) is not a finding: the check passes, and a note at info level
(`-v`) says which key went unchecked and why. Nothing failed, and stdout stays the report.

`secret-not-mountable` follows the ServiceAccount admission plugin's `limitSecretReferences`
(plugin/pkg/admission/serviceaccount/admission.go): for an account whose
`kubernetes.io/enforce-mountable-secrets` is true, `secret` volumes and the env/envFrom secrets
of containers and init containers must be in the account's `secrets`, and the pod's own
imagePullSecrets in its `imagePullSecrets`; optional references count too. Projected, CSI and
other volume types are not checked, nor ephemeral containers (they are checked only when added
through the `ephemeralcontainers` subresource, never at creation).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from gate.config_entries import ConfigEntry, external_secret
from gate.inventory import (
    DEFAULT_SERVICE_ACCOUNT,
    ENFORCE_MOUNTABLE_SECRETS,
    Inventory,
    ServiceAccountEntry,
)
from gate.model import Finding
from gate.rules import Severity
from gate.workload import PodSpec, SecretRef

log = logging.getLogger(__name__)


def secret_findings(pods: Iterable[PodSpec], inventory: Inventory) -> list[Finding]:
    """`pull-secret-missing`, `secret-ref-missing`, `service-account-missing` and
    `secret-not-mountable` findings."""
    findings: dict[tuple[object, ...], Finding] = {}
    noted: set[tuple[str, str, str]] = set()

    def add(finding: Finding, subject: str) -> None:
        key = (finding.rule, finding.file, finding.line, finding.namespace, subject, finding.name)
        findings.setdefault(key, finding)

    for pod in pods:
        namespace = pod.object.namespace
        for name, line in pod.image_pull_secrets:
            if not inventory.secret_exists(namespace, name):
                add(_pull_secret_missing(pod, name, line, inventory), name)
        for line in pod.empty_pull_secrets:
            add(_pull_secret_unnamed(pod, line, inventory), "")
        for ref in pod.secret_refs:
            if ref.optional:
                # The kubelet runs without an optional secret, and skips its missing keys
                # (`MakePayload` in pkg/volume/secret/secret.go for volume items).
                continue
            if not inventory.secret_exists(namespace, ref.name):
                add(_secret_ref_missing(pod, ref, inventory), ref.name)
                continue
            wanted = [(ref.key, ref.line)] if ref.key is not None else []
            for key, line in wanted + list(ref.items):
                known = inventory.has_key(namespace, ref.name, key)
                if known is False:
                    finding = _secret_key_missing(pod, ref, key, line, inventory)
                    add(finding, f"{ref.name}/{key}")
                elif known is None and (namespace, ref.name, key) not in noted:
                    noted.add((namespace, ref.name, key))
                    _note_unchecked_key(pod, ref, key, line, inventory)
        account = pod.service_account
        if account and not inventory.service_account_exists(namespace, account):
            add(_service_account_missing(pod, account, inventory), account)
        for finding, subject in _inherited_pull_secrets_missing(pod, inventory):
            add(finding, subject)
        for finding, subject in _not_mountable(pod, inventory):
            add(finding, subject)
    return list(findings.values())


def _note_unchecked_key(
    pod: PodSpec, ref: SecretRef, key: str, line: int, inventory: Inventory
) -> None:
    obj, namespace = pod.object, pod.object.namespace
    log.info(
        "%s:%d: %s %s/%s: key %s of secret %s/%s not checked: its keys cannot be known, as %s",
        obj.file,
        line,
        obj.kind,
        namespace,
        obj.name,
        key,
        namespace,
        ref.name,
        inventory.keys_unknown_because(namespace, ref.name),
    )


def _elsewhere(names: list[str], namespace: str, what: str) -> str:
    """` (it exists in namespace default; secrets are namespace-scoped)`, or nothing."""
    others = [ns for ns in names if ns != namespace]
    if not others:
        return ""
    where = f"namespace {others[0]}" if len(others) == 1 else f"namespaces {', '.join(others)}"
    return f" (it exists in {where}; {what} are namespace-scoped)"


def _looked_in(inventory: Inventory, namespace: str, name: str) -> str:
    """Where pullgate looked, and how to show it a Secret made elsewhere (the config entry to
    paste, with the names filled in)."""
    sources = ", ".join(inventory.searched) or "nothing"
    text = f" pullgate looked in: {sources}."
    if not _cluster_searched(inventory):
        entry = external_secret(namespace, name)
        declare = (
            f"declare it in .pullgate.yaml: `{entry.inline()}`"
            if entry is not None
            else "declare it under `secrets: external:` in .pullgate.yaml"
        )
        text += (
            " If the secret is created outside these manifests, pass `--cluster-state` or "
            f"`--cluster`, or {declare}."
        )
    for unreadable in inventory.unreadable_in(namespace):
        text += f" Note: {unreadable.description}."
    return text


def _external(inventory: Inventory, namespace: str, name: str) -> ConfigEntry | None:
    """The `secrets: external:` entry `_looked_in` offers, if it offers one: not once a
    cluster was asked, which would have seen a Secret made elsewhere."""
    return None if _cluster_searched(inventory) else external_secret(namespace, name)


def _cluster_searched(inventory: Inventory) -> bool:
    return any(s.startswith("cluster") for s in inventory.searched)


def _pull_secret_missing(pod: PodSpec, name: str, line: int, inventory: Inventory) -> Finding:
    namespace = pod.object.namespace
    elsewhere = _elsewhere(inventory.secret_namespaces(name), namespace, "secrets")
    return Finding.about(
        "pull-secret-missing",
        pod,
        line,
        f"imagePullSecrets names secret {name}, which does not exist in namespace "
        f"{namespace}{elsewhere}",
        f"The kubelet would log `Unable to retrieve some image pull secrets ({namespace}/{name})` "
        "and pull without it: ErrImagePull, then ImagePullBackOff, on private images. Create "
        f"the secret in namespace {namespace} (`kubectl create secret docker-registry {name} "
        f"-n {namespace} ...`), or correct the name." + _looked_in(inventory, namespace, name),
        subject=name,
        subject_kind="Secret",
        entry=_external(inventory, namespace, name),
    )


def _volume_label(ref: SecretRef) -> str:
    """`volume tls`, `projected volume token`, `csi volume certs`."""
    if ref.via == "plugin":
        kind = f"{(ref.source or 'plugin').partition('.')[0]} volume"
    else:
        kind = "projected volume" if ref.via == "projected" else "volume"
    return f"{kind} {ref.volume}" if ref.volume else kind


def _reference(ref: SecretRef) -> str:
    if ref.via == "env":
        key = f" (key {ref.key})" if ref.key else ""
        return f"container {ref.container} reads an env var from secret {ref.name}{key}"
    if ref.via == "envFrom":
        return f"container {ref.container} loads its environment from secret {ref.name}"
    if ref.via == "plugin":
        return f"{_volume_label(ref)} needs secret {ref.name} ({ref.source}) to mount"
    return f"{_volume_label(ref)} mounts secret {ref.name}"


def _symptom(ref: SecretRef, namespace: str) -> str:
    if ref.via in ("env", "envFrom"):
        return (
            f"The container would not start: CreateContainerConfigError, "
            f'`secret "{ref.name}" not found`.'
        )
    volume = ref.volume or "…"
    if ref.via == "plugin":
        return (
            f"The kubelet's {(ref.source or '').partition('.')[0]} volume plugin reads it from "
            f"the pod's namespace ({namespace}) to mount the volume; without it the pod hangs in "
            f'ContainerCreating with FailedMount events for volume "{volume}" naming secret '
            f"{namespace}/{ref.name}."
        )
    return (
        "The pod would hang in ContainerCreating: `MountVolume.SetUp failed for volume "
        f'"{volume}" : secret "{ref.name}" not found`.'
    )


def _secret_ref_missing(pod: PodSpec, ref: SecretRef, inventory: Inventory) -> Finding:
    namespace = pod.object.namespace
    elsewhere = _elsewhere(inventory.secret_namespaces(ref.name), namespace, "secrets")
    fix = (
        f" Create the secret in namespace {namespace}, or correct the name."
        if ref.via == "plugin"
        else f" Create the secret in namespace {namespace}, correct the name, or mark the "
        "reference `optional: true` if the pod can run without it."
    )
    return Finding.about(
        "secret-ref-missing",
        pod,
        ref.line,
        f"{_reference(ref)}, which does not exist in namespace {namespace}{elsewhere}",
        _symptom(ref, namespace) + fix + _looked_in(inventory, namespace, ref.name),
        container=ref.container,
        subject=ref.name,
        subject_kind="Secret",
        entry=_external(inventory, namespace, ref.name),
    )


def _secret_key_missing(
    pod: PodSpec, ref: SecretRef, key: str, line: int, inventory: Inventory
) -> Finding:
    namespace = pod.object.namespace
    entry = inventory.secret(namespace, ref.name)
    seen = ""
    if entry is not None:
        made = f", made by {entry.created_by}" if entry.created_by else ""
        seen = f" ({entry.origin}{made})"
    keys = entry.keys if entry is not None and entry.keys is not None else frozenset()
    has = ", ".join(sorted(keys)) if keys else "no keys at all"
    if entry is not None and entry.filled_by is not None:
        has += f", and {entry.filled_by} after it is created"
    if ref.via == "env":
        what = f"container {ref.container} reads key {key}"
        symptom = (
            "The container would not start: CreateContainerConfigError, `couldn't find key "
            f"{key} in Secret {namespace}/{ref.name}`."
        )
        optional = "the reference"
    else:
        what = f"{_volume_label(ref)} mounts key {key}"
        symptom = (
            "The pod would hang in ContainerCreating: `MountVolume.SetUp failed for volume "
            f'"{ref.volume or "…"}" : references non-existent secret key: {key}`.'
        )
        optional = "the volume's secret" if ref.via == "volume" else "the projected source"
    return Finding.about(
        "secret-ref-missing",
        pod,
        line,
        f"{what} of secret {ref.name}, which has no such key in namespace {namespace}{seen}; "
        f"it has: {has}",
        f"{symptom} Correct the key, add it to the secret, or mark {optional} `optional: true`.",
        container=ref.container,
        subject=f"{ref.name} key {key}",
        subject_kind="Secret key",
    )


def _pull_secret_unnamed(pod: PodSpec, line: int, inventory: Inventory) -> Finding:
    """A warning at an `imagePullSecrets` entry without a name.

    It pulls nothing (the kubelet skips it), yet the list is no longer empty, so the admission
    plugin (`len(pod.Spec.ImagePullSecrets) == 0` in `Admit`) copies none of the service
    account's pull secrets. A warning, as the API server's own (`invalid empty name`) is: the
    pull may still work without them, which the image rules judge.
    """
    namespace = pod.object.namespace
    account_name = pod.service_account or DEFAULT_SERVICE_ACCOUNT
    account = inventory.service_account(namespace, account_name)
    message = "imagePullSecrets has an entry without a name: it names no secret"
    consequence = ""
    if not pod.image_pull_secrets:
        if account is not None and account.image_pull_secrets:
            names = ", ".join(account.image_pull_secrets)
            message += (
                f", and since the list is not empty the pod does not get the pull secrets of "
                f"service account {account_name} ({names})"
            )
            consequence = (
                " Images that need those secrets would fail to pull: ErrImagePull, then "
                "ImagePullBackOff."
            )
        else:
            message += (
                ", and since the list is not empty the pod would not get its service "
                "account's pull secrets"
            )
    finding = Finding.about(
        "pull-secret-missing",
        pod,
        line,
        message,
        "The API server accepts it with a warning (`spec.imagePullSecrets[…].name: invalid "
        'empty name ""`) and the kubelet skips it; the ServiceAccount admission plugin copies '
        "the account's imagePullSecrets only onto a pod that lists none." + consequence + " "
        "Remove the entry (an empty Helm value often renders one), or name the secret.",
    )
    return replace(finding, severity=Severity.WARNING)


def _service_account_missing(pod: PodSpec, account: str, inventory: Inventory) -> Finding:
    namespace = pod.object.namespace
    elsewhere = _elsewhere(
        inventory.service_account_namespaces(account), namespace, "service accounts"
    )
    controller = (
        ""
        if pod.object.kind == "Pod"
        else f" The {pod.object.kind} would create no pod (its controller reports FailedCreate)."
    )
    hint = (
        "The API server would reject the pod at admission: `error looking up service account "
        f'{namespace}/{account}: serviceaccount "{account}" not found`.{controller} Create the '
        f"ServiceAccount in namespace {namespace}, or correct `serviceAccountName`."
    )
    sources = ", ".join(inventory.searched) or "nothing"
    hint += f" pullgate looked in: {sources}."
    return Finding.about(
        "service-account-missing",
        pod,
        pod.service_account_line or pod.object.line,
        f"service account {account} does not exist in namespace {namespace}{elsewhere}",
        hint,
        subject=account,
        subject_kind="ServiceAccount",
    )


def _inherited_pull_secrets_missing(
    pod: PodSpec, inventory: Inventory
) -> list[tuple[Finding, str]]:
    """Pull secrets a pod inherits from its ServiceAccount that do not exist.

    The admission plugin copies the account's `imagePullSecrets` onto a pod that has none, so a
    missing one fails the pull just the same. A finding sits on the account's own line when the
    account is in the rendered set (once for all its pods), else on the pod's account line.
    """
    if pod.has_own_pull_secrets:
        return []
    namespace = pod.object.namespace
    account_name = pod.service_account or DEFAULT_SERVICE_ACCOUNT
    account = inventory.service_account(namespace, account_name)
    if account is None:
        return []
    results: list[tuple[Finding, str]] = []
    for index, name in enumerate(account.image_pull_secrets):
        if inventory.secret_exists(namespace, name):
            continue
        elsewhere = _elsewhere(inventory.secret_namespaces(name), namespace, "secrets")
        message = (
            f"service account {account_name} gives its pods pull secret {name}, which does not "
            f"exist in namespace {namespace}{elsewhere}"
        )
        hint = (
            "The admission plugin copies the account's imagePullSecrets onto the pod; the "
            f"kubelet would log `Unable to retrieve some image pull secrets ({namespace}/{name})` "
            "and pull without it: ErrImagePull, then ImagePullBackOff, on private images. Create "
            f"the secret in namespace {namespace}, or correct the account's imagePullSecrets."
            + _looked_in(inventory, namespace, name)
        )
        if account.file is not None and index < len(account.pull_secret_lines):
            finding = Finding.at(
                "pull-secret-missing",
                account.file,
                account.pull_secret_lines[index],
                message,
                hint,
                kind="ServiceAccount",
                namespace=namespace,
                name=account_name,
                subject=name,
                subject_kind="Secret",
                entry=_external(inventory, namespace, name),
            )
        else:
            line = pod.service_account_line or pod.object.line
            finding = Finding.about(
                "pull-secret-missing",
                pod,
                line,
                message,
                hint,
                subject=name,
                subject_kind="Secret",
                entry=_external(inventory, namespace, name),
            )
        results.append((finding, name))
    return results


def _not_mountable(pod: PodSpec, inventory: Inventory) -> list[tuple[Finding, str]]:
    """`secret-not-mountable`: what `limitSecretReferences` would reject, each at its line."""
    namespace = pod.object.namespace
    account_name = pod.service_account or DEFAULT_SERVICE_ACCOUNT
    account = inventory.service_account(namespace, account_name)
    if account is None or not account.enforce_mountable_secrets:
        return []
    results: list[tuple[Finding, str]] = []
    fields = {c.name: c.field for c in pod.containers}
    mountable = set(account.mountable_secrets)
    for ref in pod.secret_refs:
        checked = ref.via == "volume" or (
            ref.via in ("env", "envFrom")
            and fields.get(ref.container or "") in ("containers", "initContainers")
        )
        if checked and ref.name not in mountable:
            init = fields.get(ref.container or "") == "initContainers"
            results.append((_not_mountable_ref(pod, ref, account, init), ref.name))
    pullable = set(account.image_pull_secrets)
    for name, line in pod.image_pull_secrets:
        if name not in pullable:
            results.append((_not_mountable_pull(pod, name, line, account), name))
    for line in pod.empty_pull_secrets:
        results.append((_not_mountable_pull(pod, "", line, account), ""))
    return results


def _enforced_by(account: ServiceAccountEntry) -> str:
    return f"{account.where} sets {ENFORCE_MOUNTABLE_SECRETS}"


def _rejected(pod: PodSpec, refusal: str) -> str:
    controller = (
        ""
        if pod.object.kind == "Pod"
        else f" The {pod.object.kind} would create no pod (its controller reports FailedCreate)."
    )
    return f"The API server would reject the pod at admission: `{refusal}`.{controller}"


def _not_mountable_ref(
    pod: PodSpec, ref: SecretRef, account: ServiceAccountEntry, init: bool
) -> Finding:
    if ref.via == "volume":
        refusal = f'volume with secret.secretName="{ref.name}" is not allowed'
    else:
        who = f"{'init container' if init else 'container'} {ref.container}"
        how = "envFrom" if ref.via == "envFrom" else "envVar …"
        refusal = f'{who} with {how} referencing secret.secretName="{ref.name}" is not allowed'
    refusal += f" because service account {account.name} does not reference that secret"
    return Finding.about(
        "secret-not-mountable",
        pod,
        ref.line,
        f"{_reference(ref)}, which service account {account.name} does not list in its secrets "
        f"({_enforced_by(account)})",
        _rejected(pod, refusal)
        + f" Add `- name: {ref.name}` to the `secrets` of service account {account.name} "
        f"({account.where}), run the pod as an account that lists it, or drop the "
        f"{ENFORCE_MOUNTABLE_SECRETS} annotation. `optional: true` does not exempt a reference.",
        container=ref.container,
    )


def _not_mountable_pull(
    pod: PodSpec, name: str, line: int, account: ServiceAccountEntry
) -> Finding:
    what = (
        f"imagePullSecrets names secret {name}"
        if name
        else ("imagePullSecrets has an entry without a name")
    )
    refusal = (
        f'imagePullSecrets[…].name="{name}" is not allowed because service account '
        f"{account.name} does not reference that imagePullSecret"
    )
    fix = (
        f" Add `- name: {name}` to the `imagePullSecrets` of service account {account.name} "
        f"({account.where}), or drop it from the pod to use the account's own."
        if name
        else " Remove the empty entry: the pod then gets the account's imagePullSecrets."
    )
    return Finding.about(
        "secret-not-mountable",
        pod,
        line,
        f"{what}, which service account {account.name} does not list in its imagePullSecrets "
        f"({_enforced_by(account)})",
        _rejected(pod, refusal) + fix,
    )
