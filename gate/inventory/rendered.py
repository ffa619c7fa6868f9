"""Secrets and ServiceAccounts the rendered set itself creates, directly or through an operator.

A Secret is often not in the manifests as a `Secret` but as the custom resource an operator turns
into one. Supported (any API version of each group, since the fields below are stable across
them):

- `Secret`, `ServiceAccount` (core): themselves.
- `SealedSecret` (bitnami.com): `metadata.name` in its own namespace; the controller forces both,
  whatever `spec.template.metadata` says. Keys: `encryptedData` and `template.data`.
- `ExternalSecret` (external-secrets.io v1alpha1, v1beta1, v1): `spec.target.name`, default its
  own name; none when `creationPolicy` is `Merge` or `None` (those need the Secret to exist).
- `ClusterExternalSecret` (external-secrets.io): `externalSecretSpec.target.name`, else
  `externalSecretName`, else its own name, in each of `spec.namespaces`; with a namespace
  selector, in any namespace (only the cluster can evaluate a label selector).
- `VaultStaticSecret`, `VaultDynamicSecret`, `VaultPKISecret`, `HCPVaultSecretsApp` and any other
  kind of secrets.hashicorp.com (Vault Secrets Operator): `spec.destination.name`, only with
  `spec.destination.create: true` (otherwise the Secret must exist already).
- `SopsSecret` (isindir.github.com): each `spec.secretTemplates[].name`; a SOPS-encrypted name
  cannot be read, and the finding's hint says so.
- `Certificate` (cert-manager.io): `spec.secretName`; an `Ingress` or `Gateway` annotated for
  cert-manager's ingress-shim: `spec.tls[].secretName` / `listeners[].tls.certificateRefs[]`.
- `SecretProviderClass` (secrets-store.csi.x-k8s.io): each `spec.secretObjects[].secretName`.
- `DopplerSecret` (secrets.doppler.com): `spec.managedSecret.name` in its `namespace`, default
  the DopplerSecret's own.
- `InfisicalSecret` (secrets.infisical.com): `spec.managedSecretReference` and each
  `spec.managedKubeSecretReferences[]` (`secretName` in `secretNamespace`).
- `OnePasswordItem` (onepassword.com): its own name; any object annotated
  `operator.1password.io/item-name`: that name.
- Anything with `spec.writeConnectionSecretToRef` (Crossplane): `name` in `namespace`, default
  the object's own.
- A `Secret` annotated for Emberstack Reflector auto-reflection, or with
  `replicator.v1.mittwald.de/replicate-to`: copies in the listed namespaces (names or regexes;
  Reflector with no list: every namespace).
- A `Job` running kube-webhook-certgen `create` (image `.../kube-webhook-certgen`, as
  ingress-nginx and many charts use it): `--secret-name` in `--namespace` (both required by
  the tool), keys `ca`, `--cert-name` (default `cert`) and `--key-name` (default `key`).

Keys that something writes after creation are unknown, not absent: a
`kubernetes.io/service-account-token` Secret gets `token`, `ca.crt` and `namespace` from the
token controller; a Secret annotated `replicator.v1.mittwald.de/replicate-from` gets the
source's keys added, one annotated `reflector.v1.k8s.emberstack.com/reflects` has its data
replaced by the source's.

Anything else that makes Secrets (a Helm hook Job, a cloud controller) belongs in the config's
`secrets: external:` list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gate.inventory.model import (
    ENFORCE_MOUNTABLE_SECRETS,
    SERVICE_ACCOUNT_TOKEN_TYPE,
    TOKEN_CONTROLLER_KEYS,
    ExternalPattern,
    Inventory,
    SecretEntry,
    ServiceAccountEntry,
    data_keys,
    enforces_mountable_secrets,
    mountable_secret_names,
)
from gate.load import KubeObject, PathKey, get_path
from gate.workload import DEFAULT_NAMESPACE

SOURCE_DESCRIPTION = "the rendered manifests"

_CERT_MANAGER_SHIM_ANNOTATIONS = (
    "cert-manager.io/cluster-issuer",
    "cert-manager.io/issuer",
    "kubernetes.io/tls-acme",
)
_REFLECTOR = "reflector.v1.k8s.emberstack.com/"
_REPLICATE_TO = "replicator.v1.mittwald.de/replicate-to"
_ONEPASSWORD_ITEM_NAME = "operator.1password.io/item-name"
_REPLICATE_FROM = "replicator.v1.mittwald.de/replicate-from"
_REFLECTS = _REFLECTOR + "reflects"
_CERTGEN = "kube-webhook-certgen"
_ESO_NOT_CREATING = {"Merge", "None"}


@dataclass(frozen=True)
class _Made:
    """One Secret an object makes."""

    namespace: str
    name: str
    line: int
    type: str | None = None
    keys: frozenset[str] | None = None


def add_rendered(
    inventory: Inventory, objects: Iterable[KubeObject], default_namespace: str = DEFAULT_NAMESPACE
) -> None:
    """Add every Secret and ServiceAccount the rendered `objects` create."""
    inventory.add_source(SOURCE_DESCRIPTION)
    for obj in objects:
        namespace = obj.namespace or default_namespace
        if not _named(obj.name):
            continue
        kind, group = obj.kind, _group(obj.api_version)
        if kind == "ServiceAccount" and group == "":
            inventory.add_service_account(_service_account(obj, namespace))
            continue
        if kind == "Secret" and group == "":
            _add_secret_object(inventory, obj, namespace)
            continue
        for made in _made_by(obj, namespace, inventory):
            inventory.add_secret(
                SecretEntry(
                    namespace=made.namespace,
                    name=made.name,
                    origin=f"rendered {obj.file}:{made.line}",
                    type=made.type,
                    keys=made.keys,
                    created_by=f"{kind}/{obj.name}",
                    file=obj.file,
                    line=made.line,
                )
            )


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def _named(name: str) -> bool:
    """A `generateName`-only object gets a random name nothing can refer to."""
    return bool(name) and not name.endswith("*")


def _service_account(obj: KubeObject, namespace: str) -> ServiceAccountEntry:
    names: list[str] = []
    lines: list[int] = []
    entries = obj.data.get("imagePullSecrets")
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and entry.get("name"):
            names.append(str(entry["name"]))
            lines.append(obj.line_of(("imagePullSecrets", index, "name")))
    line = obj.line_of(("metadata", "name"))
    enforce = enforces_mountable_secrets(obj.metadata.get("annotations"))
    return ServiceAccountEntry(
        namespace=namespace,
        name=obj.name,
        origin=f"rendered {obj.file}:{line}",
        image_pull_secrets=tuple(names),
        pull_secret_lines=tuple(lines),
        file=obj.file,
        line=line,
        mountable_secrets=mountable_secret_names(obj.data.get("secrets")),
        enforce_mountable_secrets=enforce,
        enforce_line=obj.line_of(("metadata", "annotations", ENFORCE_MOUNTABLE_SECRETS))
        if enforce
        else None,
        # not `annotation_keys`: `kubectl apply` keeps annotations added out of band, so
        # the rendered ones are only some of what the account will have
    )


def _add_secret_object(inventory: Inventory, obj: KubeObject, namespace: str) -> None:
    found = data_keys(obj.data)
    keys = set(found or ())
    line = obj.line_of(("metadata", "name"))
    # A SOPS-encrypted Secret (Flux decrypts it at apply time) has readable key names but
    # ciphertext values: it exists, but its values are no use for pulling images.
    # A plain rendered Secret is exactly what will be applied: its values are what they are,
    # none included (the API server then refuses a pull secret without its key).
    # One that a replicator or the token controller fills holds placeholders, not its values.
    encrypted = "sops" in obj.data
    secret_type = str(obj.data.get("type") or "Opaque")
    filled_by, filled_keys = _filled_later(obj, secret_type)
    inventory.add_secret(
        SecretEntry(
            namespace=namespace,
            name=obj.name,
            origin=f"rendered {obj.file}:{line}",
            type=secret_type,
            keys=None if _annotation(obj, _REFLECTS) else frozenset(keys),
            file=obj.file,
            line=line,
            filled_by=filled_by,
            filled_keys=filled_keys,
        ),
        obj=None if encrypted or filled_by is not None else obj.data,
    )
    _add_replicas(inventory, obj, namespace, keys)


def _annotation(obj: KubeObject, key: str) -> str | None:
    annotations = obj.metadata.get("annotations")
    value = annotations.get(key) if isinstance(annotations, dict) else None
    return str(value) if value not in (None, "") else None


def _filled_later(obj: KubeObject, secret_type: str) -> tuple[str | None, frozenset[str] | None]:
    """What writes keys into this Secret after it is applied, and which keys (None: any)."""
    if secret_type == SERVICE_ACCOUNT_TOKEN_TYPE:
        return "the token controller writes token, ca.crt and namespace", TOKEN_CONTROLLER_KEYS
    source = _annotation(obj, _REPLICATE_FROM)
    if source:
        return (
            f"kubernetes-replicator copies the keys of {source} into it ({_REPLICATE_FROM})",
            None,
        )
    source = _annotation(obj, _REFLECTS)
    if source:
        return f"Reflector replaces its data with that of {source} ({_REFLECTS})", None
    return None, None


def _add_replicas(inventory: Inventory, obj: KubeObject, namespace: str, keys: set[str]) -> None:
    """Copies that Reflector or kubernetes-replicator make of an annotated Secret."""
    annotations = obj.metadata.get("annotations")
    if not isinstance(annotations, dict):
        return
    targets: list[str] | None = None
    tool = ""
    if (
        str(annotations.get(_REFLECTOR + "reflection-allowed", "")).lower() == "true"
        and str(annotations.get(_REFLECTOR + "reflection-auto-enabled", "")).lower() == "true"
    ):
        tool = "Reflector"
        listed = annotations.get(_REFLECTOR + "reflection-auto-namespaces") or annotations.get(
            _REFLECTOR + "reflection-allowed-namespaces"
        )
        targets = _split_list(listed) or [".*"]
    elif annotations.get(_REPLICATE_TO):
        tool = "kubernetes-replicator"
        targets = _split_list(annotations.get(_REPLICATE_TO))
    if not targets:
        return
    line = obj.line_of(("metadata", "annotations"))
    plain = [t for t in targets if _is_plain_name(t)]
    patterns = [t for t in targets if not _is_plain_name(t)]
    for target in plain:
        if target == namespace:
            continue
        inventory.add_secret(
            SecretEntry(
                namespace=target,
                name=obj.name,
                origin=f"rendered {obj.file}:{line}",
                type=str(obj.data.get("type") or "Opaque"),
                keys=frozenset(keys),
                created_by=f"{tool} copy of {namespace}/{obj.name}",
                file=obj.file,
                line=line,
            )
        )
    if patterns:
        inventory.add_external_pattern(
            ExternalPattern(
                pattern=f"*/{obj.name}",
                reason=f"{tool} copies Secret {namespace}/{obj.name} there ({obj.file}:{line})",
                origin=f"rendered {obj.file}:{line}",
                namespace_regexes=tuple(patterns),
            )
        )


def _split_list(value: Any) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _is_plain_name(value: str) -> bool:
    return all(c.isalnum() or c == "-" for c in value)


def _made_by(obj: KubeObject, namespace: str, inventory: Inventory) -> Iterator[_Made]:
    """The Secrets a non-Secret object makes (see the module docstring's table)."""
    kind, group, spec = obj.kind, _group(obj.api_version), obj.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    name_line = obj.line_of(("metadata", "name"))

    if group == "bitnami.com" and kind == "SealedSecret":
        yield _sealed_secret(obj, namespace, spec, name_line)
    elif group == "external-secrets.io" and kind == "ExternalSecret":
        made = _external_secret(obj, spec, ("spec",), obj.name, namespace)
        if made is not None:
            yield made
    elif group == "external-secrets.io" and kind == "ClusterExternalSecret":
        yield from _cluster_external_secret(obj, spec, inventory)
    elif group == "secrets.hashicorp.com":
        destination = spec.get("destination")
        if (
            isinstance(destination, dict)
            and destination.get("create") is True
            and destination.get("name")
        ):
            yield _Made(
                namespace,
                str(destination["name"]),
                obj.line_of(("spec", "destination", "name")),
                _str(destination.get("type")) or "Opaque",
            )
    elif group == "batch" and kind == "Job":
        yield from _certgen(obj, namespace)
    elif group == "isindir.github.com" and kind == "SopsSecret":
        yield from _sops_secret(obj, namespace, spec, inventory)
    elif group == "cert-manager.io" and kind == "Certificate":
        if spec.get("secretName"):
            yield _Made(
                namespace,
                str(spec["secretName"]),
                obj.line_of(("spec", "secretName")),
                "kubernetes.io/tls",
            )
    elif kind == "Ingress" and _shim_annotated(obj):
        yield from _ingress_tls(obj, namespace, spec)
    elif group == "gateway.networking.k8s.io" and kind == "Gateway" and _shim_annotated(obj):
        yield from _gateway_tls(obj, namespace, spec)
    elif group == "secrets-store.csi.x-k8s.io" and kind == "SecretProviderClass":
        yield from _secret_provider_class(obj, namespace, spec)
    elif group == "secrets.doppler.com" and kind == "DopplerSecret":
        managed = spec.get("managedSecret")
        if isinstance(managed, dict) and managed.get("name"):
            yield _Made(
                _str(managed.get("namespace")) or namespace,
                str(managed["name"]),
                obj.line_of(("spec", "managedSecret", "name")),
                _str(managed.get("type")) or "Opaque",
            )
    elif group == "secrets.infisical.com" and kind == "InfisicalSecret":
        yield from _infisical_secret(obj, namespace, spec)
    elif group == "onepassword.com" and kind == "OnePasswordItem":
        yield _Made(namespace, obj.name, name_line, _str(obj.data.get("type")) or "Opaque")

    annotations = obj.metadata.get("annotations")
    if isinstance(annotations, dict) and annotations.get(_ONEPASSWORD_ITEM_NAME):
        yield _Made(
            namespace,
            str(annotations[_ONEPASSWORD_ITEM_NAME]),
            obj.line_of(("metadata", "annotations", _ONEPASSWORD_ITEM_NAME)),
            "Opaque",
        )
    ref = spec.get("writeConnectionSecretToRef")
    if isinstance(ref, dict) and ref.get("name"):
        yield _Made(
            _str(ref.get("namespace")) or namespace,
            str(ref["name"]),
            obj.line_of(("spec", "writeConnectionSecretToRef", "name")),
            "connection.crossplane.io/v1alpha1",
        )


def _sealed_secret(obj: KubeObject, namespace: str, spec: dict[str, Any], line: int) -> _Made:
    template = spec.get("template")
    template = template if isinstance(template, dict) else {}
    keys: frozenset[str] | None = None
    encrypted = spec.get("encryptedData")
    if "data" not in spec:  # the deprecated whole-Secret `data` blob hides its keys
        names = set(encrypted) if isinstance(encrypted, dict) else set()
        extra = template.get("data")
        if isinstance(extra, dict):
            names |= {str(k) for k, v in extra.items() if v is not None}
            names -= {str(k) for k, v in extra.items() if v is None}
        keys = frozenset(str(k) for k in names)
    return _Made(namespace, obj.name, line, _str(template.get("type")) or "Opaque", keys)


def _external_secret(
    obj: KubeObject, spec: dict[str, Any], spec_path: PathKey, default_name: str, namespace: str
) -> _Made | None:
    target = spec.get("target")
    target = target if isinstance(target, dict) else {}
    if str(target.get("creationPolicy") or "Owner") in _ESO_NOT_CREATING:
        return None
    template = target.get("template")
    secret_type = _str(template.get("type")) if isinstance(template, dict) else None
    if target.get("name"):
        return _Made(
            namespace,
            str(target["name"]),
            obj.line_of((*spec_path, "target", "name")),
            secret_type or "Opaque",
        )
    name_line = obj.line_of(("metadata", "name"))
    return _Made(namespace, default_name, name_line, secret_type or "Opaque")


def _cluster_external_secret(
    obj: KubeObject, spec: dict[str, Any], inventory: Inventory
) -> Iterator[_Made]:
    es_spec = spec.get("externalSecretSpec")
    es_spec = es_spec if isinstance(es_spec, dict) else {}
    default_name = _str(spec.get("externalSecretName")) or obj.name
    namespaces = spec.get("namespaces")
    for namespace in namespaces if isinstance(namespaces, list) else []:
        made = _external_secret(
            obj, es_spec, ("spec", "externalSecretSpec"), default_name, str(namespace)
        )
        if made is not None:
            yield made
    if spec.get("namespaceSelector") or spec.get("namespaceSelectors"):
        made = _external_secret(obj, es_spec, ("spec", "externalSecretSpec"), default_name, "*")
        if made is not None:
            inventory.add_external_pattern(
                ExternalPattern(
                    pattern=f"*/{made.name}",
                    reason=f"ClusterExternalSecret {obj.name} ({obj.file}:{made.line}) selects "
                    "its namespaces by label, which only the cluster can evaluate",
                    origin=f"rendered {obj.file}:{made.line}",
                )
            )


def _sops_secret(
    obj: KubeObject, namespace: str, spec: dict[str, Any], inventory: Inventory
) -> Iterator[_Made]:
    templates = spec.get("secretTemplates")
    for index, template in enumerate(templates if isinstance(templates, list) else []):
        if not isinstance(template, dict) or not template.get("name"):
            continue
        name = str(template["name"])
        if name.startswith("ENC["):
            inventory.add_unreadable(
                namespace,
                f"SopsSecret {obj.name} ({obj.file}:{obj.line_of(('metadata', 'name'))}) makes "
                "Secrets whose names are encrypted (sops --encrypted-regex "
                "'^(data|stringData)$' keeps them readable)",
            )
            continue
        keys: set[str] = set()
        for field_name in ("data", "stringData"):
            values = template.get(field_name)
            if isinstance(values, dict):
                keys.update(str(k) for k in values)
        yield _Made(
            namespace,
            name,
            obj.line_of(("spec", "secretTemplates", index, "name")),
            _str(template.get("type")) or "Opaque",
            frozenset(keys),
        )


def _shim_annotated(obj: KubeObject) -> bool:
    annotations = obj.metadata.get("annotations")
    return isinstance(annotations, dict) and any(
        annotations.get(a) for a in _CERT_MANAGER_SHIM_ANNOTATIONS
    )


def _ingress_tls(obj: KubeObject, namespace: str, spec: dict[str, Any]) -> Iterator[_Made]:
    tls = spec.get("tls")
    for index, entry in enumerate(tls if isinstance(tls, list) else []):
        if isinstance(entry, dict) and entry.get("secretName"):
            line = obj.line_of(("spec", "tls", index, "secretName"))
            yield _Made(namespace, str(entry["secretName"]), line, "kubernetes.io/tls")


def _gateway_tls(obj: KubeObject, namespace: str, spec: dict[str, Any]) -> Iterator[_Made]:
    listeners = spec.get("listeners")
    for index, listener in enumerate(listeners if isinstance(listeners, list) else []):
        tls = listener.get("tls") if isinstance(listener, dict) else None
        refs = tls.get("certificateRefs") if isinstance(tls, dict) else None
        for rindex, ref in enumerate(refs if isinstance(refs, list) else []):
            if not isinstance(ref, dict) or not ref.get("name"):
                continue
            if ref.get("kind", "Secret") != "Secret" or ref.get("group", "") not in ("", "core"):
                continue
            path = ("spec", "listeners", index, "tls", "certificateRefs", rindex, "name")
            yield _Made(
                _str(ref.get("namespace")) or namespace,
                str(ref["name"]),
                obj.line_of(path),
                "kubernetes.io/tls",
            )


def _secret_provider_class(
    obj: KubeObject, namespace: str, spec: dict[str, Any]
) -> Iterator[_Made]:
    objects = spec.get("secretObjects")
    for index, entry in enumerate(objects if isinstance(objects, list) else []):
        if not isinstance(entry, dict) or not entry.get("secretName"):
            continue
        data = entry.get("data")
        keys = frozenset(
            str(d["key"])
            for d in (data if isinstance(data, list) else [])
            if isinstance(d, dict) and d.get("key")
        )
        yield _Made(
            namespace,
            str(entry["secretName"]),
            obj.line_of(("spec", "secretObjects", index, "secretName")),
            _str(entry.get("type")) or "Opaque",
            keys,
        )


def _infisical_secret(obj: KubeObject, namespace: str, spec: dict[str, Any]) -> Iterator[_Made]:
    refs: list[tuple[PathKey, Any]] = [
        (("spec", "managedSecretReference"), spec.get("managedSecretReference"))
    ]
    many = spec.get("managedKubeSecretReferences")
    for index, ref in enumerate(many if isinstance(many, list) else []):
        refs.append((("spec", "managedKubeSecretReferences", index), ref))
    for path, ref in refs:
        if isinstance(ref, dict) and ref.get("secretName"):
            yield _Made(
                _str(ref.get("secretNamespace")) or namespace,
                str(ref["secretName"]),
                obj.line_of((*path, "secretName")),
                _str(ref.get("secretType")) or "Opaque",
            )


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _certgen(obj: KubeObject, namespace: str) -> Iterator[_Made]:
    """The Secret a kube-webhook-certgen `create` container of a Job writes.

    From the tool's source (images/kube-webhook-certgen/rootfs/cmd/create.go and pkg/k8s/k8s.go
    in kubernetes/ingress-nginx; cmd/create.go in jet/kube-webhook-certgen): `--host`,
    `--secret-name` and `--namespace` are required flags (no default namespace: without one the
    command fails and writes nothing), and `SaveCertsToSecret` writes `ca`, the `--cert-name`
    key (default `cert`) and the `--key-name` key (default `key`). Values may use the kubelet's
    `$(VAR)` expansion of the container's env (ingress-nginx passes `$(POD_NAMESPACE)`, a
    `metadata.namespace` field reference); a reference that cannot be resolved here makes the
    Secret's name or namespace unknown, so nothing is counted.
    """
    spec_path: PathKey = ("spec", "template", "spec")
    for container_field in ("initContainers", "containers"):
        entries = get_path(obj.data, (*spec_path, container_field))
        for index, container in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(container, dict) and _is_certgen(container.get("image")):
                made = _certgen_create(
                    obj, namespace, container, (*spec_path, container_field, index)
                )
                if made is not None:
                    yield made


def _is_certgen(image: Any) -> bool:
    if not isinstance(image, str):
        return False
    repository = image.partition("@")[0].rsplit("/", 1)[-1].partition(":")[0]
    return repository == _CERTGEN


def _certgen_create(
    obj: KubeObject, namespace: str, container: dict[str, Any], cpath: PathKey
) -> _Made | None:
    tokens: list[tuple[str, PathKey]] = []
    command, args = container.get("command"), container.get("args")
    for value in (command, args):
        if isinstance(value, list) and not all(isinstance(t, str) for t in value):
            return None  # `[]string`: the API server refuses the Job, which then makes nothing
    if isinstance(command, list) and command:
        if str(command[0]).rsplit("/", 1)[-1] != _CERTGEN:
            return None  # a shell or wrapper: its arguments cannot be read here
        tokens += [(str(t), (*cpath, "command", i)) for i, t in enumerate(command) if i > 0]
    if isinstance(args, list):
        tokens += [(str(t), (*cpath, "args", i)) for i, t in enumerate(args)]
    subcommand, flags = _cobra_args(tokens)
    if subcommand != "create":
        return None
    env = _literal_env(container.get("env"), namespace)
    values: dict[str, str] = {}
    for flag in ("secret-name", "namespace", "cert-name", "key-name", "secret-type"):
        if flag in flags:
            expanded = _expand(flags[flag][0], env)
            if expanded is None:
                return None
            values[flag] = expanded
    if not values.get("secret-name") or not values.get("namespace"):
        return None
    keys = frozenset({"ca", values.get("cert-name") or "cert", values.get("key-name") or "key"})
    return _Made(
        values["namespace"],
        values["secret-name"],
        obj.line_of(flags["secret-name"][1]),
        values.get("secret-type") or "Opaque",
        keys,
    )


def _cobra_args(
    tokens: list[tuple[str, PathKey]],
) -> tuple[str | None, dict[str, tuple[str, PathKey]]]:
    """The subcommand and the last value of each `--flag=value` / `--flag value` (every flag
    of certgen's `create` takes a string, so a bare `--flag` takes the next argument)."""
    subcommand: str | None = None
    flags: dict[str, tuple[str, PathKey]] = {}
    index = 0
    while index < len(tokens):
        token, path = tokens[index]
        index += 1
        if token == "--":
            break
        if token.startswith("--"):
            name, equals, value = token[2:].partition("=")
            if not equals:
                if index >= len(tokens):
                    break
                value, path = tokens[index]
                index += 1
            flags[name] = (value, path)
        elif not token.startswith("-") and subcommand is None:
            subcommand = token
    return subcommand, flags


def _literal_env(env: Any, namespace: str) -> dict[str, str | None]:
    """A container's env as `$(VAR)` expansion sees it: literal values, `metadata.namespace`
    field references (the pod's namespace); None for values only the node knows."""
    found: dict[str, str | None] = {}
    for var in env if isinstance(env, list) else []:
        if not isinstance(var, dict) or not var.get("name"):
            continue
        name = str(var["name"])
        if "valueFrom" in var:
            field_path = get_path(var, ("valueFrom", "fieldRef", "fieldPath"))
            found[name] = namespace if field_path == "metadata.namespace" else None
        else:
            value = var.get("value")
            found[name] = _expand("" if value is None else str(value), found)
    return found


def _expand(text: str, env: dict[str, str | None]) -> str | None:
    """The kubelet's `$(VAR)` expansion (third_party/forked/golang/expansion): `$$` is a `$`,
    an undefined `$(VAR)` stays as written. None when a value is not known here, or when the
    text keeps an unexpanded reference (the tool would then use it literally, a name no
    Secret can have)."""
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "$" and index + 1 < len(text):
            following = text[index + 1]
            if following == "$":
                out.append("$")
                index += 2
                continue
            if following == "(":
                close = text.find(")", index + 2)
                if close != -1:
                    name = text[index + 2 : close]
                    if name not in env or env[name] is None:
                        return None
                    out.append(str(env[name]))
                    index = close + 1
                    continue
        out.append(char)
        index += 1
    return "".join(out)
