"""The `.pullgate.yaml` entries reports offer: one line in a hint, one merged block in a digest,
and either way what the config loader reads back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from gate import config_entries
from gate.config import ConfigError, load_config
from gate.config_entries import ConfigEntry, block
from gate.display import TEXT_LIMIT
from gate.extract import extract
from gate.load import load_text
from gate.model import Finding, Outcome, Resolution
from gate.policy import image_uses
from gate.policy.images import resolution_findings
from gate.policy.suppress import _matches
from tests.support.cli import filled


def _entries() -> list[ConfigEntry]:
    made = [
        config_entries.external_secret("kong", "license"),
        config_entries.node_registry("registry.example.com:5000"),
        config_entries.external_secret("123", "yes"),
        config_entries.ignore("image-latest-tag", "Deployment", "yes", "web", "docker.io/x:latest"),
        config_entries.node_registry("registry.example.com:5000"),  # twice: once in the block
    ]
    return [entry for entry in made if entry is not None]


def test_inline_and_block_say_the_same_to_yaml() -> None:
    entries = _entries()
    merged: dict[str, object] = {}
    for entry in entries:
        one = yaml.safe_load(entry.inline())
        node, keys = merged, entry.section
        for key in keys[:-1]:
            node = node.setdefault(key, {})  # type: ignore[assignment]
            one = one[key]
        items = node.setdefault(keys[-1], [])  # type: ignore[attr-defined]
        items.extend(item for item in one[keys[-1]] if item not in items)
    assert yaml.safe_load("\n".join(block(entries))) == merged
    assert merged["secrets"] == {
        "external": [
            {"name": "kong/license", "reason": "<who creates it>"},
            {"name": "123/yes", "reason": "<who creates it>"},  # strings, not a number or a bool
        ]
    }
    assert merged["nodes"] == {"registries": ["registry.example.com:5000"]}
    assert merged["ignore"] == [
        {
            "rule": "image-latest-tag",
            "kind": "Deployment",
            "namespace": "yes",
            "name": "web",
            "image": "docker.io/x:latest",
            "reason": "<why it is accepted>",
        }
    ]


def test_the_block_loads_as_the_config_it_means(tmp_path: Path) -> None:
    """With its reasons written it loads as what it says; pasted with a placeholder left,
    the config is refused at that reason."""
    path = tmp_path / ".pullgate.yaml"
    text = "\n".join(block(_entries())) + "\n"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r":3: secrets\.external\.0\.reason: is still the"):
        load_config(path)
    path.write_text(filled(text))
    config = load_config(path)
    assert [p.pattern for p in config.external_secrets] == ["kong/license", "123/yes"]
    assert config.nodes.registries == ("registry.example.com:5000",)
    [ignore] = config.ignore
    assert (ignore.rule, ignore.kind, ignore.namespace, ignore.name) == (
        "image-latest-tag",
        "Deployment",
        "yes",
        "web",
    )


def test_a_mirror_block_keeps_the_host_a_string_and_its_placeholder_is_refused(
    tmp_path: Path,
) -> None:
    entries = [config_entries.mirror("127.0.0.1:5000"), config_entries.mirror("docker.io")]
    lines = block(entries)
    assert lines == [
        "registries:",
        '  "127.0.0.1:5000":',
        "    mirrors:",
        '      - "https://<mirror host>"',
        "  docker.io:",
        "    mirrors:",
        '      - "https://<mirror host>"',
    ]
    path = tmp_path / ".pullgate.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="placeholder"):
        load_config(path)
    path.write_text("\n".join(lines).replace("<mirror host>", "mirror.example.com") + "\n")
    assert load_config(path).registries["docker.io"].mirrors == ("https://mirror.example.com",)


@pytest.mark.parametrize(
    ("namespace", "name"),
    [("kong", "Upper"), ("kong", "a/b"), ("kong", "glob*"), ("Bad_NS", "x"), ("kong", "")],
)
def test_no_external_entry_for_a_name_no_secret_can_have(namespace: str, name: str) -> None:
    assert config_entries.external_secret(namespace, name) is None


@pytest.mark.parametrize(
    ("kind", "name", "image", "other"),
    [
        ("Pod", "we*b", None, {"name": "weeb"}),
        ("Pod", "w?b", None, {"name": "wab"}),
        ("Pod", "web", "[::1]:5000/app:latest", {"image": "[::2]:5000/app:latest"}),
        ("Pod", "web", "r/[x]:1", {"image": "r/x:1"}),
        ("Ki*nd", "web", None, {"kind": "Kind"}),
    ],
)
def test_an_ignore_entry_with_glob_characters_accepts_just_its_finding(
    tmp_path: Path, kind: str, name: str, image: str | None, other: dict[str, str]
) -> None:
    """Ignore entries are fnmatch globs (gate.policy.suppress): a name or image holding `*`,
    `?` or brackets (an IPv6 registry) is written so that it matches itself and nothing
    else."""
    entry = config_entries.ignore("image-latest-tag", kind, "ns", name, image)
    assert entry is not None
    path = tmp_path / ".pullgate.yaml"
    path.write_text(filled(entry.inline()) + "\n")
    [rule] = load_config(path).ignore
    fields = {"kind": kind, "name": name, "image": image}
    finding = Finding.at("image-latest-tag", "m.yaml", 1, "m", "h", namespace="ns", **fields)
    assert _matches(rule, finding)
    assert not _matches(rule, replace(finding, **other))


def test_an_ignore_entry_keeps_kinds_that_yaml_reads_as_words() -> None:
    kinds = [config_entries.ignore("image-no-tag", kind, "ns", "n") for kind in ("Yes", "Pod")]
    assert [yaml.safe_load(e.inline())["ignore"][0]["kind"] for e in kinds if e] == ["Yes", "Pod"]


@pytest.mark.parametrize("name", ["we\u200eb", "a\x85b", "w" * 1100])
def test_no_ignore_entry_for_a_name_the_report_escapes_or_cuts(name: str) -> None:
    """Suppression matches the name as the finding shows it (escaped and capped by
    gate.display): an entry spelling the raw name would load and accept nothing."""
    assert config_entries.ignore("image-latest-tag", "Pod", "ns", name) is None
    assert config_entries.ignore("image-latest-tag", "Pod", name, "web") is None


def test_a_hint_cut_to_the_cap_still_ends_with_its_entry() -> None:
    """Sixteen long pull-secret names make the unauthorized hint longer than any report
    shows; the cut falls before the entry, not through it."""
    loaded = load_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: prod}\n"
        "spec: {containers: [{name: c, image: registry.example.com/team/app:1.0}]}\n",
        "m.yaml",
    )
    [use] = image_uses(extract(loaded.objects))
    names = tuple(f"pull-secret-{i:02d}-" + "x" * 230 for i in range(16))
    refused = Resolution(use.reference, Outcome.UNAUTHORIZED, detail="401 Unauthorized")
    [finding] = resolution_findings([replace(use, unmatched_secrets=names, resolution=refused)])
    assert finding.entry is not None
    assert len(finding.hint) <= TEXT_LIMIT and "more characters" in finding.hint
    assert finding.hint.endswith(f"`{finding.entry.inline()}`.")
    assert finding.hint.startswith("The pod would show ErrImagePull")


def test_only_the_placeholders_the_gate_prints_count_as_no_reason(tmp_path: Path) -> None:
    """`<why it is accepted>` pasted unread is refused (in any case or spacing); a reason a
    person wrote in brackets is a reason."""
    printed = ["<why it is accepted>", " <Who creates  it> ", "<reason>"]
    assert all(config_entries.unfilled(text) for text in printed)
    written = ["<OPS-12>", "<https://jira.example.com/browse/OPS-12>", "vendor chart"]
    assert not any(config_entries.unfilled(text) for text in written)
    path = tmp_path / ".pullgate.yaml"
    path.write_text("ignore:\n  - {rule: image-latest-tag, reason: '<OPS-12>'}\n")
    assert [rule.reason for rule in load_config(path).ignore] == ["<OPS-12>"]
