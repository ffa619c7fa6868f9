"""The CI report formats (sarif, github, gitlab, junit), each checked by a real validator.

Results come from the real pipeline run offline on manifests written here (latest tag, no
tag, invalid reference, unparsable document); what needs a registry (a missing tag, an
unreachable registry, a resolved digest) is produced by the real policy code from a
hand-made `Resolution`, the only thing not computed.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate import policy
from gate.config import IgnoreRule
from gate.model import CheckResult, Finding, ImageUse, Outcome, Resolution
from gate.pipeline import CheckOptions, run_check
from gate.report import FORMATS, github, gitlab, sarif
from gate.report.render import RenderContext, render
from gate.rules import RULES, Severity
from gate.verdict import Verdict
from tests.support import paths

SCHEMAS = paths.SCHEMAS
DIGEST = "sha256:" + "ab" * 32

# GitLab validates each Code Quality entry with this schema before keeping it (and stops at the
# first invalid one): app/validators/json_schemas/codeclimate.json in gitlab-org/gitlab,
# tightened here to what the Code Quality docs promise (severity values, path and line).
GITLAB_CODEQUALITY_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["description", "check_name", "fingerprint", "severity", "location"],
    "properties": {
        "description": {"type": "string", "minLength": 1},
        "check_name": {"type": "string", "minLength": 1},
        "fingerprint": {"type": "string", "minLength": 1},
        "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
        "location": {
            "type": "object",
            "required": ["path", "lines"],
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "lines": {
                    "type": "object",
                    "required": ["begin"],
                    "properties": {"begin": {"type": "integer", "minimum": 1}},
                },
            },
        },
    },
    "additionalProperties": True,
}


# Manifests


def deployment(name: str, images: list[str], namespace: str = "prod", extra: str = "") -> str:
    containers = "".join(
        f"        - name: c{i}\n          image: {json.dumps(image)}\n"
        for i, image in enumerate(images)
    )
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: {name}\n  namespace: {namespace}\n"
        "spec:\n  template:\n    spec:\n"
        f"{extra}"
        f"      containers:\n{containers}"
    )


DOCKER_CONFIG = base64.b64encode(
    json.dumps({"auths": {"registry.example.com": {"auth": "dXNlcjpwYXNz"}}}).encode()
).decode()

MIXED = "---\n".join(
    [
        deployment("web", ["nginx:latest", "busybox", "Foo/{{ .Values.tag }}", "nginx:1.27"]),
        deployment(
            "api",
            ["registry.example.com/team/api:1.4"],
            namespace="team",
            extra="      imagePullSecrets:\n        - name: regcred\n",
        ),
        # The pull secret exists in the rendered set, so the secret checks find nothing.
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: team\n"
        "type: kubernetes.io/dockerconfigjson\n"
        f"data:\n  .dockerconfigjson: {DOCKER_CONFIG}\n",
        "foo: [unclosed\n",
    ]
)


BROKEN_START = MIXED.splitlines().index("foo: [unclosed") + 1
"""The unparsable document; the parser may place the error there or where it gave up (EOF)."""


def image_line(path: Path, image: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th `image:` line naming `image`."""
    wanted = f"image: {json.dumps(image)}"
    hits = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip() == wanted]
    return hits[occurrence - 1]


def check(*paths: str, **options: Any) -> CheckResult:
    return run_check(CheckOptions(paths=paths, offline=True, **options))


def context_for(result: CheckResult, **kwargs: Any) -> RenderContext:
    fail_on = kwargs.pop("fail_on", "error")
    return RenderContext(verdict=Verdict.of(result.findings, Severity(fail_on)), **kwargs)


def answered(result: CheckResult, image: str, outcome: Outcome, **fields: Any) -> CheckResult:
    """`result` as if the registry had answered `outcome` for `image` (findings re-derived by
    the real policy code)."""
    uses: list[ImageUse] = []
    changed: list[ImageUse] = []
    for use in result.uses:
        if use.container.image == image and use.reference is not None:
            use = replace(use, resolution=Resolution(use.reference, outcome, **fields))
            changed.append(use)
        uses.append(use)
    findings = [*result.findings, *policy.resolution_findings(changed)]
    return replace(result, uses=uses, findings=policy.sort_findings(findings), offline=False)


@pytest.fixture(autouse=True)
def no_ci_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The renderers read CI variables from os.environ; a CI run of these tests must not."""
    for name in ("GITHUB_WORKSPACE", "GITHUB_STEP_SUMMARY", "CI_PROJECT_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from tmp_path, so paths are relative as a CI job gives them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    return tmp_path


@pytest.fixture
def mixed(workdir: Path) -> CheckResult:
    (workdir / "deploy" / "app.yaml").write_text(MIXED)
    return check("deploy/app.yaml")


EMPTY = CheckResult(files=[], objects=0, documents=0, skipped_documents=0, pods=[], uses=[])


# SARIF


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    path = paths.require_shared(SCHEMAS / "sarif-2.1.0.json", "the SARIF schema")
    schema = json.loads(path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def sarif_of(result: CheckResult, context: RenderContext | None = None) -> dict[str, Any]:
    text = render("sarif", result, context or context_for(result))
    log: dict[str, Any] = json.loads(text)
    return log


def test_sarif_is_valid_and_describes_every_rule(
    mixed: CheckResult, sarif_validator: jsonschema.protocols.Validator
) -> None:
    log = sarif_of(mixed)
    sarif_validator.validate(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "pullgate" and driver["version"] and driver["informationUri"]
    assert [r["id"] for r in driver["rules"]] == list(RULES)
    for entry in driver["rules"]:
        rule = RULES[entry["id"]]
        assert entry["shortDescription"]["text"] == rule.title
        assert rule.symptom in entry["fullDescription"]["text"]
        for form in ("text", "markdown"):
            assert rule.symptom in entry["help"][form] and rule.fix in entry["help"][form]
        assert entry["defaultConfiguration"]["level"] == rule.severity.value
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_results_sit_on_the_real_lines(mixed: CheckResult, workdir: Path) -> None:
    results = sarif_of(mixed)["runs"][0]["results"]
    rules = sarif_of(mixed)["runs"][0]["tool"]["driver"]["rules"]
    path = workdir / "deploy" / "app.yaml"
    expected = {
        "image-latest-tag": image_line(path, "nginx:latest"),
        "image-no-tag": image_line(path, "busybox"),
        "image-reference-invalid": image_line(path, "Foo/{{ .Values.tag }}"),
    }
    assert sorted(r["ruleId"] for r in results) == sorted([*expected, "manifest-invalid"])
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        assert result["message"]["text"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": "deploy/app.yaml", "uriBaseId": "%SRCROOT%"}
        line = location["region"]["startLine"]
        if result["ruleId"] == "manifest-invalid":
            assert line in (BROKEN_START, BROKEN_START + 1)
        else:
            assert line == expected[result["ruleId"]] > 1


def test_sarif_absolute_paths_become_file_uris(workdir: Path) -> None:
    target = workdir / "my deploy.yaml"
    target.write_text(deployment("web", ["nginx:latest"]))
    result = check(str(target))
    location = sarif_of(result)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": target.as_uri()}
    assert "%20" in location["artifactLocation"]["uri"]


def test_sarif_carries_registry_findings_and_suppressions(
    workdir: Path, sarif_validator: jsonschema.protocols.Validator
) -> None:
    annotated = deployment("web", ["nginx:latest"]).replace(
        "  namespace: prod\n",
        "  namespace: prod\n  annotations:\n"
        '    pullgate.io/ignore-image-latest-tag: "pinned by the platform team"\n',
    )
    docs = [annotated, deployment("tool", ["busybox:latest"], namespace="tools")]
    docs.append(deployment("api", ["registry.example.com/team/api:1.4"], namespace="team"))
    (workdir / "deploy" / "app.yaml").write_text("---\n".join(docs))
    vendor = IgnoreRule("image-latest-tag", "vendor tool", namespace="tools")
    result = check("deploy/app.yaml", ignores=[vendor])
    result = answered(result, "registry.example.com/team/api:1.4", Outcome.MANIFEST_UNKNOWN)
    log = sarif_of(result)
    sarif_validator.validate(log)
    results = {r["properties"]["name"]: r for r in log["runs"][0]["results"]}
    assert set(results) == {"web", "tool", "api"}
    assert "tag 1.4 does not exist" in results["api"]["message"]["text"]
    assert results["api"]["ruleId"] == "image-tag-not-found"
    assert "suppressions" not in results["api"]
    assert results["web"]["suppressions"] == [
        {"kind": "inSource", "justification": "pinned by the platform team"}
    ]
    assert results["tool"]["suppressions"] == [{"kind": "external", "justification": "vendor tool"}]


def test_sarif_empty_result_has_an_empty_results_array(
    sarif_validator: jsonschema.protocols.Validator,
) -> None:
    log = sarif_of(EMPTY)
    sarif_validator.validate(log)
    assert log["runs"][0]["results"] == []


def test_fingerprints_are_stable_unique_and_ignore_line_moves(workdir: Path) -> None:
    path = workdir / "deploy" / "app.yaml"
    path.write_text(MIXED)
    first = sarif_of(check("deploy/app.yaml"))["runs"][0]["results"]
    again = sarif_of(check("deploy/app.yaml"))["runs"][0]["results"]
    path.write_text("# an unrelated comment\n# and another\n" + MIXED)
    moved = sarif_of(check("deploy/app.yaml"))["runs"][0]["results"]

    def prints(results: list[dict[str, Any]]) -> list[str]:
        return [r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in results]

    assert prints(first) == prints(again) == prints(moved)
    assert len(set(prints(first))) == len(first)
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in moved] == [
        r["locations"][0]["physicalLocation"]["region"]["startLine"] + 2 for r in first
    ]


# GitHub


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command as the runner reads it: name, unescaped properties, unescaped data."""
    match = re.fullmatch(r"::([a-z-]+)(?: ([^:]*))?::(.*)", line)
    assert match, line

    def unescape(text: str, prop: bool) -> str:
        text = text.replace("%0D", "\r").replace("%0A", "\n")
        if prop:
            text = text.replace("%3A", ":").replace("%2C", ",")
        return text.replace("%25", "%")

    props = {}
    for item in (match.group(2) or "").split(","):
        if item:
            key, _, value = item.partition("=")
            props[key] = unescape(value, prop=True)
    return match.group(1), props, unescape(match.group(3), prop=False)


def test_github_escaping_follows_the_runner() -> None:
    assert github.escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert github.escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"
    line = github.command("error", "x:y\n100%", {"file": "a,b:c.yaml", "title": "t%"})
    assert line == "::error file=a%2Cb%3Ac.yaml,title=t%25::x:y%0A100%25"
    assert parse_command(line) == ("error", {"file": "a,b:c.yaml", "title": "t%"}, "x:y\n100%")


def test_github_annotations_point_at_findings(mixed: CheckResult, workdir: Path) -> None:
    out = github.render_with_env(mixed, context_for(mixed), {})
    commands = [parse_command(line) for line in out.splitlines() if line.startswith("::error")]
    path = workdir / "deploy" / "app.yaml"
    by_rule = {props["title"].split(":")[0]: (props, data) for _, props, data in commands}
    assert set(by_rule) == {f.rule for f in mixed.findings}
    props, data = by_rule["image-latest-tag"]
    assert props["file"] == "deploy/app.yaml"
    assert props["line"] == str(image_line(path, "nginx:latest"))
    assert props["title"] == f"image-latest-tag: {RULES['image-latest-tag'].title}"
    assert data.startswith("image nginx:latest uses the tag `latest`")
    assert "Deployment prod/web, container c0" in data
    assert "::notice" not in out


def test_github_annotates_ten_of_each_kind_and_counts_the_rest(workdir: Path) -> None:
    images = ["nginx:latest" for _ in range(13)] + [f"busybox{i}" for i in range(12)]
    (workdir / "deploy" / "many.yaml").write_text(deployment("many", images))
    result = check("deploy/many.yaml", severity={"image-no-tag": Severity.WARNING})
    # Could-not-verify errors on the same lines: the violations outrank them.
    result = answered(result, "nginx:latest", Outcome.UNREACHABLE, detail="dial tcp: timeout")
    unreachable = [f for f in result.findings if f.rule == "image-registry-unreachable"]
    assert len(unreachable) == 13
    out = github.render_with_env(result, context_for(result), {"GITHUB_STEP_SUMMARY": "/x"})
    lines = out.splitlines()
    kinds = [line.split(" ", 1)[0].split("::")[1] for line in lines if re.match(r"::\w+ ", line)]
    assert kinds == ["error"] * 10 + ["warning"] * 10 + ["notice"]
    annotated = [parse_command(line) for line in lines[:10]]
    assert {props["title"].split(":")[0] for _, props, _ in annotated} == {"image-latest-tag"}
    assert [int(p["line"]) for _, p, _ in annotated] == sorted(
        int(p["line"]) for _, p, _ in annotated
    )
    name, _, notice = parse_command(lines[20])
    assert name == "notice"
    assert "16 more errors and 2 more warnings not annotated" in notice
    assert "26 errors, 12 warnings" in notice and "job summary" in notice
    log = "\n".join(lines[21:])
    found = re.findall(r"(?:error|warning) \[([a-z-]+)\]", log)  # the findings, not the digest
    assert found.count("image-latest-tag") == 13
    assert found.count("image-registry-unreachable") == 13
    assert found.count("image-no-tag") == 12


def test_github_full_list_cannot_inject_commands(workdir: Path) -> None:
    hostile = "::error file=x::pwned\n::add-mask::x"
    (workdir / "deploy" / "evil.yaml").write_text(deployment("evil", [hostile]))
    result = check("deploy/evil.yaml")
    lines = github.render_with_env(result, context_for(result), {}).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].removeprefix("::stop-commands::")
    end = lines.index(f"::{token}::")
    assert len(token) >= 32 and end > start
    outside = lines[:start] + lines[end + 1 :]
    assert outside == [lines[0]] and parse_command(lines[0])[0] == "error"
    assert "::error file=x::pwned" in parse_command(lines[0])[2]
    assert all(token not in line for line in lines[start + 1 : end])


def test_github_paths_relative_to_the_workspace(workdir: Path) -> None:
    (workdir / "deploy" / "a.yaml").write_text(deployment("a", ["nginx:latest"]))
    result = check(str(workdir / "deploy" / "a.yaml"))
    env = {"GITHUB_WORKSPACE": str(workdir)}
    line = github.render_with_env(result, context_for(result), env).splitlines()[0]
    assert parse_command(line)[1]["file"] == "deploy/a.yaml"


def test_github_empty_result() -> None:
    out = github.render_with_env(EMPTY, context_for(EMPTY), {})
    assert not [line for line in out.splitlines() if re.match(r"::(error|warning|notice)", line)]
    assert "PASSED" in out


def test_step_summary_appends_verdict_images_and_findings(
    mixed: CheckResult, workdir: Path
) -> None:
    result = answered(
        mixed,
        "nginx:1.27",
        Outcome.RESOLVED,
        digest=DIGEST,
        credential="secret:prod/regcred",
        platforms=("linux/amd64", "linux/arm64"),
    )
    summary = workdir / "summary.md"
    summary.write_text("# earlier step output\n")
    github.write_step_summary(result, context_for(result), summary)
    text = summary.read_text()
    assert text.startswith("# earlier step output\n\n## pullgate: ❌ failed")
    row = next(line for line in text.splitlines() if line.startswith("| `nginx:1.27`"))
    assert DIGEST in row and "secret:prod/regcred" in row and "linux/amd64, linux/arm64" in row
    # one heading per object, its findings in line order, each hint in full once
    web = text.index("#### Deployment `prod/web` in `deploy/app.yaml`")
    broken = text.index("#### `deploy/app.yaml`")  # the unparsable document: the file's own
    assert web < broken
    assert "team/api" not in text.partition("### Findings by object")[2]  # nothing to say
    path = Path("deploy/app.yaml")
    latest = f"- **error** `image-latest-tag`, line {image_line(workdir / path, 'nginx:latest')}"
    assert text.index(latest + ", container `c0`: image nginx:latest uses the tag") > web
    assert text.count("(more: pullgate explain image-latest-tag)") == 1
    assert "`Foo/{{ .Values.tag }}`" in text
    fixes = text.index("### To fix (4 findings)")
    assert fixes < text.index("### Images") < text.index("### Findings by object") < web
    assert "- 1 image on `latest` (`image-latest-tag`): nginx:latest" in text


def test_step_summary_stays_under_one_mebibyte(workdir: Path) -> None:
    docs = [
        deployment(f"app{n}", [f"repo{n}/image{i}:latest" for i in range(20)]) for n in range(200)
    ]
    (workdir / "deploy" / "big.yaml").write_text("---\n".join(docs))
    result = check("deploy/big.yaml")
    assert len(result.findings) == 4000
    context = context_for(result)
    text = github.step_summary(result, context)
    size = len(text.encode("utf-8"))
    assert github.STEP_SUMMARY_LIMIT - 64 * 1024 < size < github.STEP_SUMMARY_LIMIT
    rows = [line for line in text.splitlines() if line.startswith("- **error** ")]
    note = re.search(r"and (\d+) more findings, left out", text)
    assert note and len(rows) + int(note.group(1)) == 4000
    assert "| `repo0/image0:latest` |" in text  # the images table keeps its share
    assert "### To fix (4000 findings)" in text
    assert not text.rstrip().split("\n\n")[-2].startswith("####")  # no heading left bare

    summary = workdir / "summary.md"
    summary.write_text("x" * 900_000)
    github.write_step_summary(result, context, summary)
    assert 900_000 < summary.stat().st_size < github.STEP_SUMMARY_LIMIT


def test_step_summary_at_any_room_shows_no_section_without_rows(workdir: Path) -> None:
    """However little room the step has left (earlier commands wrote the rest), the summary
    fits it in bytes (names here are multibyte), a section is shown only with a row under it
    (else just its note), and what it shows plus what it says it left out is everything."""
    docs = [
        deployment(f"app-é{n}", [f"repo{n}/imagé{i}:latest" for i in range(3)]) for n in range(20)
    ]
    (workdir / "deploy" / "set.yaml").write_text("---\n".join(docs))
    result = check("deploy/set.yaml")
    context = context_for(result)
    full = len(github.step_summary(result, context).encode("utf-8"))
    for limit in [*range(0, full + 200, 97), full]:
        text = github.step_summary(result, context, limit=limit)
        assert len(text.encode("utf-8")) <= limit
        if not text:
            continue
        sections = dict(re.findall(r"^### (\S+).*\n\n?((?:.+\n?)*)", text, flags=re.M))
        if "Images" in sections:
            assert re.search(r"^\| `repo", sections["Images"], flags=re.M), (limit, text)
        if "Findings" in sections:
            assert "- **error** " in text.partition("### Findings by object")[2], (limit, text)
        images = len(re.findall(r"^\| `repo", text, flags=re.M))
        findings = text.count("- **error** ")
        left = dict(
            (what, int(count))
            for count, what in re.findall(
                r"_(?:… and )?(\d+) (?:more )?(image|finding)s?, left", text
            )
        )
        if "### Images" in text or "image" in left:
            assert images + left.get("image", 0) == 60, (limit, text)
        if "### Findings by object" in text or "finding" in left:
            assert findings + left.get("finding", 0) == 60, (limit, text)
        assert "1 MiB" not in text or "within GitHub's 1 MiB" in text


# GitLab


def gitlab_of(result: CheckResult, env: dict[str, str] | None = None, **kw: Any) -> list[Any]:
    text = (
        gitlab.render(result, context_for(result, **kw))
        if env is None
        else json.dumps(gitlab.build(result, context_for(result, **kw), env=env))
    )
    report: list[Any] = json.loads(text)
    return report


def test_gitlab_code_quality_passes_gitlabs_validation(mixed: CheckResult, workdir: Path) -> None:
    result = answered(mixed, "registry.example.com/team/api:1.4", Outcome.MANIFEST_UNKNOWN)
    report = gitlab_of(result)
    assert isinstance(report, list) and len(report) == 5
    validator = jsonschema.Draft7Validator(GITLAB_CODEQUALITY_SCHEMA)
    for entry in report:
        validator.validate(entry)
        assert entry["type"] == "issue" and entry["engine_name"] == "pullgate"
    by_rule = {entry["check_name"]: entry for entry in report}
    assert {rule: e["severity"] for rule, e in by_rule.items()} == {
        "image-latest-tag": "major",
        "image-no-tag": "major",
        "image-reference-invalid": "critical",
        "image-tag-not-found": "critical",
        "manifest-invalid": "blocker",
    }
    path = workdir / "deploy" / "app.yaml"
    latest = by_rule["image-latest-tag"]
    assert latest["location"] == {
        "path": "deploy/app.yaml",
        "lines": {"begin": image_line(path, "nginx:latest")},
    }
    # the widget shows the description beside path:line only: the object comes first
    assert latest["description"].startswith(
        "Deployment prod/web, container c0: image nginx:latest uses the tag `latest`, which"
    )
    assert "pin the digest with `pullgate pin`." in latest["description"]  # the hint
    assert latest["description"].endswith("(more: pullgate explain image-latest-tag)")
    broken = by_rule["manifest-invalid"]["description"]
    assert not broken.startswith(":") and "(more: pullgate explain manifest-invalid)" in broken


def test_gitlab_fingerprints_unique_stable_and_shared_with_sarif(workdir: Path) -> None:
    # Two identical Deployments: true duplicates, told apart only by their order.
    twice = "---\n".join([MIXED, deployment("web", ["nginx:latest"])])
    (workdir / "deploy" / "app.yaml").write_text(twice)
    first = gitlab_of(check("deploy/app.yaml"))
    second = gitlab_of(check("deploy/app.yaml"))
    prints = [entry["fingerprint"] for entry in first]
    assert prints == [entry["fingerprint"] for entry in second]
    assert len(set(prints)) == len(prints) == 5
    log = sarif_of(check("deploy/app.yaml"))
    assert prints == [
        r["partialFingerprints"][sarif.FINGERPRINT_KEY] for r in log["runs"][0]["results"]
    ]


def test_gitlab_warnings_and_suppressed(mixed: CheckResult) -> None:
    result = replace(
        mixed,
        findings=[
            replace(f, severity=Severity.WARNING) if f.rule == "image-no-tag" else f
            for f in mixed.findings
        ],
    )
    latest = next(f for f in result.findings if f.rule == "image-latest-tag")
    result.findings[result.findings.index(latest)] = replace(latest, suppressed="accepted")
    hidden = gitlab_of(result)
    shown = gitlab_of(result, show_suppressed=True)
    assert {e["check_name"]: e["severity"] for e in hidden}["image-no-tag"] == "minor"
    assert "image-latest-tag" not in {e["check_name"] for e in hidden}
    suppressed = next(e for e in shown if e["check_name"] == "image-latest-tag")
    assert suppressed["severity"] == "info" and "accepted" in suppressed["description"]
    # Showing the suppressed finding changes no other fingerprint.
    assert {e["fingerprint"] for e in hidden} < {e["fingerprint"] for e in shown}


def test_gitlab_paths_relative_to_the_project_dir(workdir: Path) -> None:
    (workdir / "deploy" / "a.yaml").write_text(deployment("a", ["nginx:latest"]))
    result = check(str(workdir / "deploy" / "a.yaml"))
    report = gitlab_of(result, env={"CI_PROJECT_DIR": str(workdir)})
    assert report[0]["location"]["path"] == "deploy/a.yaml"


def test_gitlab_empty_result() -> None:
    assert gitlab.render(EMPTY, context_for(EMPTY)) == "[]\n"


# JUnit


def junit_of(result: CheckResult, **kw: Any) -> ET.Element:
    return ET.fromstring(render("junit", result, context_for(result, **kw)))


def assert_counts_consistent(root: ET.Element) -> None:
    """tests/failures/errors/skipped on every suite and on the root match the cases; each case
    has one status."""
    assert root.tag == "testsuites"
    totals: Counter[str] = Counter()
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counts = {
            "tests": len(cases),
            "failures": sum(1 for c in cases if c.find("failure") is not None),
            "errors": sum(1 for c in cases if c.find("error") is not None),
            "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        }
        for case in cases:
            statuses = {child.tag for child in case} & {"failure", "error", "skipped"}
            assert len(statuses) <= 1, ET.tostring(case)
        for key, value in counts.items():
            assert suite.get(key) == str(value), (key, ET.tostring(suite))
        totals.update(counts)
    for key in ("tests", "failures", "errors", "skipped"):
        assert root.get(key) == str(totals[key])


def cases_by_name(root: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in root.iter("testcase")}


def test_junit_one_case_per_image_and_secret(mixed: CheckResult) -> None:
    broken = next(f for f in mixed.findings if f.rule == "manifest-invalid")
    root = junit_of(mixed)
    assert_counts_consistent(root)
    cases = cases_by_name(root)
    assert set(cases) == {
        "c0 (nginx:latest)",
        "c1 (busybox)",
        "c2 (Foo/{{ .Values.tag }})",
        "c3 (nginx:1.27)",
        "c0 (registry.example.com/team/api:1.4)",
        "imagePullSecret regcred",
        f"manifest-invalid (line {broken.line})",
    }
    assert cases["c0 (nginx:latest)"].get("classname") == "deploy/app.yaml Deployment prod/web"
    assert cases["c0 (nginx:latest)"].get("file") == "deploy/app.yaml"
    failure = cases["c0 (nginx:latest)"].find("failure")
    assert failure is not None and failure.get("type") == "image-latest-tag"
    assert failure.text and "pin the digest" in failure.text and "deploy/app.yaml:" in failure.text
    assert cases["c3 (nginx:1.27)"].find("skipped") is not None
    assert cases["c0 (registry.example.com/team/api:1.4)"].find("skipped") is not None
    assert len(list(cases["imagePullSecret regcred"])) == 0  # checked, passed
    assert root.get("tests") == "7" and root.get("failures") == "4" and root.get("skipped") == "2"
    assert [s.get("name") for s in root.findall("testsuite")] == ["deploy/app.yaml"]


def test_junit_secret_findings_fail_their_secret_case(mixed: CheckResult, workdir: Path) -> None:
    lines = (workdir / "deploy" / "app.yaml").read_text().splitlines()
    line = lines.index("        - name: regcred") + 1
    missing = Finding(
        "pull-secret-missing",
        Severity.ERROR,
        "secret regcred does not exist in namespace team",
        "Create it in the pod's namespace.",
        "deploy/app.yaml",
        line,
        kind="Deployment",
        namespace="team",
        name="api",
    )
    result = replace(mixed, findings=[*mixed.findings, missing])
    root = junit_of(result)
    assert_counts_consistent(root)
    failure = cases_by_name(root)["imagePullSecret regcred"].find("failure")
    assert failure is not None and failure.get("type") == "pull-secret-missing"
    assert failure.text and f"deploy/app.yaml:{line} Deployment team/api" in failure.text


def test_junit_failure_per_error_error_for_unverified(mixed: CheckResult) -> None:
    result = answered(mixed, "registry.example.com/team/api:1.4", Outcome.MANIFEST_UNKNOWN)
    result = answered(result, "nginx:1.27", Outcome.UNREACHABLE, detail="dial tcp: i/o timeout")
    result = answered(result, "nginx:latest", Outcome.UNREACHABLE, detail="dial tcp: i/o timeout")
    root = junit_of(result)
    assert_counts_consistent(root)
    cases = cases_by_name(root)
    api = cases["c0 (registry.example.com/team/api:1.4)"]
    assert [f.get("type") for f in api.findall("failure")] == ["image-tag-not-found"]
    unverified = cases["c3 (nginx:1.27)"]
    assert [e.get("type") for e in unverified.findall("error")] == ["image-registry-unreachable"]
    # A violation and an unverified finding on one image: a failure per finding.
    latest = cases["c0 (nginx:latest)"]
    assert sorted(f.get("type", "") for f in latest.findall("failure")) == [
        "image-latest-tag",
        "image-registry-unreachable",
    ]
    assert root.get("errors") == "1" and root.get("skipped") == "0"


def test_junit_warnings_are_output_unless_they_fail_the_gate(workdir: Path) -> None:
    (workdir / "deploy" / "w.yaml").write_text(deployment("w", ["busybox", "nginx:1.27"]))
    result = check("deploy/w.yaml", severity={"image-no-tag": Severity.WARNING})
    case = cases_by_name(junit_of(result))["c0 (busybox)"]
    out = case.find("system-out")
    assert case.find("failure") is None and out is not None and "[image-no-tag]" in (out.text or "")
    strict = junit_of(result, fail_on="warning")
    assert_counts_consistent(strict)
    failure = cases_by_name(strict)["c0 (busybox)"].find("failure")
    assert failure is not None and failure.get("type") == "image-no-tag"


def test_junit_names_unique_and_xml_safe(workdir: Path) -> None:
    (workdir / "deploy" / "d.yaml").write_text(
        "---\n".join(
            [
                deployment("web", ["nginx:latest"]),
                deployment("web", ["nginx:latest"]),
                deployment("ctl", ["bad\x01image<&>"]),
            ]
        )
    )
    result = check("deploy/d.yaml")
    root = junit_of(result)
    assert_counts_consistent(root)
    keys = [(c.get("classname"), c.get("name")) for c in root.iter("testcase")]
    assert len(keys) == len(set(keys)) == 3
    assert ("deploy/d.yaml Deployment prod/web", "c0 (nginx:latest) #2") in keys
    bad = next(c for c in root.iter("testcase") if "ctl" in (c.get("classname") or ""))
    failure = bad.find("failure")
    assert failure is not None and "<&>" in (failure.text or "")


def test_junit_empty_result() -> None:
    root = junit_of(EMPTY)
    assert_counts_consistent(root)
    assert root.get("tests") == "0" and len(root.findall("testsuite")) == 1


# Every format


@pytest.mark.parametrize("fmt", ["sarif", "github", "gitlab", "junit"])
def test_formats_registered_and_render_empty(fmt: str) -> None:
    assert fmt in FORMATS
    out = render(fmt, EMPTY, context_for(EMPTY))
    assert out.endswith("\n")
    if fmt in ("sarif", "gitlab"):
        json.loads(out)
    elif fmt == "junit":
        ET.fromstring(out)


def test_findings_without_a_catalogue_rule_still_render(mixed: CheckResult) -> None:
    """Rules are being added concurrently: a finding whose rule the catalogue lacks must not
    break any format (SARIF just gives it no ruleIndex)."""
    extra = Finding("future-rule", Severity.ERROR, "m", "h", "deploy/app.yaml", 3, kind="Pod")
    result = replace(mixed, findings=[*mixed.findings, extra])
    for fmt in ("sarif", "github", "gitlab", "junit"):
        assert "future-rule" in render(fmt, result, context_for(result))
    entry = next(r for r in sarif_of(result)["runs"][0]["results"] if r["ruleId"] == "future-rule")
    assert "ruleIndex" not in entry


@pytest.mark.parametrize("show_suppressed", [False, True])
def test_json_report_is_written_entry_by_entry_exactly_as_one_dump(
    mixed: CheckResult, workdir: Path, show_suppressed: bool
) -> None:
    """`--format json` writes its long lists one entry at a time (memory on large sets); the
    text is byte for byte what one `json.dumps(indent=2)` of the whole report gives, for a
    set with images and findings and for an empty one."""
    from gate.report import json_report

    for result in (mixed, EMPTY):
        context = context_for(result, show_suppressed=show_suppressed)
        whole = json.dumps(json_report.build(result, show_suppressed), indent=2) + "\n"
        assert json_report.render(result, context) == whole
    built = json_report.build(mixed, show_suppressed)
    assert built["images"] and built["findings"] and not json_report.build(EMPTY)["images"]
