"""The `.pullgate.yaml` entries a report offers to paste, with the finding's names filled in.

A hint that says "declare it in .pullgate.yaml" teaches more when it shows the exact entry. Each
entry is one list item under a path of keys, so a hint can show it on one line and a report that
gathers several (the text report's closing digest, the step summary) can merge them into one
block: YAML takes each key once, so two pasted `secrets:` blocks would be a duplicate key.

Only what the finding names is filled in; what only the user knows (a reason, a mirror's URL) is
a `<…>` placeholder the config refuses until it is replaced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gate.display import shown
from gate.workload import validate_namespace

REASON = "<why it is accepted>"
"""The placeholder of an ignore entry's reason: only the user can say why."""
CREATOR = "<who creates it>"
"""The placeholder of an external Secret's reason."""
_PLACEHOLDERS = {REASON, CREATOR, "<reason>"}
"""The reasons the gate prints for the user to replace (`<reason>`: the ignore annotation's)."""


def unfilled(text: str) -> bool:
    """Whether a reason is still a placeholder the gate printed: pasted unread, it would
    accept a finding (or a Secret) with nobody having said why, so it counts as none. Only
    those: `<OPS-12>` or `<https://…>` is a reason someone wrote."""
    return " ".join(text.split()).lower() in _PLACEHOLDERS


@dataclass(frozen=True)
class ConfigEntry:
    """One list item of `.pullgate.yaml`, in flow style, and the keys its list sits under."""

    section: tuple[str, ...]
    """`("secrets", "external")`, `("registries", "docker.io", "mirrors")`, ..."""
    item: str

    @property
    def top(self) -> str:
        return self.section[0]

    def inline(self) -> str:
        """The entry as one line of YAML: `secrets: {external: [{name: …, reason: …}]}`."""
        text = f"[{self.item}]"
        for key in reversed(self.section[1:]):
            text = f"{{{_key(key)}: {text}}}"
        return f"{_key(self.top)}: {text}"


def block(entries: Iterable[ConfigEntry]) -> list[str]:
    """The entries as one YAML block, merged under their shared keys, each item once, in the
    order first seen."""
    tree: dict[str, Any] = {}  # a key's value: the keys under it, or the list of items
    for entry in entries:
        node = tree
        for key in entry.section[:-1]:
            node = node.setdefault(key, {})
        items = node.setdefault(entry.section[-1], [])
        if entry.item not in items:
            items.append(entry.item)
    lines: list[str] = []
    _emit(tree, "", lines)
    return lines


def _emit(tree: dict[str, Any], pad: str, lines: list[str]) -> None:
    for key, child in tree.items():
        lines.append(f"{pad}{_key(key)}:")
        if isinstance(child, list):
            lines.extend(f"{pad}  - {item}" for item in child)
        else:
            _emit(child, pad + "  ", lines)


_PLAIN_KEY = re.compile(r"^[a-z][a-z0-9.-]*$")
"""Keys written bare; any other (a registry host) is quoted, so `127.0.0.1:5000` stays a string."""


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) else json.dumps(key)


def _quoted(value: str) -> str:
    """A double-quoted YAML scalar (JSON's escapes are YAML's): `yes` and `123` stay strings."""
    return json.dumps(value, ensure_ascii=False)


_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
"""Identifiers YAML 1.1 reads as a boolean or null."""


def _bare(value: str) -> str:
    """An identifier (a kind) as it is, quoted only where YAML would read it otherwise."""
    return value if _IDENTIFIER.match(value) and value.lower() not in _WORDS else _quoted(value)


_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
"""A DNS-1123 subdomain, as the API server requires of a Secret's name."""
_GLOB = re.compile(r"[*?\[\]]")


def external_secret(namespace: str, name: str) -> ConfigEntry | None:
    """`secrets: external:`, declaring the Secret `namespace/name` as made outside the
    manifests. None for names no Secret can have (a `/`, a glob character, upper case): no
    pattern would declare exactly that one, and the API server would refuse the reference
    anyway."""
    try:
        validate_namespace(namespace)
    except ValueError:
        return None
    if len(name) > 253 or not _SECRET_NAME.match(name):
        return None
    item = f'{{name: {_quoted(f"{namespace}/{name}")}, reason: "{CREATOR}"}}'
    return ConfigEntry(("secrets", "external"), item)


def node_registry(domain: str) -> ConfigEntry:
    """`nodes: registries:`, declaring that the nodes pull from `domain` by their own means
    (an instance role, a credential the kubelet holds that CI cannot see)."""
    return ConfigEntry(("nodes", "registries"), _quoted(domain))


def mirror(registry: str) -> ConfigEntry:
    """`registries: <registry>: mirrors:`, the pull-through mirror the nodes use (its URL is
    the user's to fill in; the config refuses the placeholder)."""
    return ConfigEntry(("registries", registry, "mirrors"), '"https://<mirror host>"')


def ignore(
    rule: str, kind: str | None, namespace: str | None, name: str | None, image: str | None = None
) -> ConfigEntry | None:
    """`ignore:`, accepting `rule` for this one object (and image): as tight as the finding, so
    it accepts nothing else (a glob character, such as an IPv6 registry's brackets, is written
    as the one-character class that matches just itself). None for a name a report escapes or
    cuts (`gate.display`): the ignore is matched against the name as the finding shows it, so
    an entry with the raw name would accept nothing."""
    fields = {"kind": kind, "namespace": namespace, "name": name, "image": image}
    if any(value is not None and shown(value) != value for value in fields.values()):
        return None
    scoped = "".join(
        f", {key}: {(_bare if key == 'kind' else _quoted)(_literal_glob(value))}"
        for key, value in fields.items()
        if value
    )
    return ConfigEntry(("ignore",), f'{{rule: {rule}{scoped}, reason: "{REASON}"}}')


def _literal_glob(value: str) -> str:
    """`value` as an fnmatch pattern that matches only itself: `[::1]` is `[[]::1[]]`."""
    return _GLOB.sub(lambda match: f"[{match.group()}]", value)
