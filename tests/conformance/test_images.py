"""Images outside containers, and images the kubelet never pulls (issue 10).

Conformance rows, each with the upstream source that decides it:

- image volume whose tag exists: pulled with the pod's pull secrets before any container
  starts (kubelet `kuberuntime_manager.go` SyncPod, image volumes through the image manager's
  `EnsureImageExists` with the pod's pull secrets);
- image volume whose tag is missing: the pod never starts, ErrImagePull (same);
- image volume on `latest` or no tag: a moving target, as for a container
  (`pkg/apis/core/v1/defaults.go` `SetDefaults_ImageVolumeSource`: Always for latest);
- image volume without a reference: the API server rejects the pod
  (`pkg/apis/core/validation/validation.go` `validateImageVolumeSource`);
- `pullPolicy: Never` (image volume or container): no registry contact, no keyring;
  ErrImageNeverPull where the node lacks it (`pkg/kubelet/images/image_manager.go`
  `EnsureImageExists`, `shouldPullImage`);
- an OCI artifact as an image volume: a valid source, with no platform (KEP-4639); mounted
  with its files by CRI-O 1.33+ (`server/container_create_linux.go` `mountArtifact`), as an
  empty snapshot by containerd 2.1+ (`internal/cri/server/container_image_mount.go`
  `mutateImageMount`: no layer is an image layer, so the chain ID is empty); containerd 1.7
  and 2.0 mount no image volume (`WithMounts`: `failed to mkdir ""`).

Registry rows run against the real distribution registry (htpasswd mode, so every pull needs
the pod's credentials); digests are checked with skopeo.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import pullgate
from tests.support.images import (
    OCI_MANIFEST,
    push_image,
    put_manifest,
    registry_client,
    sha256_digest,
    upload_blob,
)
from tests.support.registry import TEST_USERS, RegistryServer, user_credentials
from tests.support.skopeo import skopeo_inspect_digest

PASSWORD = TEST_USERS["alice"]
ARTIFACT_CONFIG = "application/vnd.example.model.config.v1+json"


def pull_secret(host: str) -> str:
    config = json.dumps({"auths": {host: {"username": "alice", "password": PASSWORD}}})
    encoded = base64.b64encode(config.encode()).decode()
    return (
        "apiVersion: v1\nkind: Secret\nmetadata: {name: regcred, namespace: ml}\n"
        f"type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {encoded}\n"
    )


def deployment(
    app: str, volume: str, *, pull_policy: str | None = None, secret: bool = True
) -> str:
    policy = f"\n                pullPolicy: {pull_policy}" if pull_policy else ""
    secrets = "      imagePullSecrets: [{name: regcred}]\n" if secret else ""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: infer, namespace: ml}}
spec:
  template:
    spec:
{secrets}      containers:
        - name: server
          image: {app}
          volumeMounts: [{{name: model, mountPath: /models}}]
      volumes:
        - name: model
          image:
                reference: {volume}{policy}
"""


def push_artifact(server: RegistryServer, repo: str, tag: str) -> str:
    """An OCI artifact: an image manifest whose config is not an image config."""
    with registry_client(server) as client:
        config = b'{"framework": "onnx"}'
        layer = b"model weights"
        config_digest = upload_blob(client, repo, config)
        layer_digest = upload_blob(client, repo, layer)
        doc = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": ARTIFACT_CONFIG,
            "config": {"mediaType": ARTIFACT_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [
                {
                    "mediaType": "application/octet-stream",
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
        raw = json.dumps(doc, indent=3).encode()
        put_manifest(client, repo, tag, raw, OCI_MANIFEST)
        return sha256_digest(raw)


def check(tmp_path: Path, *docs: str, args: tuple[str, ...] = ()) -> tuple[int, Any]:
    path = tmp_path / "set.yaml"
    path.write_text("---\n".join(docs))
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    result = pullgate(
        "check", "--format", "json", "--no-ci-logins", *args, str(path), env={"HOME": str(home)}
    )
    assert PASSWORD not in result.stdout + result.stderr
    return result.exit_code, json.loads(result.stdout)


def line_of(tmp_path: Path, needle: str) -> int:
    lines = (tmp_path / "set.yaml").read_text().splitlines()
    [number] = [n for n, text in enumerate(lines, 1) if needle in text]
    return number


@pytest.fixture(scope="module")
def pushed(htpasswd_registry: RegistryServer) -> dict[str, str]:
    server = htpasswd_registry
    return {
        "app": push_image(server, "ml/server", "1.0").digest,
        "model": push_image(server, "ml/weights", "2024.1").digest,
        "artifact": push_artifact(server, "ml/onnx", "v1"),
    }


def test_image_volume_is_pulled_with_the_pods_credentials(
    tmp_path: Path, htpasswd_registry: RegistryServer, pushed: dict[str, str]
) -> None:
    host = htpasswd_registry.host
    volume = f"{host}/ml/weights:2024.1"
    code, report = check(tmp_path, pull_secret(host), deployment(f"{host}/ml/server:1.0", volume))
    assert code == 0, report["findings"]
    images = {i["reference"]: i for i in report["images"]}
    model = images[volume]
    assert model["digest"] == pushed["model"]
    assert model["digest"] == skopeo_inspect_digest(
        htpasswd_registry, "ml/weights", "2024.1", creds=user_credentials("alice")
    )
    assert model["credential"] == "secret:ml/regcred"
    [location] = model["locations"]
    assert location["volume"] == "model" and location["container"] is None
    assert location["line"] == line_of(tmp_path, f"reference: {volume}")
    assert "volume" not in images[f"{host}/ml/server:1.0"]["locations"][0]
    assert report["summary"]["images"] == 2


def test_image_volume_with_a_missing_tag_fails_at_its_reference(
    tmp_path: Path, htpasswd_registry: RegistryServer, pushed: dict[str, str]
) -> None:
    host = htpasswd_registry.host
    volume = f"{host}/ml/weights:2099.9"
    code, report = check(tmp_path, pull_secret(host), deployment(f"{host}/ml/server:1.0", volume))
    assert code == 1
    [finding] = report["findings"]
    assert finding["rule"] == "image-tag-not-found"
    assert finding["volume"] == "model" and finding["container"] is None
    assert finding["line"] == line_of(tmp_path, f"reference: {volume}")


def test_image_volume_without_the_pods_secret_is_unauthorized(
    tmp_path: Path, htpasswd_registry: RegistryServer, pushed: dict[str, str]
) -> None:
    host = htpasswd_registry.host
    doc = deployment(f"{host}/ml/server:1.0", f"{host}/ml/weights:2024.1", secret=False)
    code, report = check(tmp_path, doc)
    assert code == 1
    assert {(f["rule"], f.get("volume"), f["container"]) for f in report["findings"]} == {
        ("image-pull-unauthorized", None, "server"),
        ("image-pull-unauthorized", "model", None),
    }


@pytest.mark.parametrize(
    ("runtime", "volume_rule"),
    [
        ("cri-o", None),  # CRI-O 1.33+ `mountArtifact`: each titled layer bound as a file
        ("containerd-2.1", "image-volume-unsupported"),  # an empty snapshot: no files
        ("containerd-2.0", "image-volume-unsupported"),  # no image volumes at all
    ],
)
def test_an_oci_artifact_as_an_image_volume(
    tmp_path: Path,
    htpasswd_registry: RegistryServer,
    pushed: dict[str, str],
    runtime: str,
    volume_rule: str | None,
) -> None:
    """A valid image-volume source (KEP-4639) with no platform to miss; whether its files are
    there is the runtime's (gate/policy/volumes.py cites containerd's and CRI-O's code)."""
    host = htpasswd_registry.host
    volume = f"{host}/ml/onnx:v1"
    code, report = check(
        tmp_path,
        pull_secret(host),
        deployment(f"{host}/ml/server:1.0", volume),
        args=("--platform", "linux/arm64", "--runtime", runtime),
    )
    images = {i["reference"]: i for i in report["images"]}
    assert images[volume]["digest"] == pushed["artifact"]
    assert images[volume]["platforms"] == []  # an artifact has no platform to miss
    # the arm64 node lacks the amd64-only server image; the artifact misses no platform
    expected = [("image-platform-missing", "server", None)]
    if volume_rule is not None:
        expected.append((volume_rule, None, "model"))
    got = [(f["rule"], f["container"], f.get("volume")) for f in report["findings"]]
    assert sorted(got, key=str) == sorted(expected, key=str)
    for finding in report["findings"]:
        if finding.get("volume"):
            assert finding["line"] == line_of(tmp_path, f"reference: {volume}")
    assert code == 1


@pytest.mark.parametrize(
    ("volume", "rule"),
    [
        ("HOST/ml/weights:latest", "image-latest-tag"),
        ("HOST/ml/weights", "image-no-tag"),
        ("HOST/ML/Weights:1", "image-reference-invalid"),
    ],
)
def test_static_rules_apply_to_image_volumes(tmp_path: Path, volume: str, rule: str) -> None:
    volume = volume.replace("HOST", "registry.example.com")
    doc = deployment("registry.example.com/app:1", volume, secret=False)
    code, report = check(tmp_path, doc, args=("--offline",))
    [finding] = [f for f in report["findings"] if f.get("volume") == "model"]
    assert finding["rule"] == rule
    assert finding["line"] == line_of(tmp_path, f"reference: {volume}")
    assert code == 1


@pytest.mark.parametrize(
    ("runtime", "found"),
    [
        ("containerd-1.7", True),
        ("containerd-2.0", True),
        ("containerd-2.1", False),
        ("cri-o", False),
    ],
)
def test_runtimes_without_image_volumes(tmp_path: Path, runtime: str, found: bool) -> None:
    """containerd 1.7 and 2.0 have no `Mount.image`: the kubelet's mount reaches `WithMounts`
    with an empty host path and CreateContainer fails; known without asking any registry."""
    doc = deployment("registry.example.com/app:1", "registry.example.com/model:1", secret=False)
    code, report = check(tmp_path, doc, args=("--offline", "--runtime", runtime))
    rules = [(f["rule"], f.get("volume")) for f in report["findings"]]
    assert rules == ([("image-volume-unsupported", "model")] if found else [])
    assert code == (1 if found else 0)
    if found:
        [finding] = report["findings"]
        assert finding["line"] == line_of(tmp_path, "reference: registry.example.com/model:1")
        assert "--runtime" in finding["hint"]


def test_image_volume_without_a_reference_is_rejected(tmp_path: Path) -> None:
    doc = deployment("registry.example.com/app:1", "x", secret=False).replace(
        "          image:\n                reference: x\n", "          image: {}\n"
    )
    code, report = check(tmp_path, doc, args=("--offline",))
    [finding] = report["findings"]
    assert finding["rule"] == "image-reference-invalid"
    assert "image volume model has no reference" in finding["message"]
    assert finding["line"] == line_of(tmp_path, "image: {}")
    assert code == 1


def test_pull_policy_never_asks_no_registry(tmp_path: Path) -> None:
    """With `Never` the kubelet runs what the node holds: the gate asks no registry (this host
    does not even resolve) and keeps only the warning, for containers and image volumes."""
    app = "never-resolves.invalid/app:1.0"
    volume = "never-resolves.invalid/weights:1"
    doc = deployment(app, volume, pull_policy="Never", secret=False).replace(
        f"image: {app}\n", f"image: {app}\n          imagePullPolicy: Never\n"
    )
    code, report = check(tmp_path, doc, args=("--retries", "0"))
    assert code == 0, report["findings"]
    assert {(f["rule"], f["severity"]) for f in report["findings"]} == {
        ("image-pull-policy-never", "warning")
    }
    assert len(report["findings"]) == 2
    assert {i["status"] for i in report["images"]} == {"not-pulled"}
    messages = sorted(f["message"] for f in report["findings"])
    assert "image volume model has `pullPolicy: Never`" in messages[1]


def test_pin_pins_image_volumes_and_leaves_never_alone(
    tmp_path: Path, registry: RegistryServer
) -> None:
    host = registry.host
    model = push_image(registry, "pin/model", "3").digest
    app = f"{host}/pin/app:1"
    push_image(registry, "pin/app", "1")
    doc = deployment(app, f"{host}/pin/model:3", secret=False).replace(
        f"image: {app}\n", f"image: {app}\n          imagePullPolicy: Never\n"
    )
    path = tmp_path / "set.yaml"
    path.write_text(doc)
    lock = tmp_path / "lock.json"
    result = pullgate("pin", "--write", "--no-ci-logins", "--lock", str(lock), str(path))
    assert result.exit_code == 0, result.stderr
    text = path.read_text()
    assert f"reference: {host}/pin/model:3@{model}" in text
    assert f"image: {app}\n" in text  # Never: what the node holds, not a registry's digest
    assert set(json.loads(lock.read_text())["images"]) == {f"{host}/pin/model:3"}


def test_an_oci_artifact_cannot_run_as_a_container(
    tmp_path: Path, htpasswd_registry: RegistryServer, pushed: dict[str, str]
) -> None:
    """containerd 2.1+ (`internal/cri/server/images/image_pull.go` pulls through the transfer
    service, `container_create.go` then has no process to run) and CRI-O
    (`server/container_create.go` `resolveAndVerifyContainerImage` finds no image) fail the
    container with CreateContainerError; containerd's local pull fails in `getLayers`."""
    host = htpasswd_registry.host
    artifact = f"{host}/ml/onnx:v1"
    code, report = check(
        tmp_path, pull_secret(host), deployment(artifact, f"{host}/ml/weights:2024.1")
    )
    assert code == 1
    [finding] = report["findings"]
    assert finding["rule"] == "image-not-runnable"
    assert finding["container"] == "server"
    assert ARTIFACT_CONFIG in finding["message"]
    assert finding["line"] == line_of(tmp_path, f"image: {artifact}")


def test_check_lock_never_asks_for_a_never_image(tmp_path: Path) -> None:
    """`pin --lock` leaves pull-policy-Never images out of the lock, so `check --lock` must not
    call them unlisted: the kubelet runs what the node holds under that name."""
    lock = tmp_path / "lock.json"
    lock.write_text('{"version": 1, "images": {}}')
    app = "registry.example.com/app:1"
    doc = deployment(app, "registry.example.com/weights:1", pull_policy="Never", secret=False)
    doc = doc.replace(f"image: {app}\n", f"image: {app}\n          imagePullPolicy: Never\n")
    code, report = check(tmp_path, doc, args=("--offline", "--lock", str(lock)))
    assert code == 0, report["findings"]
    assert {f["rule"] for f in report["findings"]} == {"image-pull-policy-never"}
