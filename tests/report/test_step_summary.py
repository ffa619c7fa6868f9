"""The GitHub step summary of real runs: `pullgate check` in a GitHub Actions environment
against the real registry, the Markdown read back from `$GITHUB_STEP_SUMMARY`.

GitHub's limit, upstream: actions/runner `src/Runner.Worker/FileCommandManager.cs`,
`CreateStepSummaryCommand`: `AttachmentSizeLimit = 1024 * 1024`, and a file whose length in
bytes is above it is not uploaded at all (`$GITHUB_STEP_SUMMARY upload aborted, supports content
up to a size of 1024k`): the whole summary is lost, not its tail. The file is the step's, so
what earlier commands of the step wrote counts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gate.report.github import STEP_SUMMARY_LIMIT
from tests.support.cli import filled, pullgate
from tests.support.images import push_image, push_index
from tests.support.registry import RegistryServer
from tests.support.skopeo import skopeo_inspect_digest

SET = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    spec:
      containers:
        - name: web
          image: {host}/team/web:1.0
          env:
            - name: DB_PASSWORD
              valueFrom: {{secretKeyRef: {{name: db-pass, key: password}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  template:
    spec:
      containers:
        - name: api
          image: {host}/team/api:2.0
---
apiVersion: v1
kind: Pod
metadata: {{name: debug, namespace: shop}}
spec:
  containers:
    - name: shell
      image: {host}/team/api:2.0
      envFrom: [{{secretRef: {{name: db-pass}}}}]
"""


def _run(tmp_path: Path, summary: Path, *args: str) -> int:
    result = pullgate(
        "check",
        "--retries",
        "0",
        "--no-ci-logins",
        *args,
        "deploy",
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": str(tmp_path),
        },
    )
    assert result.stdout.startswith("::error"), result.stdout[:500] + result.stderr
    return result.exit_code


def _sections(text: str) -> dict[str, str]:
    """Each `### ` section's text, by its title."""
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    return {title: body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def _line(text: str, wanted: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == wanted]
    return hits[occurrence - 1]


def test_a_failing_run_reads_fixes_images_then_findings_by_object(
    tmp_path: Path, registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    web = push_index(registry, "team/web", "1.0", ["linux/amd64", "linux/arm64"])
    push_image(registry, "team/api", "1.0")  # the repository exists; its tag 2.0 does not
    (tmp_path / "deploy").mkdir()
    manifests = SET.format(host=registry.host)
    (tmp_path / "deploy" / "set.yaml").write_text(manifests)
    api_image = f"image: {registry.host}/team/api:2.0"
    summary = tmp_path / "summary.md"
    assert _run(tmp_path, summary) == 1
    text = summary.read_text()
    assert text.startswith("## pullgate: ❌ failed\n")
    sections = _sections(text)
    assert list(sections) == ["To fix (4 findings)", "Images", "Findings by object"]

    fixes = sections["To fix (4 findings)"]
    assert "- 2 images whose tag is not in the registry" not in fixes  # one image, two uses
    assert (
        f"- 1 image whose tag is not in the registry (`image-tag-not-found`): "
        f"{registry.host}/team/api:2.0 (2 uses)" in fixes
    )
    assert "- 1 Secret missing in namespace shop (`secret-ref-missing`): db-pass (2 uses)" in fixes
    [block] = re.findall(r"```yaml\n(.*?)```", fixes, flags=re.S)
    assert block == (
        'secrets:\n  external:\n    - {name: "shop/db-pass", reason: "<who creates it>"}\n'
    )

    [row] = [line for line in sections["Images"].splitlines() if "team/web:1.0" in line]
    digest = skopeo_inspect_digest(registry, "team/web", "1.0")
    assert web.digest == digest
    assert f"| `{digest}` | anonymous | linux/amd64, linux/arm64 | ok |" in row

    # findings under their object, in file order; each distinct hint in full once
    findings = sections["Findings by object"]
    headings = re.findall(r"^#### (.+)$", findings, flags=re.M)
    assert headings == [
        "Deployment `shop/web` in `deploy/set.yaml`",
        "Deployment `shop/api` in `deploy/set.yaml`",
        "Pod `shop/debug` in `deploy/set.yaml`",
    ]
    by_object = dict(zip(headings, re.split(r"^#### .+$", findings, flags=re.M)[1:], strict=True))
    debug = by_object["Pod `shop/debug` in `deploy/set.yaml`"]
    assert debug.count("- **error** ") == 2
    at = _line(manifests, api_image, 2)
    assert f"`image-tag-not-found`, line {at}, container `shell`" in debug
    first = _line(manifests, api_image)
    assert f"Fix: as for deploy/set.yaml:{first} above" in debug  # api's hint, not again
    assert findings.count("(more: pullgate explain image-tag-not-found)") == 1
    assert len(text.encode()) < STEP_SUMMARY_LIMIT

    # the block, pasted with its reason written, declares the Secret: the missing tag is left
    (tmp_path / ".pullgate.yaml").write_text(filled(block))
    summary.unlink()
    assert _run(tmp_path, summary) == 1
    assert "### To fix (2 findings)" in summary.read_text()


def test_a_run_too_big_for_github_is_cut_within_what_the_step_has_left(
    tmp_path: Path, registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """6,000 findings (500 objects, each with its own config entry) come to about 1.5 MiB of
    Markdown, and the step already wrote 100 kB. The summary keeps the fixes, the images and
    as many findings as fit, and says how many it left out."""
    monkeypatch.chdir(tmp_path)
    pushed = push_image(registry, "team/app", "latest")
    containers = "".join(
        f"        - {{name: c{n}, image: {registry.host}/team/app:latest}}\n" for n in range(12)
    )
    docs = [
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{n}, namespace: shop}}\n"
        f"spec:\n  template:\n    spec:\n      containers:\n{containers}"
        for n in range(500)
    ]
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "big.yaml").write_text("---\n".join(docs))
    summary = tmp_path / "summary.md"
    earlier = "# an earlier step\n" + "x" * 100_000 + "\n"
    summary.write_text(earlier)
    assert _run(tmp_path, summary) == 1
    data = summary.read_bytes()
    assert STEP_SUMMARY_LIMIT - 64 * 1024 < len(data) <= STEP_SUMMARY_LIMIT
    text = data.decode()
    assert text.startswith(earlier)
    shown = text.count("\n- **error** `image-latest-tag`")
    [left_out] = re.findall(r"_… and (\d+) more findings, left out", text)
    assert 1000 < shown < 6000 and shown + int(left_out) == 6000
    assert f"{registry.host}/team/app:latest (6000 uses)" in text
    assert f"| `{pushed.digest}` | anonymous |" in text
    assert not re.search(r"^#### .+\n\n_…", text, flags=re.M)  # no heading without findings
