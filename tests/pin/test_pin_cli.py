"""`pullgate pin` and `pullgate check --lock` from the command line, against the real registry."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.registry import RegistryServer
from tests.support.skopeo import skopeo_inspect_digest

MANIFEST = """\
apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers:
    - {{name: a, image: {R}/pincli/web:1.0}}
    - name: b
      image: "{R}/pincli/bare"  # a comment that must survive
"""


def test_diff_write_stdin_and_lock(tmp_path: Path, registry: RegistryServer) -> None:
    web = push_image(registry, "pincli/web", "1.0")
    bare = push_image(registry, "pincli/bare", "latest")
    text = MANIFEST.format(R=registry.host).replace("\n", "\r\n")
    path = tmp_path / "pod.yaml"
    path.write_bytes(text.encode())

    diff = pullgate("pin", str(path))
    assert diff.exit_code == 0, diff.stderr
    assert diff.stdout.startswith(f"--- a/{str(path).lstrip('/')}")
    assert f"+    - {{name: a, image: {registry.host}/pincli/web:1.0@{web.digest}}}" in diff.stdout
    assert path.read_bytes() == text.encode()  # a diff changes nothing

    piped = pullgate("pin", "-", stdin=text.encode())
    assert piped.exit_code == 0, piped.stderr
    assert piped.stdout_bytes.count(b"\r\n") == text.count("\r\n")
    assert web.digest.encode() in piped.stdout_bytes
    assert f"pincli/bare:latest@{bare.digest}".encode() in piped.stdout_bytes

    lock = tmp_path / "pullgate.lock.json"
    written = pullgate("pin", "--write", "--lock", str(lock), str(path))
    assert written.exit_code == 0, written.stderr
    assert "pinned 2 image(s) in 1 file(s)" in written.stderr
    pinned = path.read_bytes()
    assert pinned == piped.stdout_bytes  # same edit either way
    assert b"# a comment that must survive" in pinned
    entries = json.loads(lock.read_text())["images"]
    assert entries[f"{registry.host}/pincli/web:1.0"]["digest"] == web.digest
    assert web.digest == skopeo_inspect_digest(registry, "pincli/web", "1.0")

    again = pullgate("pin", "--write", str(path))
    assert again.exit_code == 0 and path.read_bytes() == pinned  # idempotent

    check = pullgate("check", "--format", "json", str(path))
    assert check.exit_code == 0, check.stdout
    assert json.loads(check.stdout)["findings"] == []


def test_check_lock_fails_a_moved_tag(tmp_path: Path, registry: RegistryServer) -> None:
    push_image(registry, "pincli/moving", "2.0")
    path = tmp_path / "pod.yaml"
    path.write_text(
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n"
        f"    - name: app\n      image: {registry.host}/pincli/moving:2.0\n"
    )
    lock = tmp_path / "lock.json"
    assert pullgate("pin", "--lock", str(lock), str(path)).exit_code == 0
    assert pullgate("check", "--lock", str(lock), str(path)).exit_code == 0
    moved = push_image(registry, "pincli/moving", "2.0")  # someone pushes over the tag
    result = pullgate("check", "--format", "json", "--lock", str(lock), str(path))
    assert result.exit_code == 1
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "image-lock-mismatch"
    assert finding["line"] == 7
    assert moved.digest in finding["message"]


def test_pin_refuses_when_anything_is_unresolved(tmp_path: Path, registry: RegistryServer) -> None:
    push_image(registry, "pincli/ok", "1.0")
    path = tmp_path / "pod.yaml"
    original = (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n"
        f"    - {{name: ok, image: {registry.host}/pincli/ok:1.0}}\n"
        f"    - {{name: gone, image: {registry.host}/pincli/ok:9.9}}\n"
    )
    path.write_text(original)
    result = pullgate("pin", "--write", str(path))
    assert result.exit_code == 1
    assert "nothing pinned" in result.stderr
    assert "pincli/ok:9.9" in result.stderr
    assert path.read_text() == original


def test_pin_usage_errors(tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert pullgate("pin").exit_code == 2
    assert pullgate("pin", "--write", "-", stdin=b"").exit_code == 2
    assert pullgate("pin", "-", str(path)).exit_code == 2
    bad_lock = tmp_path / "bad.json"
    bad_lock.write_text('{"version": 7}')
    result = pullgate("check", "--offline", "--lock", str(bad_lock), str(path))
    assert result.exit_code == 2
    assert str(bad_lock) in result.stderr
