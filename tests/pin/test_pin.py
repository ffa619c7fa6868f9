"""Tests for gate.pin: byte-exact pinning, all or nothing, the lock file, the diff.

Images are found by the real pipeline (`run_check`, offline) and then given fake Resolutions
with `dataclasses.replace`: what the registry answers is tested elsewhere, and end to end once
here against the real registry (with skopeo as the oracle).

Fixture texts mark where a pin goes: `%P%` right after an image gets `@<digest>`, `%L%` gets
`:latest@<digest>`; the expected output is the same text with the markers filled in, so every
byte outside the pinned values is compared.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from gate.load import load_text
from gate.lock import (
    Lock,
    LockEntry,
    LockError,
    dump_lock,
    lock_mismatches,
    lock_unlisted,
    read_lock,
)
from gate.model import CheckResult, ImageUse, Outcome, Resolution
from gate.pin import (
    PinEdit,
    PinError,
    PinPlan,
    apply_pins,
    pin_texts,
    pinned_value,
    plan_check,
    plan_pins,
    read_manifest,
    unified_diff,
    write_files,
    write_lock,
)
from gate.pipeline import CheckOptions, run_check
from gate.reference import parse_reference
from tests.support import paths
from tests.support.images import OCI_INDEX, push_image, push_index
from tests.support.registry import RegistryServer
from tests.support.skopeo import skopeo_inspect_digest

CORPUS = paths.CORPUS
PLATFORMS = ("linux/amd64", "linux/arm64")
_MARKED = re.compile(r"([a-z0-9][a-z0-9./:_-]*)%([PL])%")


def digest_for(image: str) -> str:
    """A distinct, valid digest per image, so each pin can be told apart in the output."""
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


def unpinned(template: str) -> str:
    return template.replace("%P%", "").replace("%L%", "")


def _fill(match: re.Match[str]) -> str:
    image, mark = match.group(1), match.group(2)
    tag = ":latest" if mark == "L" else ""
    return f"{image}{tag}@{digest_for(image)}"


def pinned(template: str) -> str:
    return _MARKED.sub(_fill, template)


def pinned_values(template: str) -> set[str]:
    return {_fill(match) for match in _MARKED.finditer(template)}


def resolved(uses: Iterable[ImageUse], fail: Mapping[str, Outcome] | None = None) -> list[ImageUse]:
    """Every valid use resolved to `digest_for(image)` (its own digest if pinned)."""
    fail = fail or {}
    out: list[ImageUse] = []
    for use in uses:
        ref, image = use.reference, use.container.image
        if ref is None or image is None:
            out.append(use)
            continue
        if image in fail:
            resolution = Resolution(ref, fail[image], detail="the registry said no")
        else:
            resolution = Resolution(
                ref,
                Outcome.RESOLVED,
                digest=ref.digest or digest_for(image),
                media_type=OCI_INDEX,
                platforms=PLATFORMS,
                credential="anonymous",
            )
        out.append(replace(use, resolution=resolution))
    return out


def check(*paths: Path | str) -> CheckResult:
    return run_check(CheckOptions(paths=tuple(str(p) for p in paths), offline=True))


def plan_for(*paths: Path, fail: Mapping[str, Outcome] | None = None) -> PinPlan:
    result = check(*paths)
    return plan_check(replace(result, uses=resolved(result.uses, fail)))


def pin_file(path: Path) -> tuple[bytes, bytes, PinPlan]:
    """(bytes before, bytes pinned, plan) for one file, nothing written."""
    before = path.read_bytes()
    plan = plan_for(path)
    assert plan.complete, plan.problems
    changed = pin_texts(plan, {str(path): read_manifest(str(path))})
    after = changed.get(str(path), before.decode()).encode()
    return before, after, plan


def write(tmp_path: Path, name: str, text: str, newline: str = "\n") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def assert_pins(tmp_path: Path, template: str, name: str = "m.yaml", newline: str = "\n") -> None:
    """Pinning the unmarked text gives exactly the marked-and-filled text, byte for byte."""
    path = write(tmp_path, name, unpinned(template), newline)
    before, after, _ = pin_file(path)
    assert before == unpinned(template).replace("\n", newline).encode()
    assert after == pinned(template).replace("\n", newline).encode()


def strip_pins(text: str, edits: Iterable[PinEdit]) -> str:
    """`text` without what the edits inserted (each digest is distinct, so this is exact)."""
    for suffix in {edit.new[len(edit.old) :] for edit in edits}:
        text = text.replace(suffix, "")
    return text


# -- quoting, comments, flow style -----------------------------------------------------------

BLOCK = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: plain
          image: registry.example.com/tools/migrate:2.1%P%
      containers:
        - name: single
          image: 'quay.io/app/web:1.0%P%'
        - name: double
          image: "ghcr.io/app/api:3%P%"   # pinned by a human once
        - name: comment
          image: nginx:1.27%P% # or just image: nginx
        - name: bare
          image: redis%L%
        - name: indented-key
          image:    busybox:1.36%P%
          imagePullPolicy: IfNotPresent
"""


def test_block_style_every_quoting_and_comment(tmp_path: Path) -> None:
    assert_pins(tmp_path, BLOCK)


FLOW = """\
apiVersion: v1
kind: Pod
metadata: {name: flow, labels: {app: nginx}}
spec:
  containers: [{name: nginx, image: nginx%L%}, {name: side, image: "envoyproxy/envoy:v1.30%P%"}]
  initContainers:
    - {name: a, image: busybox:1.36%P%, command: [sh, -c, "echo image: busybox:1.36"]}
    - {name: b, image: busybox:1.36%P%}
  ephemeralContainers:
    - {
        name: debug,
        image: 'alpine:3.20%P%'
      }
"""


def test_flow_mappings_several_images_on_one_line(tmp_path: Path) -> None:
    """`{name: nginx, image: nginx}`: only the value at the image path changes, not the name
    nor the label, nor the text inside the command that looks like an image."""
    assert_pins(tmp_path, FLOW)


def test_same_image_in_many_places_each_pinned(tmp_path: Path) -> None:
    template = "---\n".join(
        f"""\
apiVersion: v1
kind: Pod
metadata:
  name: p{i}
spec:
  containers:
    - name: a
      image: nginx:1.27%P%
    - name: b
      image: nginx:1.27%P%
"""
        for i in range(3)
    )
    path = write(tmp_path, "many.yaml", unpinned(template))
    _, after, plan = pin_file(path)
    assert len(plan.edits) == 6
    assert after.decode().count(digest_for("nginx:1.27")) == 6
    assert after == pinned(template).encode()


JSON_TEMPLATE = """\
{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {"name": "a"},
      "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27%P%"}]}
    },
    {
      "apiVersion": "apps/v1",
      "kind": "Deployment",
      "metadata": {"name": "b"},
      "spec": {"template": {"spec": {"containers": [
        {"name": "x", "image": "quay.io/x/y%L%"},
        {"name": "y", "image": "nginx:1.27%P%"}
      ]}}}
    }
  ]
}"""


def test_json_list_without_trailing_newline(tmp_path: Path) -> None:
    assert_pins(tmp_path, JSON_TEMPLATE, "list.json")


def test_tab_indented_json(tmp_path: Path) -> None:
    """Valid JSON that the YAML parser refuses (tabs): lines are coarse, paths still find it."""
    template = '{\n\t"apiVersion": "v1",\n\t"kind": "Pod",\n\t"metadata": {"name": "t"},\n' + (
        '\t"spec": {\n\t\t"containers": [\n\t\t\t{"name": "a", "image": "nginx:1.27%P%"}\n'
        "\t\t]\n\t}\n}\n"
    )
    assert_pins(tmp_path, template, "tabs.json")


def test_json_escapes_in_the_value_are_kept(tmp_path: Path) -> None:
    r"""`"nginx\u003a1.27"` is `nginx:1.27`; the pin goes before the closing quote and the
    escape stays as written."""
    text = (
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "e"},\n'
        ' "spec": {"containers": [{"name": "a", "image": "nginx\\u003a1.27"}]}}\n'
    )
    path = write(tmp_path, "escaped.json", text)
    _, after, _ = pin_file(path)
    digest = digest_for("nginx:1.27")
    assert after.decode() == text.replace('1.27"', f'1.27@{digest}"')
    assert json.loads(after)["spec"]["containers"][0]["image"] == f"nginx:1.27@{digest}"


# -- line ends, BOM, lists, Helm -------------------------------------------------------------


def test_crlf_line_endings_stay_crlf(tmp_path: Path) -> None:
    assert_pins(tmp_path, BLOCK, newline="\r\n")
    assert_pins(tmp_path, FLOW, "flow.yaml", newline="\r\n")


def test_no_trailing_newline(tmp_path: Path) -> None:
    template = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
    template += "  - name: a\n    image: nginx:1.27%P%"
    assert_pins(tmp_path, template)
    assert_pins(tmp_path, template, "crlf.yaml", newline="\r\n")


def test_stdin_stream_is_pinned_as_a_whole(tmp_path: Path) -> None:
    """`pin -`: the uses name the file `-`; the pinned stream keeps CRLF and every document."""
    text = unpinned(HELM + FLOW).replace("\n", "\r\n")
    result = run_check(CheckOptions(paths=("-",), offline=True, stdin=io.StringIO(text)))
    plan = plan_check(replace(result, uses=resolved(result.uses)))
    assert plan.files == ["-"]
    assert pin_texts(plan, {"-": text}) == {"-": pinned(HELM + FLOW).replace("\n", "\r\n")}


def test_byte_order_mark_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + unpinned(BLOCK).encode())
    _, after, _ = pin_file(path)
    assert after == b"\xef\xbb\xbf" + pinned(BLOCK).encode()


def test_non_ascii_text_before_the_value(tmp_path: Path) -> None:
    """Columns count characters, not bytes: a multi-byte name before the image must not shift
    the pin."""
    template = (
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {note: "café ☕ 😀"}}\n'
        'spec: {containers: [{name: a, env: [{name: X, value: "é😀"}], image: nginx:1.27%P%}]}\n'
    )
    assert_pins(tmp_path, template)


KIND_LIST = """\
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: one}
    spec:
      template:
        spec:
          containers:
            - name: a
              image: jaegertracing/all-in-one%L%
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: two}
    spec:
      template:
        spec:
          containers:
            - name: a
              image: jaegertracing/all-in-one:1.57%P%
"""


def test_kind_list(tmp_path: Path) -> None:
    assert_pins(tmp_path, KIND_LIST)


HELM = """\
---
# Source: shop/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-web
  labels:
    helm.sh/chart: shop-1.2.3
spec:
  template:
    spec:
      containers:
        - name: web
          image: "registry.example.com/shop/web:1.2.3%P%"
          imagePullPolicy: IfNotPresent
---
# Source: shop/templates/worker.yaml
apiVersion: batch/v1
kind: CronJob
metadata:
  name: shop-worker
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: worker
              image: "registry.example.com/shop/web:1.2.3%P%"
          initContainers:
            - name: wait
              image: "busybox:1.36%P%"
---
# Source: shop/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  image: "registry.example.com/shop/web:1.2.3"
---
"""


def test_helm_output_with_source_comments(tmp_path: Path) -> None:
    """The ConfigMap's `image` key is data, not a container: it stays as written."""
    assert_pins(tmp_path, HELM)
    path = write(tmp_path, "again.yaml", pinned(HELM))
    sources = {obj.source for obj in load_text(path.read_text(), str(path)).objects}
    assert sources == {
        "shop/templates/web.yaml",
        "shop/templates/worker.yaml",
        "shop/templates/configmap.yaml",
    }


def test_a_broken_document_elsewhere_blocks_the_pin(tmp_path: Path) -> None:
    text = unpinned(HELM) + "apiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n"
    path = write(tmp_path, "broken.yaml", text)
    plan = plan_for(path)
    assert not plan.complete
    [problem] = plan.problems
    assert problem.image is None and "invalid YAML" in problem.reason
    assert str(problem).startswith(f"{path}:")


# -- idempotence, already pinned -------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [BLOCK, FLOW, KIND_LIST, HELM, JSON_TEMPLATE],
    ids=["block", "flow", "list", "helm", "json"],
)
def test_pinning_a_pinned_file_changes_nothing(tmp_path: Path, template: str) -> None:
    suffix = ".json" if template.startswith("{") else ".yaml"
    path = write(tmp_path, "pinned" + suffix, pinned(template))
    before, after, plan = pin_file(path)
    assert plan.edits == []
    assert after == before
    assert set(plan.lock.images) == pinned_values(template)


def test_already_pinned_images_are_left_alone_but_locked(tmp_path: Path) -> None:
    d = "sha256:" + "1" * 64
    template = f"""\
apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers:
    - {{name: a, image: "nginx:1.27@{d}"}}
    - {{name: b, image: nginx@{d}}}
    - {{name: c, image: nginx:1.27%P%}}
"""
    assert_pins(tmp_path, template)
    plan = plan_for(tmp_path / "m.yaml")
    assert [edit.old for edit in plan.edits] == ["nginx:1.27"]
    assert plan.lock.images[f"nginx:1.27@{d}"].digest == d
    assert plan.lock.images[f"nginx@{d}"].canonical == f"docker.io/library/nginx@{d}"
    assert plan.lock.images["nginx:1.27"].digest == digest_for("nginx:1.27")


def test_pinned_value_keeps_the_written_form() -> None:
    d = "sha256:" + "a" * 64
    assert pinned_value("nginx:1.27", parse_reference("nginx:1.27"), d) == f"nginx:1.27@{d}"
    assert pinned_value("nginx", parse_reference("nginx"), d) == f"nginx:latest@{d}"
    assert (
        pinned_value("localhost:5000/a/b", parse_reference("localhost:5000/a/b"), d)
        == f"localhost:5000/a/b:latest@{d}"
    )


def test_pinned_images_pass_the_static_rules(tmp_path: Path) -> None:
    """`latest` and tag-less images are errors before the pin and nothing after it."""
    path = write(tmp_path, "m.yaml", unpinned(BLOCK + "---\n" + FLOW))
    before = {f.rule for f in check(path).findings}
    assert before == {"image-no-tag"}
    _, after, _ = pin_file(path)
    path.write_bytes(after)
    assert check(path).findings == []


# -- all or nothing ---------------------------------------------------------------------------


def test_one_unresolved_image_blocks_every_file(tmp_path: Path) -> None:
    good = write(tmp_path, "good.yaml", unpinned(BLOCK))
    bad = write(tmp_path, "bad.yaml", unpinned(HELM))
    originals = {p: p.read_bytes() for p in (good, bad)}
    plan = plan_for(good, bad, fail={"busybox:1.36": Outcome.MANIFEST_UNKNOWN})
    assert not plan.complete
    assert plan.exit_code == 1
    lines = {p.line for p in plan.problems}
    assert {p.file for p in plan.problems} == {str(good), str(bad)}
    assert len(plan.problems) == 2 and len(lines) == 2
    assert all("manifest-unknown" in p.reason for p in plan.problems)
    with pytest.raises(PinError, match="not every image resolved"):
        pin_texts(plan, {str(p): read_manifest(str(p)) for p in (good, bad)})
    assert {p: p.read_bytes() for p in (good, bad)} == originals


def test_an_outage_alone_exits_3_and_offline_pins_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", unpinned(HELM))
    assert plan_for(path, fail={"busybox:1.36": Outcome.UNREACHABLE}).exit_code == 3
    offline = plan_check(check(path))
    assert not offline.complete and offline.exit_code == 3
    assert all(p.reason == "not resolved (offline)" for p in offline.problems)
    mixed = plan_for(
        path,
        fail={
            "busybox:1.36": Outcome.UNREACHABLE,
            "registry.example.com/shop/web:1.2.3": Outcome.UNAUTHORIZED,
        },
    )
    assert mixed.exit_code == 1


def test_invalid_references_block_the_pin(tmp_path: Path) -> None:
    text = unpinned(BLOCK) + "        - name: tpl\n          image: '{{ .Values.image }}'\n"
    path = write(tmp_path, "m.yaml", text)
    plan = plan_for(path)
    [problem] = plan.problems
    assert problem.image == "{{ .Values.image }}"
    assert "unrendered template" in problem.reason
    assert problem.line == len(text.splitlines())


# -- refusals ----------------------------------------------------------------------------------


def test_a_yaml_anchor_shared_with_other_values_is_refused(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      image: &img nginx:1.27
      env:
        - {name: IMAGE, value: *img}
"""
    path = write(tmp_path, "anchor.yaml", text)
    plan = plan_for(path)
    with pytest.raises(PinError, match=r"would also change spec\.containers\[0\]\.env\[0\]"):
        pin_texts(plan, {str(path): text})


def test_an_anchor_used_only_by_images_is_pinned_once(tmp_path: Path) -> None:
    template = """\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: &img nginx:1.27%P%}
    - {name: b, image: *img}
"""
    assert_pins(tmp_path, template)


def test_block_scalar_is_refused(tmp_path: Path) -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: a\n      image: >-\n        nginx:1.27\n"
    )
    path = write(tmp_path, "block.yaml", text)
    with pytest.raises(PinError, match="block scalar"):
        pin_texts(plan_for(path), {str(path): text})


def test_apply_pins_refuses_what_it_cannot_find_or_would_not_extend() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{image: x:1}]}\n"
    path = ("spec", "containers", 0, "image")
    d = "@sha256:" + "a" * 64
    with pytest.raises(PinError, match="cannot find the image value"):
        apply_pins(text, [PinEdit("-", 3, path, "x:1", "x:1" + d)])  # wrong line
    with pytest.raises(PinError, match="cannot find the image value"):
        apply_pins(text, [PinEdit("-", 4, path, "x:2", "x:2" + d)])  # wrong value
    with pytest.raises(PinError, match="does not extend"):
        apply_pins(text, [PinEdit("-", 4, path, "x:1", "y:1" + d)])
    assert apply_pins(text, [PinEdit("-", 4, path, "x:1", "x:1" + d)]).endswith(f"x:1{d}}}]}}\n")
    assert apply_pins(text, []) is text


def test_a_file_changed_since_the_check_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", unpinned(BLOCK))
    plan = plan_for(path)
    moved = "# a new first line\n" + unpinned(BLOCK)
    with pytest.raises(PinError, match="cannot find the image value"):
        pin_texts(plan, {str(path): moved})


# -- the real corpus -----------------------------------------------------------------------------


def _corpus() -> list[Path]:
    """The corpus files, or one placeholder that the test turns into a skip (bare clone) or a
    failure (CI)."""
    return sorted(CORPUS.glob("*.yaml")) or [CORPUS / "missing__corpus"]


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name.split("__")[1])
def test_real_manifests_change_only_at_their_images(path: Path) -> None:
    """Every published manifest in the corpus: the pinned text minus the pins is the original,
    and loading it again finds each image pinned where it was."""
    paths.require_shared(path, "the manifest corpus")
    result = check(path)
    uses = resolved(result.uses)
    plan = plan_pins(uses)
    unpinnable = [p for p in plan.problems if p.image is None or not p.image.startswith("ko://")]
    assert unpinnable == []
    plan.problems.clear()  # knative's ko:// placeholders: pin the rest to test the rest
    original = read_manifest(str(path))
    new = pin_texts(plan, {str(path): original}).get(str(path), original)
    assert strip_pins(new, plan.edits) == original
    digests = {digest_for(edit.old) for edit in plan.edits}
    assert sum(new.count(d) for d in digests) == len({(e.line, e.path) for e in plan.edits})
    again = run_check(CheckOptions(paths=("-",), offline=True, stdin=io.StringIO(new)))
    want = {(e.line, e.path): e.new for e in plan.edits}
    for old_use, new_use in zip(result.uses, again.uses, strict=True):
        key = (old_use.container.line, old_use.container.path)
        assert new_use.container.image == want.get(key, old_use.container.image)


# -- files: atomic writes, diff ------------------------------------------------------------------


def test_write_files_is_atomic_keeps_mode_and_leaves_no_temp_files(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "old a\n")
    b = write(tmp_path, "sub/b.yaml", "old b\n")
    os.chmod(a, 0o640)
    os.chmod(b, 0o755)
    link = tmp_path / "link.yaml"
    link.symlink_to(a)
    inode_before = a.stat().st_ino
    write_files({str(link): "new a\r\nno newline", str(b): "new b\n"})
    assert a.read_bytes() == b"new a\r\nno newline"
    assert b.read_text() == "new b\n"
    assert link.is_symlink() and os.readlink(link) == str(a)
    assert stat.S_IMODE(a.stat().st_mode) == 0o640
    assert stat.S_IMODE(b.stat().st_mode) == 0o755
    assert a.stat().st_ino != inode_before  # replaced by rename, not rewritten in place
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.yaml", "b.yaml", "link.yaml", "sub"]


def test_write_files_writes_nothing_when_one_file_cannot_be_staged(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "old a\n")
    with pytest.raises(OSError):
        write_files({str(a): "new a\n", str(tmp_path / "gone" / "b.yaml"): "new b\n"})
    assert a.read_text() == "old a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


def test_unified_diff_is_what_git_shows_and_applies(tmp_path: Path) -> None:
    old = "a: 1\nimage: nginx:1.27\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\nlast: x"
    new = old.replace("nginx:1.27", "nginx:1.27@sha256:" + "a" * 64).replace("t: x", "t: y")
    diff = unified_diff("./deploy/web.yaml", old, new)
    assert diff == (
        "--- a/deploy/web.yaml\n"
        "+++ b/deploy/web.yaml\n"
        "@@ -1,8 +1,8 @@\n"
        " a: 1\n"
        "-image: nginx:1.27\n"
        f"+image: nginx:1.27@sha256:{'a' * 64}\n"
        " b: 2\n"
        " c: 3\n"
        " d: 4\n"
        " e: 5\n"
        " f: 6\n"
        "-last: x\n"
        "\\ No newline at end of file\n"
        "+last: y\n"
        "\\ No newline at end of file\n"
    )
    assert unified_diff("same.yaml", old, old) == ""
    git = shutil.which("git")
    assert git is not None, "git is needed to check the diff applies"
    target = tmp_path / "deploy" / "web.yaml"
    target.parent.mkdir()
    target.write_text(old)
    (tmp_path / "pin.diff").write_text(diff)
    subprocess.run([git, "apply", "pin.diff"], cwd=tmp_path, check=True, timeout=30)
    assert target.read_text() == new


def test_diff_of_a_pinned_file_applies_with_git(tmp_path: Path) -> None:
    """CRLF, flow style, several files: git applies exactly the pin."""
    crlf = write(tmp_path, "crlf.yaml", unpinned(BLOCK), "\r\n")
    flow = write(tmp_path, "flow.yaml", unpinned(FLOW))
    plan = plan_for(crlf, flow)
    texts = {str(p): read_manifest(str(p)) for p in (crlf, flow)}
    changed = pin_texts(plan, texts)
    diff = "".join(
        unified_diff(os.path.relpath(f, tmp_path), texts[f], changed[f]) for f in plan.files
    )
    assert diff.count("\n--- a/") + diff.startswith("--- a/") == 2
    (tmp_path / "pin.diff").write_bytes(diff.encode())
    subprocess.run(["git", "apply", "pin.diff"], cwd=tmp_path, check=True, timeout=30)
    assert crlf.read_bytes() == pinned(BLOCK).replace("\n", "\r\n").encode()
    assert flow.read_bytes() == pinned(FLOW).encode()


# -- lock file ----------------------------------------------------------------------------------


def test_lock_round_trip_is_sorted_and_stable(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", unpinned(HELM + FLOW))
    plan = plan_for(path)
    lock_path = tmp_path / "pullgate.lock"
    write_lock(str(lock_path), plan.lock)
    text = lock_path.read_text()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    document = json.loads(text)
    assert list(document) == ["images", "version"] and document["version"] == 1
    assert list(document["images"]) == sorted(document["images"])
    assert document["images"]["nginx"] == {
        "canonical": "docker.io/library/nginx",
        "digest": digest_for("nginx"),
        "media_type": OCI_INDEX,
        "platforms": list(PLATFORMS),
    }
    assert read_lock(str(lock_path)) == plan.lock
    reordered = Lock(dict(reversed(list(plan.lock.images.items()))))
    assert dump_lock(reordered) == text
    assert stat.S_IMODE(lock_path.stat().st_mode) == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml", "pullgate.lock"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


GOOD_ENTRY_LOCK = LockEntry(
    "docker.io/library/nginx:1.27", "sha256:" + "a" * 64, OCI_INDEX, ("linux/amd64",)
)
GOOD_ENTRY = {
    "canonical": GOOD_ENTRY_LOCK.canonical,
    "digest": GOOD_ENTRY_LOCK.digest,
    "media_type": GOOD_ENTRY_LOCK.media_type,
    "platforms": list(GOOD_ENTRY_LOCK.platforms),
}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r":1: not JSON"),
        ("[]", "a lock file is a JSON object"),
        ('{"images": {}}', "unsupported version None"),
        ('{"version": 2, "images": {}}', "unsupported version 2"),
        ('{"version": true, "images": {}}', "unsupported version True"),
        ('{"version": 1}', "`images` must be an object"),
        ('{"version": 1, "images": {"nginx:1.27": "sha256:x"}}', r"\['nginx:1.27'\]: must be"),
        (
            json.dumps({"version": 1, "images": {"nginx:1.27": {**GOOD_ENTRY, "digest": 5}}}),
            "`digest` must be a string",
        ),
        (
            json.dumps({"version": 1, "images": {"nginx:1.27": {**GOOD_ENTRY, "digest": "md5:1"}}}),
            "`digest` 'md5:1'",
        ),
        (
            json.dumps({"version": 1, "images": {"nginx:1.27": {**GOOD_ENTRY, "platforms": "x"}}}),
            "`platforms` must be a list of strings",
        ),
        (
            json.dumps({"version": 1, "images": {"Nginx:1.27": GOOD_ENTRY}}),
            "not an image reference",
        ),
        (
            json.dumps({"version": 1, "images": {"nginx:1.28": GOOD_ENTRY}}),
            "is not 'docker.io/library/nginx:1.28'",
        ),
        (
            json.dumps({"version": 1, "images": {"nginx:1.27": {"digest": GOOD_ENTRY["digest"]}}}),
            "`canonical` must be a string",
        ),
    ],
)
def test_read_lock_says_which_file_and_what_is_wrong(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.lock"
    path.write_text(content)
    with pytest.raises(LockError, match=message) as raised:
        read_lock(str(path))
    assert str(raised.value).startswith(f"{path}:")


def test_read_lock_missing_file_and_extra_fields(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="no such lock file"):
        read_lock(str(tmp_path / "nope.lock"))
    path = tmp_path / "future.lock"
    document = {
        "version": 1,
        "generated-by": "pullgate 9",
        "images": {"nginx:1.27": {**GOOD_ENTRY, "size": 1234}},
    }
    path.write_text(json.dumps(document))
    assert read_lock(str(path)).images == {"nginx:1.27": GOOD_ENTRY_LOCK}


def test_lock_mismatches_and_unlisted(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", unpinned(BLOCK))
    result = check(path)
    plan = plan_pins(resolved(result.uses))
    lock = plan.lock
    uses = resolved(result.uses)
    assert lock_mismatches(uses, lock) == []
    assert lock_unlisted(uses, lock) == []

    moved = "sha256:" + "f" * 64
    moved_uses = [
        replace(u, resolution=replace(u.resolution, digest=moved))
        if u.container.image == "nginx:1.27" and u.resolution is not None
        else u
        for u in uses
    ]
    [(use, locked)] = lock_mismatches(moved_uses, lock)
    assert use.container.name == "comment" and locked == digest_for("nginx:1.27")

    fewer = Lock({k: v for k, v in lock.images.items() if k != "redis"})
    assert [u.container.image for u in lock_unlisted(uses, fewer)] == ["redis"]
    assert lock_mismatches(uses, fewer) == []

    # Offline, nothing resolved: unpinned images cannot be compared, and are not failures.
    assert lock_mismatches(result.uses, lock) == []


def test_a_lock_from_pin_matches_the_pinned_manifests(tmp_path: Path) -> None:
    """`pin --write --lock` then `check --lock`: pinned references find the entry of the
    reference they were pinned from (`redis` → `redis:latest@…`), even offline."""
    path = write(tmp_path, "m.yaml", unpinned(BLOCK))
    _, after, plan = pin_file(path)
    path.write_bytes(after)
    offline = check(path).uses
    assert all(u.reference is not None and u.reference.digest for u in offline)
    assert lock_mismatches(offline, plan.lock) == []
    assert lock_unlisted(offline, plan.lock) == []

    tampered = pinned(BLOCK).replace(digest_for("redis"), "sha256:" + "e" * 64)
    path.write_text(tampered)
    [(use, locked)] = lock_mismatches(check(path).uses, plan.lock)
    assert use.container.image == "redis:latest@sha256:" + "e" * 64
    assert locked == digest_for("redis")


def test_lock_lookup_by_canonical_form(tmp_path: Path) -> None:
    """`docker.io/library/nginx:1.27` in the manifest and `nginx:1.27` in the lock are one
    image."""
    path = write(tmp_path, "m.yaml", unpinned(BLOCK).replace("nginx:1.27", "docker.io/nginx:1.27"))
    uses = resolved(check(path).uses)
    lock = Lock({"nginx:1.27": replace(GOOD_ENTRY_LOCK, digest=digest_for("other"))})
    [(use, locked)] = lock_mismatches(uses, lock)
    assert use.container.image == "docker.io/nginx:1.27"
    assert locked == digest_for("other")


def test_conflicting_digests_for_one_reference_block_the_pin(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", unpinned(HELM))
    uses = resolved(check(path).uses)
    last = next(i for i, u in reversed(list(enumerate(uses))) if u.container.name == "worker")
    resolution = uses[last].resolution
    assert resolution is not None
    uses[last] = replace(uses[last], resolution=replace(resolution, digest="sha256:" + "c" * 64))
    plan = plan_pins(uses)
    [problem] = plan.problems
    assert "elsewhere" in problem.reason and problem.line == uses[last].container.line


# -- end to end against the real registry ------------------------------------------------------

E2E = """\
# Source: pin/templates/app.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: pin}}
spec:
  template:
    spec:
      initContainers:
        - {{name: init, image: {R}/pin/web:1.0}}
      containers:
        - name: web
          image: "{R}/pin/web:1.0"   # the web tier
        - name: multi
          image: '{R}/pin/multi:2.0'
        - name: bare
          image: {R}/pin/bare
        - name: pinned
          image: {R}/pin/web@{WEB}
"""


def test_end_to_end_pin_against_the_real_registry(tmp_path: Path, registry: RegistryServer) -> None:
    web = push_image(registry, "pin/web", "1.0", media="docker")
    multi = push_index(registry, "pin/multi", "2.0", ["linux/amd64", "linux/arm64/v8"])
    bare = push_image(registry, "pin/bare", "latest")
    crlf = E2E.format(R=registry.host, WEB=web.digest).replace("\n", "\r\n")
    path = tmp_path / "app.yaml"
    path.write_bytes(crlf.encode())
    os.chmod(path, 0o600)

    first = run_check(CheckOptions(paths=(str(path),)))
    assert {f.rule for f in first.findings} == {"image-no-tag"}
    plan = plan_check(first)
    assert plan.complete, plan.problems
    assert len(plan.edits) == 4
    changed = pin_texts(plan, {str(path): read_manifest(str(path))})
    write_files(changed)
    lock_path = tmp_path / "images.lock"
    write_lock(str(lock_path), plan.lock)

    text = path.read_bytes().decode()
    r = registry.host
    assert text == (
        crlf.replace(f"{r}/pin/web:1.0", f"{r}/pin/web:1.0@{web.digest}")
        .replace(f"{r}/pin/multi:2.0", f"{r}/pin/multi:2.0@{multi.digest}")
        .replace(f"{r}/pin/bare\r\n", f"{r}/pin/bare:latest@{bare.digest}\r\n")
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.yaml", "images.lock"]

    second = run_check(CheckOptions(paths=(str(path),)))
    assert second.findings == []
    digest_of = {
        u.container.name: u.resolution.digest for u in second.uses if u.resolution is not None
    }
    assert digest_of == {
        "init": web.digest,
        "web": web.digest,
        "multi": multi.digest,
        "bare": bare.digest,
        "pinned": web.digest,
    }
    assert {u.container.name: u.resolution.digest for u in first.uses if u.resolution} == digest_of
    assert skopeo_inspect_digest(registry, "pin/web", "1.0") == web.digest
    assert skopeo_inspect_digest(registry, "pin/multi", "2.0") == multi.digest
    assert skopeo_inspect_digest(registry, "pin/bare", "latest") == bare.digest
    multi_use = next(u for u in second.uses if u.container.name == "multi")
    assert multi_use.resolution is not None
    assert multi_use.resolution.platforms == ("linux/amd64", "linux/arm64")

    lock = read_lock(str(lock_path))
    assert lock == plan.lock
    assert lock.images[f"{registry.host}/pin/multi:2.0"].platforms == ("linux/amd64", "linux/arm64")
    assert lock_mismatches(second.uses, lock) == []
    assert lock_unlisted(second.uses, lock) == []
    assert pin_texts(plan_check(second), {str(path): text}) == {}  # idempotent

    # The tag moves: the unpinned manifests now fail the lock; the pinned ones do not.
    moved = push_image(registry, "pin/web", "1.0", media="docker")
    original = tmp_path / "original.yaml"
    original.write_bytes(crlf.encode())
    third = run_check(CheckOptions(paths=(str(original),)))
    mismatched = sorted(
        (u.container.name, locked) for u, locked in lock_mismatches(third.uses, lock)
    )
    assert mismatched == [("init", web.digest), ("web", web.digest)]
    assert skopeo_inspect_digest(registry, "pin/web", "1.0") == moved.digest
    assert lock_mismatches(run_check(CheckOptions(paths=(str(path),))).uses, lock) == []
