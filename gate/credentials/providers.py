"""The kubelet's image credential provider plugins, run by the exec protocol as the kubelet does.

A node started with `--image-credential-provider-config FILE` and
`--image-credential-provider-bin-dir DIR` asks a plugin (`DIR/<name>`, such as
`ecr-credential-provider`) for a login before every pull whose image matches the plugin's
`matchImages`. Replaying that in CI is the only way to prove such a pull: this module follows
`pkg/credentialprovider/plugin/` of kubernetes/kubernetes (`plugin.go` at 01302639f593,
`config.go` and the internal API types at fde22c3f9aac, `plugins.go`).

Reading the config (`load_provider_config`, after `RegisterCredentialProviderPlugins`,
`readCredentialProviderConfig`, `decode`, `validateCredentialProviderConfig`): the bin dir must
exist; the file (YAML or JSON; or a directory of `*.json`/`*.yaml`/`*.yml` files, merged in name
order, as the newest kubelet reads it) is a `CredentialProviderConfig` of
`kubelet.config.k8s.io/v1`, `v1beta1` or `v1alpha1`, decoded strictly as the kubelet's codec
does (unknown or duplicate fields and values of the wrong type are errors; field names are
case-sensitive); it is then validated; and every provider's binary must be an executable file.
Any of these failing stops the kubelet, so here it is a `ProviderConfigError` (the CLI exits 2):
a gate cannot model a node that would not start.

Running a plugin (`execPlugin.ExecPlugin`): `DIR/<name> args...`, without a shell, with this
process's environment plus the provider's `env` (which wins), the `CredentialProviderRequest` JSON
on stdin, a `CredentialProviderResponse` of the same apiVersion expected on stdout. Unlike the
kubelet, the plugin runs in its own process group, killed as a whole on timeout (the kubelet kills
only the plugin, and then waits for any child still holding its stdout), and nothing it printed is
ever logged: the kubelet puts the plugin's stderr in its error, which may hold a secret.

Caching (`pluginProvider.provide`, `getCachedCredentials`): as the kubelet does, per image, per
registry or globally as the response's `cacheKeyType` says, for its `cacheDuration` or else the
provider's `defaultCacheDuration` (zero: not cached). A failure is not cached by the kubelet (the
next pull runs the plugin again); the gate asks for the same image many times in one run, so a
failure is remembered for that image for the rest of the run: a broken plugin runs once per image,
not once per pod.

A provider with `tokenAttributes` (KEP-4412) is run by the kubelet with a service-account token of
the pod, which CI cannot mint: it is never run here (`ProviderSpec.needs_service_account_token`),
so that the caller can say what only it could pull cannot be verified.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NoReturn

import yaml

from gate.credentials import Credential
from gate.credentials.keyring import BadKey, _parse_schemeless, key_matches
from gate.credentials.process import TimedOut, run_program

log = logging.getLogger(__name__)

PROVIDER_SOURCE_PREFIX = "provider:"

CONFIG_KIND = "CredentialProviderConfig"
CONFIG_GROUP = "kubelet.config.k8s.io"
CONFIG_API_VERSIONS = (f"{CONFIG_GROUP}/v1", f"{CONFIG_GROUP}/v1beta1", f"{CONFIG_GROUP}/v1alpha1")
"""The config versions the kubelet's scheme knows (`plugin.go` `init`)."""

PROTOCOL_GROUP = "credentialprovider.kubelet.k8s.io"
PROTOCOL_V1 = f"{PROTOCOL_GROUP}/v1"
PROTOCOL_API_VERSIONS = (PROTOCOL_V1, f"{PROTOCOL_GROUP}/v1beta1", f"{PROTOCOL_GROUP}/v1alpha1")
"""A provider's `apiVersion`: the exec protocol's version (`plugin.go` `apiVersions`)."""
REQUEST_KIND = "CredentialProviderRequest"
RESPONSE_KIND = "CredentialProviderResponse"

CACHE_KEY_TYPES = ("Image", "Registry", "Global")
GLOBAL_CACHE_KEY = "global"
TOKEN_CACHE_TYPES = ("ServiceAccount", "Token")
"""`tokenAttributes.cacheType` values (required since the feature's beta, Kubernetes 1.34)."""

DEFAULT_TIMEOUT = 60.0
"""Seconds a plugin may take: the kubelet's catch-all exec timeout of one minute."""

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
"""The files read from a config directory."""

_MAX_SHOWN = 100

_CONFIG_FIELDS = frozenset({"kind", "apiVersion", "providers"})
_PROVIDER_FIELDS = frozenset(
    {"name", "matchImages", "defaultCacheDuration", "apiVersion", "args", "env"}
)
_PROVIDER_FIELDS_V1 = _PROVIDER_FIELDS | {"tokenAttributes"}
"""Only `kubelet.config.k8s.io/v1` has `tokenAttributes`: in v1beta1/v1alpha1 it is unknown."""
_ENV_FIELDS = frozenset({"name", "value"})
_TOKEN_FIELDS = frozenset(
    {
        "serviceAccountTokenAudience",
        "cacheType",
        "requireServiceAccount",
        "requiredServiceAccountAnnotationKeys",
        "optionalServiceAccountAnnotationKeys",
    }
)
_RESPONSE_FIELDS = frozenset({"kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"})
_AUTH_FIELDS = frozenset({"username", "password"})

_QUALIFIED_NAME = re.compile(r"([a-z0-9]([-a-z0-9_.]*[a-z0-9])?)", re.IGNORECASE)
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def provider_source(name: str) -> str:
    return f"{PROVIDER_SOURCE_PREFIX}{name}"


class ProviderConfigError(Exception):
    """A credential provider config or bin dir the kubelet would refuse to start with.

    The message names the file (and the field or provider), never a value that may be secret
    (an `env` value is never shown).
    """


@dataclass(frozen=True)
class ProviderSpec:
    """One configured provider plugin, validated."""

    name: str
    """The binary's name in the bin dir, and the provider's name in `provider:<name>`."""
    match_images: tuple[str, ...]
    """Image patterns (`URLsMatchStr` globs), as written: they are not normalised like keys."""
    default_cache_duration: float
    """Seconds an answer without `cacheDuration` is cached; 0: not cached."""
    api_version: str
    """The exec protocol's apiVersion, `credentialprovider.kubelet.k8s.io/v1` etc."""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """(name, value) added to the plugin's environment; values may be secrets."""
    needs_service_account_token: bool = False
    """`tokenAttributes` is set: the kubelet sends the pod's service-account token, which CI
    cannot mint, so the plugin is never run here."""
    required_annotation_keys: tuple[str, ...] = ()
    """`tokenAttributes.requiredServiceAccountAnnotationKeys`: the kubelet skips the plugin
    for a pod whose service account lacks one."""


# -- Go durations -------------------------------------------------------------------------------

_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC Greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"([0-9]*)(\.([0-9]*))?([^0-9.]*)")
_MAX_NANOSECONDS = (1 << 63) - 1


def parse_go_duration(text: str) -> int:
    """Go's `time.ParseDuration`, in nanoseconds: a sign, then one or more decimal numbers with
    a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), such as `300ms`, `-1.5h` or `2h45m`; `0` needs
    no unit. `ValueError` otherwise, or past Go's int64 range. Fractions below a nanosecond are
    dropped, as Go truncates them."""
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative = rest[0] == "-"
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    total = 0
    position = 0
    while position < len(rest):
        part = _DURATION_PART.match(rest, position)
        assert part is not None  # every group may be empty
        whole, fraction, unit = part.group(1), part.group(3) or "", part.group(4)
        if not whole and not fraction:  # no digits before the unit (or a sign, a space)
            raise ValueError(f"invalid duration {text!r}")
        if not unit:
            raise ValueError(f"missing unit in duration {text!r}")
        scale = _DURATION_UNITS.get(unit)
        if scale is None:
            raise ValueError(f"unknown unit {unit[:10]!r} in duration {text!r}")
        value = int(whole or "0") * scale
        if fraction:
            value += int(Fraction(int(fraction), 10 ** len(fraction)) * scale)
        total += value
        if total > _MAX_NANOSECONDS + 1:
            raise ValueError(f"invalid duration {text!r} (out of range)")
        position = part.end()
    if negative:
        return -total
    if total > _MAX_NANOSECONDS:
        raise ValueError(f"invalid duration {text!r} (out of range)")
    return total


# -- strict decoding, as the kubelet's codec decodes ---------------------------------------------


class _Duplicate(ValueError):
    pass


class _StrictYAMLLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping, as `YAMLToJSONStrict` does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the constructor will say so
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {_show(str(key))} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _Duplicate(f"key {_show(key)} is written twice")
        document[key] = value
    return document


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _strict_json(text: str) -> Any:
    """JSON as Go reads it: no NaN or Infinity; here also no key twice (the codec is strict)."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)


def _reason(exc: Exception) -> str:
    """An OS error's fixed description (`No such file or directory`), else the error's type."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _show(text: str) -> str:
    """A name or pattern, quoted and bounded, for a message (never used for a secret)."""
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "...")


class _Problems:
    """Everything wrong with one config, collected as the kubelet's field.ErrorList is."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{where}: {problem}")

    def fields(self, obj: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
        for key in obj:
            if key not in allowed:
                self.add(where, f"unknown field {_show(str(key))}")

    def string(self, value: Any, where: str) -> str:
        """A Go `string` field: JSON null leaves it empty; anything but a string is an error."""
        if value is None:
            return ""
        if not isinstance(value, str):
            self.add(where, f"must be a string, not {_kind(value)}")
            return ""
        return value

    def strings(self, value: Any, where: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(where, f"must be a list of strings, not {_kind(value)}")
            return []
        return [self.string(item, f"{where}[{index}]") for index, item in enumerate(value)]

    def mapping(self, value: Any, where: str) -> Mapping[Any, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(where, f"must be an object, not {_kind(value)}")
            return None
        return value

    def boolean(self, value: Any, where: str) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, not {_kind(value)}")
            return None
        return value

    def duration(self, value: Any, where: str) -> int | None:
        """A `*metav1.Duration`: a Go duration string; null is absent."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(where, f"must be a Go duration string such as 12h or 0s, not {_kind(value)}")
            return None
        try:
            return parse_go_duration(value)
        except ValueError as exc:
            self.add(where, str(exc))
            return None


def _kind(value: Any) -> str:
    """What a value is, in JSON's words (never the value itself)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a YAML {type(value).__name__}"


@dataclass
class _TokenAttributes:
    audience: str
    cache_type: str
    require_service_account: bool | None
    required_keys: list[str]
    optional_keys: list[str]


@dataclass
class _Provider:
    """One provider entry as decoded, before validation."""

    where: str
    name: str
    match_images: list[str]
    default_cache_duration: int | None
    api_version: str
    args: list[str]
    env: list[tuple[str, str]]
    token: _TokenAttributes | None


def _decode_config(document: Any, where: str, problems: _Problems) -> list[_Provider]:
    """`decode`: the kind and group checks, then the versioned types, strictly."""
    top = problems.mapping(document, where or "the document")
    if top is None:
        if document is None:
            problems.add(where or "the document", "empty: expected a CredentialProviderConfig")
        return []
    prefix = f"{where} " if where else ""
    api_version = top.get("apiVersion")
    kind = top.get("kind")
    if not isinstance(kind, str) or not kind:
        problems.add(f"{prefix}kind", f"missing: expected kind: {CONFIG_KIND}")
        return []
    if not isinstance(api_version, str) or not api_version:
        problems.add(
            f"{prefix}apiVersion", f"missing: expected one of {', '.join(CONFIG_API_VERSIONS)}"
        )
        return []
    if api_version not in CONFIG_API_VERSIONS:
        problems.add(
            f"{prefix}apiVersion",
            f"{_show(api_version)} is not supported (one of {', '.join(CONFIG_API_VERSIONS)})",
        )
        return []
    if kind != CONFIG_KIND:
        problems.add(f"{prefix}kind", f"{_show(kind)} is not {CONFIG_KIND}")
        return []
    problems.fields(top, _CONFIG_FIELDS, where or "the document")
    allowed = _PROVIDER_FIELDS_V1 if api_version == CONFIG_API_VERSIONS[0] else _PROVIDER_FIELDS
    entries = top.get("providers")
    if entries is None:
        return []
    if not isinstance(entries, list):
        problems.add(f"{prefix}providers", f"must be a list, not {_kind(entries)}")
        return []
    providers: list[_Provider] = []
    for index, entry in enumerate(entries):
        at = f"{prefix}providers[{index}]"
        raw = problems.mapping(entry, at)
        if raw is None:
            raw = {}
        problems.fields(raw, allowed, at)
        providers.append(
            _Provider(
                where=at,
                name=problems.string(raw.get("name"), f"{at}.name"),
                match_images=problems.strings(raw.get("matchImages"), f"{at}.matchImages"),
                default_cache_duration=problems.duration(
                    raw.get("defaultCacheDuration"), f"{at}.defaultCacheDuration"
                ),
                api_version=problems.string(raw.get("apiVersion"), f"{at}.apiVersion"),
                args=problems.strings(raw.get("args"), f"{at}.args"),
                env=_decode_env(raw.get("env"), f"{at}.env", problems),
                token=(
                    _decode_token(raw.get("tokenAttributes"), f"{at}.tokenAttributes", problems)
                    if "tokenAttributes" in allowed
                    else None
                ),
            )
        )
    return providers


def _decode_env(value: Any, where: str, problems: _Problems) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(where, f"must be a list of {{name, value}}, not {_kind(value)}")
        return []
    env: list[tuple[str, str]] = []
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        entry = problems.mapping(item, at) or {}
        problems.fields(entry, _ENV_FIELDS, at)
        name = problems.string(entry.get("name"), f"{at}.name")
        # never echo a value: `string` only names its type
        env.append((name, problems.string(entry.get("value"), f"{at}.value")))
    return env


def _decode_token(value: Any, where: str, problems: _Problems) -> _TokenAttributes | None:
    raw = problems.mapping(value, where)
    if raw is None:
        return None
    problems.fields(raw, _TOKEN_FIELDS, where)
    return _TokenAttributes(
        audience=problems.string(
            raw.get("serviceAccountTokenAudience"), f"{where}.serviceAccountTokenAudience"
        ),
        cache_type=problems.string(raw.get("cacheType"), f"{where}.cacheType"),
        require_service_account=problems.boolean(
            raw.get("requireServiceAccount"), f"{where}.requireServiceAccount"
        ),
        required_keys=problems.strings(
            raw.get("requiredServiceAccountAnnotationKeys"),
            f"{where}.requiredServiceAccountAnnotationKeys",
        ),
        optional_keys=problems.strings(
            raw.get("optionalServiceAccountAnnotationKeys"),
            f"{where}.optionalServiceAccountAnnotationKeys",
        ),
    )


def _validate(providers: list[_Provider], problems: _Problems) -> None:
    """`validateCredentialProviderConfig` (with KubeletServiceAccountTokenForCredentialProviders
    enabled, its default since Kubernetes 1.34)."""
    if not providers:
        problems.add("providers", "at least one provider is required")
    seen: set[str] = set()
    for provider in providers:
        at, name = provider.where, provider.name
        if not name:
            problems.add(f"{at}.name", "required (the plugin binary's name in the bin dir)")
        if "/" in name:
            problems.add(f"{at}.name", f"{_show(name)} must not contain '/'")
        if " " in name:
            problems.add(f"{at}.name", f"{_show(name)} must not contain spaces")
        if name in (".", ".."):
            problems.add(f"{at}.name", f"{_show(name)} is not a provider name")
        if name in seen:
            problems.add(f"{at}.name", f"duplicate provider name {_show(name)}")
        seen.add(name)
        if not provider.api_version:
            problems.add(
                f"{at}.apiVersion", f"required (one of {', '.join(PROTOCOL_API_VERSIONS)})"
            )
        elif provider.api_version not in PROTOCOL_API_VERSIONS:
            problems.add(
                f"{at}.apiVersion",
                f"{_show(provider.api_version)} is not supported "
                f"(one of {', '.join(PROTOCOL_API_VERSIONS)})",
            )
        if not provider.match_images:
            problems.add(f"{at}.matchImages", "at least one image pattern is required")
        for index, pattern in enumerate(provider.match_images):
            try:
                _parse_schemeless(pattern)  # ParseSchemelessURL
            except BadKey as exc:
                problems.add(
                    f"{at}.matchImages[{index}]", f"{_show(pattern)} is not an image pattern: {exc}"
                )
        if provider.default_cache_duration is None:
            problems.add(f"{at}.defaultCacheDuration", "required (a Go duration such as 12h or 0s)")
        elif provider.default_cache_duration < 0:
            problems.add(f"{at}.defaultCacheDuration", "must not be negative")
        if provider.token is not None:
            _validate_token(provider, provider.token, f"{at}.tokenAttributes", problems)


def _validate_token(
    provider: _Provider, token: _TokenAttributes, where: str, problems: _Problems
) -> None:
    if not token.audience:
        problems.add(f"{where}.serviceAccountTokenAudience", "required")
    if token.require_service_account is None:
        problems.add(f"{where}.requireServiceAccount", "required (true or false)")
    if provider.api_version != PROTOCOL_V1:
        problems.add(where, f"only supported with apiVersion {PROTOCOL_V1}")
    if token.require_service_account is False and token.required_keys:
        problems.add(
            f"{where}.requiredServiceAccountAnnotationKeys",
            "requires requireServiceAccount: true",
        )
    for what, keys in (
        ("requiredServiceAccountAnnotationKeys", token.required_keys),
        ("optionalServiceAccountAnnotationKeys", token.optional_keys),
    ):
        seen: set[str] = set()
        for key in keys:
            if not _is_qualified_name(key.lower()):
                problems.add(f"{where}.{what}", f"{_show(key)} is not a valid annotation key")
            if key in seen:
                problems.add(f"{where}.{what}", f"duplicate key {_show(key)}")
            seen.add(key)
    both = sorted(set(token.required_keys) & set(token.optional_keys))
    if both:
        problems.add(where, f"annotation keys both required and optional: {', '.join(both)}")
    if not token.cache_type:
        problems.add(f"{where}.cacheType", f"required (one of {', '.join(TOKEN_CACHE_TYPES)})")
    elif token.cache_type not in TOKEN_CACHE_TYPES:
        problems.add(
            f"{where}.cacheType",
            f"{_show(token.cache_type)} is not one of {', '.join(TOKEN_CACHE_TYPES)}",
        )


def _is_qualified_name(key: str) -> bool:
    """`validation.IsQualifiedName`: `[prefix/]name`, a DNS subdomain prefix, a 63-char name."""
    parts = key.split("/")
    if len(parts) > 2:
        return False
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix or len(prefix) > 253 or _DNS_SUBDOMAIN.fullmatch(prefix) is None:
            return False
    return 0 < len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name) is not None


def _config_files(config_path: str) -> list[str]:
    """`readCredentialProviderConfig`: the file, or a directory's config files in name order."""
    if not config_path:
        raise ProviderConfigError("credential provider config: the path is empty")
    try:
        is_dir = stat.S_ISDIR(os.stat(config_path).st_mode)
    except (OSError, ValueError) as exc:
        reason = "no such file" if isinstance(exc, FileNotFoundError) else _reason(exc)
        raise ProviderConfigError(f"credential provider config {config_path}: {reason}") from None
    if not is_dir:
        return [config_path]
    try:
        with os.scandir(config_path) as entries:
            files = sorted(
                entry.path
                for entry in entries
                if not entry.is_dir(follow_symlinks=False)
                and os.path.splitext(entry.name)[1] in CONFIG_SUFFIXES
            )
    except OSError as exc:
        raise ProviderConfigError(
            f"credential provider config {config_path}: cannot read the directory ({exc.strerror})"
        ) from None
    if not files:
        raise ProviderConfigError(
            f"credential provider config {config_path}: the directory has no "
            f"{', '.join('*' + suffix for suffix in CONFIG_SUFFIXES)} file"
        )
    return files


def _read_document(path: str) -> Any:
    """One config file as data: JSON when it starts with `{` (the codec's recogniser), else
    YAML; `ProviderConfigError` if it does not parse."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ProviderConfigError(
            f"credential provider config {path}: cannot read it ({exc.strerror})"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProviderConfigError(f"credential provider config {path}: not UTF-8 text") from None
    try:
        if text.lstrip().startswith("{"):
            return _strict_json(text)
        return yaml.load(text, Loader=_StrictYAMLLoader)
    except json.JSONDecodeError as exc:
        # `msg` is a fixed description, never the file's text
        problem = f"invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = f"invalid YAML ({exc.problem or exc.context or 'unreadable'}{line})"
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        problem = f"invalid {'JSON' if text.lstrip().startswith('{') else 'YAML'} ({exc})"
    raise ProviderConfigError(f"credential provider config {path}: {problem}")


def _check_binary(bin_dir: str, provider: _Provider, problems: _Problems) -> None:
    """`exec.LookPath(bin-dir/<name>)`: an existing file with an execute bit."""
    program = os.path.join(bin_dir, provider.name)
    try:
        exists = os.path.exists(program)
    except ValueError:  # a NUL in the name
        exists = False
    if not exists:
        problems.add(provider.where, f"the plugin binary {program} does not exist")
    elif os.path.isdir(program) or not os.access(program, os.X_OK):
        problems.add(provider.where, f"the plugin binary {program} is not an executable file")


def load_provider_config(config_path: str, bin_dir: str) -> list[ProviderSpec]:
    """Read and validate as the kubelet's `RegisterCredentialProviderPlugins` does;
    `ProviderConfigError` otherwise.

    The bin dir is checked first, then the config is decoded and validated, then every
    provider's binary is looked up, in the kubelet's order. All problems of one stage are named
    together.
    """
    try:
        os.stat(bin_dir)
    except FileNotFoundError:
        raise ProviderConfigError(
            f"credential provider config {config_path}: the bin dir {bin_dir} does not exist"
        ) from None
    except (OSError, ValueError) as exc:
        raise ProviderConfigError(
            f"credential provider config {config_path}: cannot inspect the bin dir {bin_dir} "
            f"({_reason(exc)})"
        ) from None
    files = _config_files(config_path)
    directory = len(files) > 1 or files[0] != config_path
    problems = _Problems()
    providers: list[_Provider] = []
    for path in files:
        providers += _decode_config(
            _read_document(path), os.path.basename(path) if directory else "", problems
        )
    if not problems.items:
        _validate(providers, problems)
    if not problems.items:
        for provider in providers:
            _check_binary(bin_dir, provider, problems)
    if problems.items:
        raise ProviderConfigError(
            f"credential provider config {config_path}: {'; '.join(problems.items)} "
            "(the kubelet would not start with it)"
        )
    specs = [
        ProviderSpec(
            name=provider.name,
            match_images=tuple(provider.match_images),
            default_cache_duration=(provider.default_cache_duration or 0) / 1e9,
            api_version=provider.api_version,
            args=tuple(provider.args),
            env=tuple(provider.env),
            needs_service_account_token=provider.token is not None,
            required_annotation_keys=tuple(provider.token.required_keys)
            if provider.token is not None
            else (),
        )
        for provider in providers
    ]
    log.debug("credential providers in %s: %s", config_path, ", ".join(spec.name for spec in specs))
    return specs


# -- running plugins -----------------------------------------------------------------------------


class _Failure(Exception):
    """Why a plugin gave no credentials: `kind` groups warnings, `detail` is the sentence."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class _Answer:
    """A decoded CredentialProviderResponse."""

    cache_key_type: str
    cache_duration: float | None
    """Seconds; None when the response has none (the provider's default applies)."""
    auth: tuple[tuple[str, str, str], ...] = field(repr=False)
    """(match key, username, password) in the response's order."""


@dataclass(frozen=True)
class _CacheEntry:
    expires_at: float
    logins: tuple[tuple[str, Credential], ...]


def _go_json(document: Mapping[str, str]) -> bytes:
    """Compact JSON as Go's encoder writes it: HTML characters escaped, a final newline."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return (text + "\n").encode()


def _image_allowed(spec: ProviderSpec, image_name: str) -> bool:
    """`isImageAllowed`: some matchImages pattern matches, by `URLsMatchStr` (patterns are
    parsed as written, without the `/v1/`-stripping of keyring keys)."""
    return any(key_matches(pattern, image_name) for pattern in spec.match_images)


def _registry(image_name: str) -> str:
    """`parseRegistry`: the text before the first `/`."""
    return image_name.split("/", 1)[0]


def _decode_answer(stdout: bytes, spec: ProviderSpec) -> _Answer:
    """`ExecPlugin`'s apiVersion check, then `decodeResponse`, then `provide`'s cacheKeyType
    check. Failures never quote the output: it holds the credentials."""
    not_response = f"the answer is not a {RESPONSE_KIND}"
    try:
        document = _strict_json(stdout.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        raise _Failure("json", "the answer is not JSON") from None
    if not isinstance(document, dict):
        raise _Failure("json", "the answer is not a JSON object")
    api_version = document.get("apiVersion")
    if api_version != spec.api_version:
        shown = f"{api_version}" if api_version in PROTOCOL_API_VERSIONS else "another one"
        raise _Failure(
            "apiVersion",
            f"the answer's apiVersion is {shown}, not the provider's {spec.api_version}",
        )
    if document.get("kind") != RESPONSE_KIND:
        raise _Failure("response", f"{not_response} (its kind is not {RESPONSE_KIND})")
    if any(key not in _RESPONSE_FIELDS for key in document):
        raise _Failure("response", f"{not_response} (it has an unknown field)")
    cache_key_type = document.get("cacheKeyType")
    if cache_key_type is None:
        cache_key_type = ""
    if not isinstance(cache_key_type, str):
        raise _Failure("response", f"{not_response} (cacheKeyType is not a string)")
    cache_duration: float | None = None
    raw_duration = document.get("cacheDuration")
    if raw_duration is not None:
        try:
            if not isinstance(raw_duration, str):
                raise ValueError("not a string")
            cache_duration = parse_go_duration(raw_duration) / 1e9
        except ValueError:
            raise _Failure(
                "response", f"{not_response} (cacheDuration is not a Go duration)"
            ) from None
    auth: list[tuple[str, str, str]] = []
    raw_auth = document.get("auth")
    if raw_auth is not None and not isinstance(raw_auth, dict):
        raise _Failure("response", f"{not_response} (auth is not an object)")
    for key, entry in (raw_auth or {}).items():
        if entry is None:
            entry = {}
        if not isinstance(entry, dict) or any(name not in _AUTH_FIELDS for name in entry):
            raise _Failure(
                "response", f"{not_response} (an auth entry is not {{username, password}})"
            )
        username, password = entry.get("username"), entry.get("password")
        if not isinstance(username, (str, type(None))) or not isinstance(
            password, (str, type(None))
        ):
            raise _Failure(
                "response", f"{not_response} (an auth entry is not {{username, password}})"
            )
        auth.append((key, username or "", password or ""))
    if cache_key_type not in CACHE_KEY_TYPES:
        raise _Failure(
            "cacheKeyType",
            f"the answer's cacheKeyType is not one of {', '.join(CACHE_KEY_TYPES)}",
        )
    return _Answer(cache_key_type, cache_duration, tuple(auth))


class CredentialProviders:
    """The configured plugins, run on demand and cached as the kubelet caches their answers.

    `provide` never raises for a plugin's failure: the kubelet logs it and pulls without that
    provider's credentials, and so does the gate (one warning per provider and kind of failure).
    Not thread-safe: the gate looks credentials up from one thread.
    """

    def __init__(
        self,
        specs: Sequence[ProviderSpec],
        bin_dir: str,
        environ: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._specs = tuple(specs)
        self._bin_dir = bin_dir
        self._environ = dict(os.environ if environ is None else environ)
        self._timeout = timeout
        self._clock = clock
        self._cache: dict[tuple[str, str], _CacheEntry] = {}
        """(provider, cache key) → answer: keys are images, registries and `global` in one
        namespace, as in the kubelet's single store."""
        self._failed: dict[tuple[str, str], str] = {}
        """(provider, image) that failed in this run, and why: not run again (the kubelet
        would retry on the next pull; one gate run is one look)."""
        self._broken: dict[str, str] = {}
        """Providers that could not be run or timed out: not run again in this run, so that a
        hanging plugin costs one timeout, not one per image."""
        self._warned: set[tuple[str, str]] = set()
        self._runs: dict[str, int] = {spec.name: 0 for spec in self._specs}

    @property
    def specs(self) -> tuple[ProviderSpec, ...]:
        """The providers, in config order."""
        return self._specs

    @property
    def runs(self) -> dict[str, int]:
        """How many times each provider was executed."""
        return dict(self._runs)

    def __bool__(self) -> bool:
        return bool(self._specs)

    def matching(self, image_name: str) -> list[ProviderSpec]:
        """The providers whose matchImages match `domain/path`, in config order (the order the
        kubelet adds their answers to one keyring), token providers included."""
        return [spec for spec in self._specs if _image_allowed(spec, image_name)]

    def provide(self, spec: ProviderSpec, image_name: str) -> list[tuple[str, Credential]]:
        """(auth key as the plugin wrote it, `Credential(provider:<name>, username, password)`)
        in the response's order; [] on failure or for a token provider. Never raises for a
        plugin's failure.

        `image_name` is the repository the kubelet pulls, `domain/path` without tag or digest,
        and is what the plugin receives. An image the provider does not match gets [] without
        a run.
        """
        if spec.needs_service_account_token or not _image_allowed(spec, image_name):
            return []
        cached = self._cached(spec, image_name)
        if cached is not None:
            return list(cached)
        if (spec.name, image_name) in self._failed or spec.name in self._broken:
            return []
        try:
            answer = self._run(spec, image_name)
        except _Failure as failure:
            self._failed[(spec.name, image_name)] = failure.detail
            if failure.kind in ("run", "timeout"):
                self._broken[spec.name] = failure.detail
            self._report(spec, image_name, failure)
            return []
        source = provider_source(spec.name)
        logins = tuple(
            (key, Credential(source, username=username or None, password=password or None))
            for key, username, password in answer.auth
        )
        duration = (
            answer.cache_duration
            if answer.cache_duration is not None
            else spec.default_cache_duration
        )
        if duration > 0:  # zero: not cached; negative: already expired when stored
            if answer.cache_key_type == "Image":
                key = image_name
            elif answer.cache_key_type == "Registry":
                key = _registry(image_name)
            else:
                key = GLOBAL_CACHE_KEY
            self._cache[(spec.name, key)] = _CacheEntry(self._clock() + duration, logins)
        return list(logins)

    def failure(self, spec: ProviderSpec, image_name: str) -> str | None:
        """Why `spec` gave no answer for `image_name` in this run (never its output), or None
        when it answered (or was not asked)."""
        return self._failed.get((spec.name, image_name)) or self._broken.get(spec.name)

    def _cached(
        self, spec: ProviderSpec, image_name: str
    ) -> tuple[tuple[str, Credential], ...] | None:
        """`getCachedCredentials`: the image, then its registry, then `global`; an entry is
        live until the clock passes its expiry."""
        now = self._clock()
        for key in (image_name, _registry(image_name), GLOBAL_CACHE_KEY):
            entry = self._cache.get((spec.name, key))
            if entry is None:
                continue
            if now > entry.expires_at:
                del self._cache[(spec.name, key)]
                continue
            return entry.logins
        return None

    def _environment(self, spec: ProviderSpec) -> dict[str, str]:
        env = dict(self._environ)
        env.update(spec.env)  # appended after the host's: the last one wins, as in Go's exec
        return env

    def _run(self, spec: ProviderSpec, image_name: str) -> _Answer:
        """`ExecPlugin`: run the binary once and decode its answer; `_Failure` otherwise."""
        program = os.path.join(self._bin_dir, spec.name)
        request = _go_json(
            {"kind": REQUEST_KIND, "apiVersion": spec.api_version, "image": image_name}
        )
        self._runs[spec.name] = self._runs.get(spec.name, 0) + 1
        log.debug("running credential provider %s for %s", spec.name, image_name)
        try:
            finished = run_program(
                [program, *spec.args], request, self._environment(spec), self._timeout
            )  # stderr is never read: it may hold a secret
        except (OSError, ValueError) as exc:
            raise _Failure("run", f"it could not be run ({_reason(exc)})") from None
        except TimedOut:
            raise _Failure("timeout", f"it did not answer within {self._timeout:g} s") from None
        if finished.returncode < 0:
            raise _Failure("signal", f"it was killed by signal {-finished.returncode}")
        if finished.returncode > 0:
            raise _Failure("exit", f"it failed with exit status {finished.returncode}")
        return _decode_answer(finished.stdout, spec)

    def _report(self, spec: ProviderSpec, image_name: str, failure: _Failure) -> None:
        """One warning per provider and kind of failure; later ones at debug level."""
        first = (spec.name, failure.kind) not in self._warned
        self._warned.add((spec.name, failure.kind))
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "credential provider %s gave no credentials for %s: %s; what only it could pull "
            "cannot be verified here (the plugin's output is not shown: it may hold secrets)",
            spec.name,
            image_name,
            failure.detail,
        )
