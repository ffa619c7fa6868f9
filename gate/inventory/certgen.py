"""The Secret a kube-webhook-certgen `create` Job writes, read from its arguments and env.

ingress-nginx and many charts run the tool (image `.../kube-webhook-certgen`) in a Job to make
an admission webhook's TLS Secret.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gate.inventory.made import MadeSecret
from gate.load import KubeObject, PathKey, get_path

_CERTGEN = "kube-webhook-certgen"


def certgen_secrets(obj: KubeObject, namespace: str) -> Iterator[MadeSecret]:
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
) -> MadeSecret | None:
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
    return MadeSecret(
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
