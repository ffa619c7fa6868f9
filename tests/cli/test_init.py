"""`pullgate init` (issue 16): a commented .pullgate.yaml from what the manifests show, that
the config loader takes as written, and never written over an existing one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gate.atomic import create_file
from gate.config import load_config
from gate.platform import Platform
from tests.support.cli import pullgate

BUNDLE = """\
kind: Deployment
apiVersion: apps/v1
metadata: {namespace: kong, name: proxy}
spec: {template: {spec: {imagePullSecrets: [{name: kong-registry}], containers: [
  {name: proxy, image: "kong/kong-gateway:3.4", env: [{name: KONG_LICENSE_DATA,
   valueFrom: {secretKeyRef: {key: license, name: kong-enterprise-license}}}]}]}}}
---
{"kind": "DaemonSet", "apiVersion": "apps/v1", "metadata": {"name": "agent"},
 "spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/arch": "arm64"},
   "containers": [{"name": "agent", "image": "ghcr.io/acme/agent:1.0"}]}}}}
---
kind: Pod
apiVersion: v1
metadata: {name: probe}
spec:
  containers:
    - name: probe
      image: "registry.example.com/tools/probe:2"
      envFrom: [{secretRef: {name: probe-token}}]
  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [
    {matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}]}]}}}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(cwd)


def test_init_in_an_empty_directory_writes_the_defaults_commented(workdir: Path) -> None:
    result = pullgate("init")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # the file is the output; one line on stderr says where
    assert "wrote .pullgate.yaml (0 files, 0 objects)" in result.stderr
    text = (workdir / ".pullgate.yaml").read_text()
    assert "# platforms: [linux/amd64]" in text and "# namespace: default" in text
    config = load_config(workdir / ".pullgate.yaml")  # all of it commented: the defaults
    assert config.platforms == () and config.namespace is None


def test_init_in_a_populated_directory_sets_what_the_manifests_show(workdir: Path) -> None:
    (workdir / "deploy").mkdir()
    (workdir / "deploy" / "bundle.yaml").write_text(BUNDLE)
    result = pullgate("init")
    assert result.exit_code == 0, result.stderr
    path = workdir / ".pullgate.yaml"
    text = path.read_text()
    config = load_config(path)
    # unnamespaced objects go where the others are written; the selectors name the nodes
    assert config.namespace == "kong"
    assert config.platforms == (Platform("linux", "amd64"), Platform("linux", "arm64"))
    assert "# Registries the images come from (distinct images): docker.io (1), " in text
    assert "ghcr.io (1), registry.example.com (1)." in text
    for secret in ("kong/kong-registry", "kong/kong-enterprise-license", "kong/probe-token"):
        assert f'#     - {{name: "{secret}", reason: "<who creates it>"}}' in text
    before = pullgate("check", "--offline", "--format", "json", "deploy")
    assert '"pull-secret-missing"' in before.stdout and '"secret-ref-missing"' in before.stdout
    # uncommenting the block the survey wrote declares exactly the Secrets found missing
    lines = text.splitlines()
    start = lines.index("# secrets:")
    end = lines.index("", start)
    lines[start:end] = [line[2:] for line in lines[start:end]]
    path.write_text("\n".join(lines) + "\n")
    after = pullgate("check", "--offline", "--format", "json", "deploy")
    assert '"pull-secret-missing"' not in after.stdout
    assert '"secret-ref-missing"' not in after.stdout


@pytest.mark.parametrize("name", [".pullgate.yaml", ".pullgate.yml"])
def test_init_never_overwrites_a_config(workdir: Path, name: str) -> None:
    (workdir / name).write_text("fail-on: warning\n")
    result = pullgate("init")
    assert result.exit_code == 2
    assert f"{name} already exists: not overwritten" in result.stderr
    assert (workdir / name).read_text() == "fail-on: warning\n"
    assert sorted(p.name for p in workdir.iterdir()) == [name]  # nothing staged is left


def test_init_to_stdout_writes_no_file(workdir: Path) -> None:
    (workdir / "bundle.yaml").write_text(BUNDLE)
    result = pullgate("init", "--output", "-")
    assert result.exit_code == 0
    assert result.stdout.startswith("# .pullgate.yaml, written by `pullgate init`")
    assert 'platforms: ["linux/amd64", "linux/arm64"]' in result.stdout
    assert not (workdir / ".pullgate.yaml").exists()


def test_a_new_file_is_created_whole_and_never_over_another(tmp_path: Path) -> None:
    """The race `init` cannot see: the file appears after it looked. The link into place
    fails, the other file is untouched and the staged copy is removed."""
    target = tmp_path / "config.yaml"
    create_file(str(target), "a: 1\n")
    assert target.read_text() == "a: 1\n"
    with pytest.raises(FileExistsError):
        create_file(str(target), "b: 2\n")
    assert target.read_text() == "a: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_a_selector_value_no_node_has_writes_no_platform(workdir: Path) -> None:
    """An empty os label (an unset Helm value) names no platform: the written config still
    loads (a reviewer found `/arm64` written, which the loader refused)."""
    (workdir / "odd.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n"
        "spec: {nodeSelector: {kubernetes.io/os: '', kubernetes.io/arch: arm64},\n"
        "  containers: [{name: a, image: 'nginx:1'}]}\n"
    )
    assert pullgate("init").exit_code == 0
    assert load_config(workdir / ".pullgate.yaml").platforms == ()


def test_names_yaml_would_read_as_numbers_or_booleans_are_written_as_strings(
    workdir: Path,
) -> None:
    """A namespace `123` or `yes` is a valid name; written plain, YAML would read an int or a
    bool and the loader would refuse the config (a reviewer's finding)."""
    for namespace in ("123", "yes"):
        config = workdir / ".pullgate.yaml"
        config.unlink(missing_ok=True)
        (workdir / "set.yaml").write_text(
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: a, namespace: '{namespace}'}}\n"
            "spec: {containers: [{name: a, image: 'nginx:1'}]}\n---\n"
            "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\n"
            "spec: {containers: [{name: a, image: 'nginx:1'}]}\n"
        )
        assert pullgate("init").exit_code == 0
        assert load_config(config).namespace == namespace


def test_init_refuses_a_second_config_name_and_a_directory_name(workdir: Path) -> None:
    """However the path is written, a config under the other name beside it is not doubled
    (the nearer name would be read instead of the user's); `missing/` is not a file."""
    (workdir / "sub").mkdir()
    (workdir / "sub" / ".pullgate.yml").write_text("fail-on: warning\n")
    for output in ("sub/.pullgate.yaml", "./sub/.pullgate.yaml"):
        result = pullgate("init", "--output", output)
        assert result.exit_code == 2 and ".pullgate.yml already exists" in result.stderr
    result = pullgate("init", "--output", "missing/")
    assert result.exit_code == 2 and "give a file name, not a directory" in result.stderr
    assert sorted(p.name for p in workdir.iterdir()) == ["sub"]
