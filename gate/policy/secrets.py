"""Secret rules: every Secret and ServiceAccount a pod refers to exists in the pod's namespace.

Each missing reference is one finding at its own line (the secret's name, or the
`serviceAccountName` value). Where the name exists in another namespace the message says so:
Secrets and ServiceAccounts are namespace-scoped, and putting one in the wrong namespace is the
usual mistake. Messages say what is missing in plain words; hints say what the pod would have
shown and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable

from gate.extract import PodSpec, SecretRef
from gate.inventory import DEFAULT_SERVICE_ACCOUNT, Inventory
from gate.model import Finding


def secret_findings(pods: Iterable[PodSpec], inventory: Inventory) -> list[Finding]:
    """`pull-secret-missing`, `secret-ref-missing` and `service-account-missing` findings."""
    findings: dict[tuple[object, ...], Finding] = {}

    def add(finding: Finding, subject: str) -> None:
        key = (finding.rule, finding.file, finding.line, finding.namespace, subject, finding.name)
        findings.setdefault(key, finding)

    for pod in pods:
        namespace = pod.object.namespace
        for name, line in pod.image_pull_secrets:
            if not inventory.secret_exists(namespace, name):
                add(_pull_secret_missing(pod, name, line, inventory), name)
        for ref in pod.secret_refs:
            if ref.optional:
                continue
            if not inventory.secret_exists(namespace, ref.name):
                add(_secret_ref_missing(pod, ref, inventory), ref.name)
                continue
            keys = inventory.secret_keys(namespace, ref.name)
            if ref.key is not None and keys is not None and ref.key not in keys:
                add(_secret_key_missing(pod, ref, keys, inventory), f"{ref.name}/{ref.key}")
        account = pod.service_account
        if account and not inventory.service_account_exists(namespace, account):
            add(_service_account_missing(pod, account, inventory), account)
        for finding, subject in _inherited_pull_secrets_missing(pod, inventory):
            add(finding, subject)
    return list(findings.values())


def _elsewhere(names: list[str], namespace: str, what: str) -> str:
    """` (it exists in namespace default; secrets are namespace-scoped)`, or nothing."""
    others = [ns for ns in names if ns != namespace]
    if not others:
        return ""
    where = f"namespace {others[0]}" if len(others) == 1 else f"namespaces {', '.join(others)}"
    return f" (it exists in {where}; {what} are namespace-scoped)"


def _looked_in(inventory: Inventory, namespace: str) -> str:
    """Where pullgate looked, and how to show it a Secret made elsewhere."""
    sources = ", ".join(inventory.searched) or "nothing"
    text = f" pullgate looked in: {sources}."
    if not any(s.startswith("cluster") for s in inventory.searched):
        text += (
            " If the secret is created outside these manifests, pass `--cluster-state` or "
            "`--cluster`, or declare it under `secrets: external:` in .pullgate.yaml."
        )
    for unreadable in inventory.unreadable_in(namespace):
        text += f" Note: {unreadable.description}."
    return text


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
        f"-n {namespace} ...`), or correct the name." + _looked_in(inventory, namespace),
    )


def _reference(ref: SecretRef) -> str:
    if ref.via == "env":
        key = f" (key {ref.key})" if ref.key else ""
        return f"container {ref.container} reads an env var from secret {ref.name}{key}"
    if ref.via == "envFrom":
        return f"container {ref.container} loads its environment from secret {ref.name}"
    kind = "projected volume" if ref.via == "projected" else "volume"
    volume = f" {ref.volume}" if ref.volume else ""
    return f"{kind}{volume} mounts secret {ref.name}"


def _symptom(ref: SecretRef) -> str:
    if ref.via in ("env", "envFrom"):
        return (
            f"The container would not start: CreateContainerConfigError, "
            f'`secret "{ref.name}" not found`.'
        )
    volume = ref.volume or "…"
    return (
        "The pod would hang in ContainerCreating: `MountVolume.SetUp failed for volume "
        f'"{volume}" : secret "{ref.name}" not found`.'
    )


def _secret_ref_missing(pod: PodSpec, ref: SecretRef, inventory: Inventory) -> Finding:
    namespace = pod.object.namespace
    elsewhere = _elsewhere(inventory.secret_namespaces(ref.name), namespace, "secrets")
    return Finding.about(
        "secret-ref-missing",
        pod,
        ref.line,
        f"{_reference(ref)}, which does not exist in namespace {namespace}{elsewhere}",
        _symptom(ref)
        + f" Create the secret in namespace {namespace}, correct the name, or mark the "
        "reference `optional: true` if the pod can run without it."
        + _looked_in(inventory, namespace),
        container=ref.container,
    )


def _secret_key_missing(
    pod: PodSpec, ref: SecretRef, keys: frozenset[str], inventory: Inventory
) -> Finding:
    namespace = pod.object.namespace
    entry = inventory.secret(namespace, ref.name)
    seen = f" ({entry.origin})" if entry is not None else ""
    has = ", ".join(sorted(keys)) if keys else "no keys at all"
    return Finding.about(
        "secret-ref-missing",
        pod,
        ref.line,
        f"container {ref.container} reads key {ref.key} of secret {ref.name}, which has no such "
        f"key in namespace {namespace}{seen}; it has: {has}",
        "The container would not start: CreateContainerConfigError, `couldn't find key "
        f"{ref.key} in Secret {namespace}/{ref.name}`. Correct the key, add it to the secret, "
        "or mark the reference `optional: true`.",
        container=ref.container,
    )


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
    )


def _inherited_pull_secrets_missing(
    pod: PodSpec, inventory: Inventory
) -> list[tuple[Finding, str]]:
    """Pull secrets a pod inherits from its ServiceAccount that do not exist.

    The admission plugin copies the account's `imagePullSecrets` onto a pod that has none, so a
    missing one fails the pull just the same. A finding sits on the account's own line when the
    account is in the rendered set (once for all its pods), else on the pod's account line.
    """
    if pod.image_pull_secrets:
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
            + _looked_in(inventory, namespace)
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
            )
        else:
            line = pod.service_account_line or pod.object.line
            finding = Finding.about("pull-secret-missing", pod, line, message, hint)
        results.append((finding, name))
    return results
