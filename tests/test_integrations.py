"""Where users meet pullgate: the GitHub Action, the GitLab CI template and component, and the
pre-commit hooks, each validated against its host's schema and run for real.

- action.yml: its shell steps run as a runner runs them (tests/support/actions.py): the install
  step once, pip-installing this checkout into a venv, then the gate step per scenario.
- .gitlab-ci-template.yml and templates/pullgate/template.yml: one pipeline under gitlab-ci-local
  (shell executor, one build directory per job) in a temporary git repository that includes the
  template locally and the component from its own commit; each job installs pullgate from a wheel
  of this checkout.
- .pre-commit-hooks.yaml: `pre-commit try-repo` on a commit of this working tree.

Networks touched: PyPI (dependencies, usually from pip's cache) and the test registry on
127.0.0.1. Nothing here skips: a missing tool or schema fails with what to install.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema.validators import validator_for

from tests.support import paths
from tests.support.actions import CompositeRun, run_composite
from tests.support.images import push_image
from tests.support.registry import RegistryServer, free_port

ROOT = paths.ROOT
SCHEMAS = paths.SCHEMAS
GITLAB_CI_LOCAL = ROOT / ".cache" / "npm" / "node_modules" / ".bin" / "gitlab-ci-local"
COMPONENT = ROOT / "templates" / "pullgate" / "template.yml"

IMAGE_LINE = 8  # the `image:` line in every manifest `pod()` writes
CODE_QUALITY_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


# -- shared helpers ---------------------------------------------------------------------------


def pod(image: str, *, name: str = "web", extra: str = "") -> str:
    """A Pod whose container image is on line IMAGE_LINE; `extra` goes under the container."""
    text = textwrap.dedent(
        f"""\
        apiVersion: v1
        kind: Pod
        metadata:
          name: {name}
        spec:
          containers:
            - name: web
              image: {image}
        """
    )
    if extra:
        text += textwrap.indent(textwrap.dedent(extra), " " * 6)
    assert text.splitlines()[IMAGE_LINE - 1].strip() == f"image: {image}"
    return text


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would steer pullgate or look like CI."""
    dropped_prefixes = ("PULLGATE_", "GITHUB_", "GITLAB_", "CI_", "RUNNER_", "PRE_COMMIT")
    dropped = {"CI", "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "NO_COLOR", "VIRTUAL_ENV"}
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(dropped_prefixes) and key not in dropped
    }
    env.update(extra)
    return env


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        [
            "git",
            "-c",
            "user.name=pullgate tests",
            "-c",
            "user.email=tests@pullgate.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=repo,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def schema(name: str) -> Any:
    path = paths.require_shared(SCHEMAS / name, f"schema {name}")
    return json.loads(path.read_text(encoding="utf-8"))


def assert_valid(instance: Any, schema_name: str) -> None:
    document = schema(schema_name)
    validator = validator_for(document)(document)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors[:10]
    )


def require_pre_commit() -> None:
    if importlib.util.find_spec("pre_commit") is None:
        pytest.fail("pre-commit is not installed: it is a test dependency (pip)", pytrace=False)


def require_tool(name: str, how: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not installed: {how}", pytrace=False)
    return found


# -- GitHub Action: metadata -----------------------------------------------------------------


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_action_is_valid_against_github_schema(action: dict[str, Any]) -> None:
    assert_valid(action, "github-action.json")
    assert action["runs"]["using"] == "composite"


def test_action_inputs_mirror_the_cli_and_are_all_used(action: dict[str, Any]) -> None:
    inputs = set(action["inputs"])
    for cli_input in (
        "paths",
        "namespace",
        "config",
        "format",
        "reports",
        "fail-on",
        "offline",
        "platforms",
        "cluster-state",
        "args",
    ):
        assert cli_input in inputs
    assert {"exit-code", "verdict", "sarif-file", "reports", "report-dir"} <= set(action["outputs"])
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    referenced = set(re.findall(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", text))
    referenced |= set(re.findall(r"\binputs\.([A-Za-z0-9_-]+)\s*==", text))
    assert referenced == inputs, "inputs declared but unused, or used but undeclared"
    # Every output is one the gate step writes (the runs below check that it does).
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.gate.outputs.{name} }}}}"
    # User input never lands in the script text: it travels in environment variables.
    for step in action["runs"]["steps"]:
        assert "inputs." not in step.get("run", "")


# -- GitHub Action: runs ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def installed_action(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The action's own setup: Python (stand-in outputs) and the real install step, once."""
    data = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    runner_temp = tmp_path_factory.mktemp("action-runner-temp")
    run = run_composite(
        data,
        inputs={},
        action_path=ROOT,
        workspace=tmp_path_factory.mktemp("action-workspace"),
        runner_temp=runner_temp,
        base_env=clean_env(),
        uses_outputs={"actions/setup-python": {"python-path": sys.executable}},
        only=("python", "install"),
    )
    install = run.step("install")
    assert install.exit_code == 0, install.stdout + install.stderr
    assert "pullgate, version" in install.stdout
    python = install.outputs["python"]
    assert Path(python).is_file()
    assert Path(python).is_relative_to(runner_temp)
    return {"python": python}


def test_action_install_step_installs_the_checkout_into_its_own_venv(
    installed_action: dict[str, str],
) -> None:
    python = installed_action["python"]
    where = subprocess.run(
        [python, "-c", "import gate; print(gate.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env(),
        cwd="/",
    ).stdout.strip()
    # Installed (not the editable checkout), in the venv the install step made.
    assert Path(where).is_relative_to(Path(python).parent.parent)
    assert "site-packages" in where


def run_action(
    action: dict[str, Any],
    installed: Mapping[str, str],
    workspace: Path,
    inputs: Mapping[str, str],
    runner_temp: Path | None = None,
) -> CompositeRun:
    workspace.mkdir(parents=True, exist_ok=True)
    return run_composite(
        action,
        inputs=inputs,
        action_path=ROOT,
        workspace=workspace,
        runner_temp=runner_temp or workspace.parent / "runner-temp",
        base_env=clean_env(),
        given={"python": {"python-path": sys.executable}, "install": dict(installed)},
    )


def gate_result(run: CompositeRun) -> tuple[int, dict[str, str]]:
    """The gate step's exit code and the outputs it wrote, checked against the action's."""
    gate = run.step("gate")
    assert not gate.skipped
    assert gate.outputs, f"no outputs written:\n{gate.stdout}\n{gate.stderr}"
    assert run.outputs["exit-code"] == gate.outputs["exit-code"] == str(gate.exit_code)
    assert run.exit_code == gate.exit_code  # the step fails with pullgate's code
    return gate.exit_code, run.outputs


def load_json_report(outputs: Mapping[str, str]) -> dict[str, Any]:
    path = Path(outputs["json-file"])
    assert path.is_file()
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_action_latest_fails_with_outputs_set(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "manifests" / "web.yaml", pod("nginx:latest"))
    run = run_action(
        action,
        installed_action,
        workspace,
        {"paths": "manifests", "offline": "true", "reports": "json"},
    )
    code, outputs = gate_result(run)
    assert code == 1
    assert outputs["verdict"] == "failed"
    report_dir = Path(outputs["report-dir"])
    assert report_dir.is_absolute() and report_dir.is_dir()
    assert report_dir.is_relative_to(tmp_path / "runner-temp")
    assert outputs["json-file"] == str(report_dir / "pullgate.json")
    assert outputs["reports"].splitlines() == [outputs["json-file"]]
    assert outputs["sarif-file"] == ""  # not asked for
    findings = load_json_report(outputs)["findings"]
    assert [(f["rule"], f["file"], f["line"]) for f in findings] == [
        ("image-latest-tag", "manifests/web.yaml", IMAGE_LINE)
    ]
    assert "pullgate: failed (exit 1)" in run.step("gate").stdout


def test_action_clean_manifest_passes(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "k8s" / "web.yaml", pod("nginx:1.27.3"))
    run = run_action(
        action,
        installed_action,
        workspace,
        {"paths": "k8s\n", "offline": "true", "reports": "json text"},
    )
    code, outputs = gate_result(run)
    assert (code, outputs["verdict"]) == (0, "passed")
    report = load_json_report(outputs)
    assert report["findings"] == []
    assert report["summary"]["files"] == 1 and report["summary"]["errors"] == 0
    assert Path(outputs["text-file"]).read_text(encoding="utf-8").strip()
    assert sorted(outputs["reports"].splitlines()) == sorted(
        [outputs["json-file"], outputs["text-file"]]
    )


def test_action_writes_every_report_format(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "web.yaml", pod("nginx:latest"))
    run = run_action(
        action,
        installed_action,
        workspace,
        {"paths": "web.yaml", "offline": "true", "reports": "sarif\njson\njunit\ngitlab\ntext"},
    )
    code, outputs = gate_result(run)
    assert code == 1
    files = {
        fmt: Path(outputs[f"{fmt}-file"]) for fmt in ("sarif", "json", "junit", "gitlab", "text")
    }
    assert all(path.is_file() and path.stat().st_size > 0 for path in files.values())
    assert sorted(outputs["reports"].splitlines()) == sorted(map(str, files.values()))
    issues = code_quality(files["gitlab"])
    assert [(i["check_name"], i["location"]["lines"]["begin"]) for i in issues] == [
        ("image-latest-tag", IMAGE_LINE)
    ]
    assert junit_counts(files["junit"])[1] == 1
    assert "image-latest-tag" in files["text"].read_text(encoding="utf-8")


def test_action_writes_sarif_by_default_for_upload_sarif(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "deploy" / "web.yaml", pod("nginx:latest"))
    run = run_action(action, installed_action, workspace, {"paths": "deploy", "offline": "true"})
    code, outputs = gate_result(run)
    assert (code, outputs["verdict"]) == (1, "failed")
    sarif_path = Path(outputs["sarif-file"])
    assert sarif_path.name == "pullgate.sarif" and sarif_path.is_file()
    sarif = json.loads(sarif_path.read_text(encoding="utf-8"))
    assert_valid(sarif, "sarif-2.1.0.json")
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["image-latest-tag"]
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "deploy/web.yaml"
    assert location["region"]["startLine"] == IMAGE_LINE


def test_action_annotates_and_summarises_by_default(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "web.yaml", pod("nginx:latest"))
    run = run_action(action, installed_action, workspace, {"paths": "web.yaml", "offline": "true"})
    code, _ = gate_result(run)
    assert code == 1
    gate = run.step("gate")
    annotation = re.search(
        rf"^::error file=web\.yaml,line={IMAGE_LINE}\b[^:]*::.*latest", gate.stdout, re.MULTILINE
    )
    assert annotation, gate.stdout
    assert "image-latest-tag" in gate.summary


def test_action_paths_with_spaces_working_directory_and_report_dir(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    repo = workspace / "my repo"
    write(repo / "clean one" / "a.yaml", pod("nginx:1.27.3", name="a"))
    write(repo / "clean two" / "b b.yaml", pod("redis:7.4.1", name="b"))
    write(repo / "not checked" / "bad.yaml", pod("nginx:latest"))
    run = run_action(
        action,
        installed_action,
        workspace,
        {
            "working-directory": "my repo",
            "paths": "  clean one\n\nclean two/b b.yaml  \n",
            "offline": "true",
            "reports": "json,sarif",
            "report-dir": "out dir/reports",
            "platforms": "linux/amd64, linux/arm64",
        },
    )
    code, outputs = gate_result(run)
    assert (code, outputs["verdict"]) == (0, "passed")
    assert outputs["report-dir"] == str(repo / "out dir" / "reports")
    assert outputs["json-file"] == str(repo / "out dir" / "reports" / "pullgate.json")
    report = load_json_report(outputs)
    assert report["summary"]["files"] == 2
    files = {loc["file"] for image in report["images"] for loc in image["locations"]}
    assert files == {"clean one/a.yaml", "clean two/b b.yaml"}
    assert Path(outputs["sarif-file"]).is_file()


def test_action_unverified_is_exit_3_with_args_split_like_a_shell(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    write(workspace / "web.yaml", pod(f"{closed}/shop/web:1.0"))
    run = run_action(
        action,
        installed_action,
        workspace,
        {"paths": "web.yaml", "reports": "json", "args": "--retries '0' --timeout \"2\""},
    )
    code, outputs = gate_result(run)
    assert (code, outputs["verdict"]) == (3, "unverified")
    rules = {f["rule"] for f in load_json_report(outputs)["findings"]}
    assert rules == {"image-registry-unreachable"}
    assert "--retries 0 --timeout 2" in run.step("gate").stdout  # the command line it ran


def test_action_resolves_images_against_a_registry(
    action: dict[str, Any],
    installed_action: dict[str, str],
    registry: RegistryServer,
    tmp_path: Path,
) -> None:
    pushed = push_image(registry, "integrations/action-web", "1.0", arch="amd64")
    workspace = tmp_path / "workspace"
    write(workspace / "web.yaml", pod(registry.reference("integrations/action-web", "1.0")))
    passing = run_action(
        action, installed_action, workspace, {"paths": "web.yaml", "reports": "json"}
    )
    code, outputs = gate_result(passing)
    assert (code, outputs["verdict"]) == (0, "passed")
    assert [image["digest"] for image in load_json_report(outputs)["images"]] == [pushed.digest]

    # `platforms` reaches the CLI: an amd64-only image cannot run on arm64 nodes.
    failing = run_action(
        action,
        installed_action,
        workspace,
        {"paths": "web.yaml", "reports": "json", "platforms": "linux/amd64\nlinux/arm64"},
        runner_temp=tmp_path / "runner-temp-2",
    )
    code, outputs = gate_result(failing)
    assert (code, outputs["verdict"]) == (1, "failed")
    rules = {f["rule"] for f in load_json_report(outputs)["findings"]}
    assert rules == {"image-platform-missing"}


def test_action_fail_on_and_config_reach_the_cli(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "web.yaml", pod("nginx:1.27.3", extra="imagePullPolicy: Never\n"))
    write(workspace / "ci" / "strict gate.yaml", "fail-on: warning\n")
    base = {"paths": "web.yaml", "offline": "true", "reports": "json"}
    runs = {
        "default": run_action(action, installed_action, workspace, base, tmp_path / "t1"),
        "fail-on": run_action(
            action, installed_action, workspace, {**base, "fail-on": "warning"}, tmp_path / "t2"
        ),
        "config": run_action(
            action,
            installed_action,
            workspace,
            {**base, "config": "ci/strict gate.yaml"},
            tmp_path / "t3",
        ),
    }
    verdicts = {name: gate_result(run)[1]["verdict"] for name, run in runs.items()}
    assert verdicts == {"default": "passed", "fail-on": "failed", "config": "failed"}


def test_action_cluster_state_reaches_the_cli(
    action: dict[str, Any], installed_action: dict[str, str], tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    extra = """\
    env:
      - name: TOKEN
        valueFrom:
          secretKeyRef: {name: app-token, key: token}
    """
    write(workspace / "web.yaml", pod("nginx:1.27.3", extra=extra))
    snapshot = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "app-token", "namespace": "shop"},
                "type": "Opaque",
                "data": {"token": "c2VjcmV0"},
            },
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": "shop"},
            },
        ],
    }
    write(tmp_path / "cluster state" / "shop.json", json.dumps(snapshot))
    base = {"paths": "web.yaml", "offline": "true", "reports": "json", "namespace": "shop"}
    known = run_action(
        action,
        installed_action,
        workspace,
        {**base, "cluster-state": str(tmp_path / "cluster state" / "shop.json")},
        tmp_path / "t1",
    )
    unknown_ns = run_action(
        action,
        installed_action,
        workspace,
        {
            **base,
            "namespace": "other",
            "cluster-state": str(tmp_path / "cluster state" / "shop.json"),
        },
        tmp_path / "t2",
    )
    code, outputs = gate_result(known)
    assert (code, outputs["verdict"]) == (0, "passed"), known.step("gate").stdout
    code, outputs = gate_result(unknown_ns)
    assert (code, outputs["verdict"]) == (1, "failed")
    assert "secret-ref-missing" in {f["rule"] for f in load_json_report(outputs)["findings"]}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"namespace": "Not_A_Namespace"}, "namespace"),
        ({"reports": "json pdf"}, "unknown report format 'pdf'"),
        ({"args": "--timeout '5"}, "cannot split"),
        ({"offline": "maybe"}, "offline must be true or false"),
    ],
)
def test_action_usage_errors_exit_2_with_outputs_set(
    action: dict[str, Any],
    installed_action: dict[str, str],
    tmp_path: Path,
    inputs: dict[str, str],
    message: str,
) -> None:
    workspace = tmp_path / "workspace"
    write(workspace / "web.yaml", pod("nginx:latest"))
    run = run_action(action, installed_action, workspace, {"paths": "web.yaml", **inputs})
    code, outputs = gate_result(run)
    assert (code, outputs["verdict"]) == (2, "error")
    gate = run.step("gate")
    assert message in gate.stdout + gate.stderr
    assert outputs["sarif-file"] == ""  # nothing checked, nothing reported


# -- GitLab CI: files -------------------------------------------------------------------------


def component_documents() -> list[Any]:
    documents = list(yaml.safe_load_all(COMPONENT.read_text(encoding="utf-8")))
    assert len(documents) == 2, "a component is a spec header and the jobs, two documents"
    return documents


def template() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / ".gitlab-ci-template.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_gitlab_template_is_valid_against_gitlab_schema() -> None:
    data = template()
    assert_valid(data, "gitlab-ci.json")
    job = data[".pullgate"]
    assert data["pullgate"] == {"extends": ".pullgate"}
    assert job["allow_failure"] == {"exit_codes": [3]}
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"] == {
        "codequality": "pullgate-report/gl-code-quality-report.json",
        "junit": "pullgate-report/junit.xml",
    }
    assert "pullgate-report/" in job["artifacts"]["paths"]


def test_gitlab_component_is_valid_against_gitlab_schema() -> None:
    header, jobs = component_documents()
    assert_valid(header, "gitlab-ci.json")
    assert_valid(jobs, "gitlab-ci.json")
    declared = set(header["spec"]["inputs"])
    text = COMPONENT.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]", text))
    assert used == declared, "inputs declared but unused, or used but undeclared"


def test_gitlab_component_runs_the_template_scripts() -> None:
    """The component cannot include the template (a component's `local:` include would read the
    consumer's project), so it repeats the job: keep the two identical where it matters."""
    _, jobs = component_documents()
    (component_job,) = jobs.values()
    template_job = template()[".pullgate"]
    for key in ("before_script", "script", "allow_failure", "artifacts", "interruptible"):
        assert component_job[key] == template_job[key], key


# -- GitLab CI: a real pipeline under gitlab-ci-local -----------------------------------------


@dataclass
class GitlabPipeline:
    repo: Path
    output: str
    seconds: float
    results: dict[str, tuple[str, int]]  # job -> (PASS | WARN | FAIL, exit code)

    def reports(self, job: str) -> Path:
        return self.repo / ".gitlab-ci-local" / "artifacts" / job / "pullgate-report"

    def log(self, job: str) -> str:
        return (self.repo / ".gitlab-ci-local" / "output" / f"{job}.log").read_text()


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout and of its dependencies, for the python3 the jobs will run."""
    python3 = require_tool("python3", "the GitLab jobs run python3 from PATH")
    target = tmp_path_factory.mktemp("wheelhouse")
    proc = subprocess.run(
        [python3, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(target), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return target


# gitlab-ci-local's summary (" PASS  job", " WARN  job", " FAIL  job") and, for a job that did
# not pass, its exit code ("job  finished in 11 s  FAIL 1").
_JOB_STATUS = re.compile(r"^ (?P<status>PASS|WARN|FAIL) +(?P<job>\S+)")
_JOB_CODE = re.compile(r"^(?P<job>\S+) +finished in .*\b(?:WARN|FAIL) +(?P<code>\d+)\s*$")


@pytest.fixture(scope="module")
def gitlab_pipeline(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> GitlabPipeline:
    if not GITLAB_CI_LOCAL.exists():
        pytest.fail(
            f"{GITLAB_CI_LOCAL} is missing: `make system-deps` installs gitlab-ci-local",
            pytrace=False,
        )
    require_tool("rsync", "gitlab-ci-local copies each job's build directory with it (apt rsync)")
    require_tool("node", "gitlab-ci-local runs on Node.js")
    (wheel,) = wheelhouse.glob("pullgate-*.whl")

    repo = tmp_path_factory.mktemp("gitlab-project")
    git(repo, "init", "--quiet")
    git(repo, "remote", "add", "origin", "git@gitlab.example.com:acme/manifests.git")
    shutil.copy(ROOT / ".gitlab-ci-template.yml", repo / ".gitlab-ci-template.yml")
    write(repo / "templates" / "pullgate" / "template.yml", COMPONENT.read_text())
    write(repo / "manifests" / "bad" / "web.yaml", pod("nginx:latest"))
    write(repo / "manifests" / "clean dir" / "web.yaml", pod("nginx:1.27.3"))
    write(repo / "manifests" / "clean dir" / "more" / "api.yaml", pod("redis:7.4.1", name="api"))
    closed = f"127.0.0.1:{free_port()}"
    write(repo / "manifests" / "unverified" / "web.yaml", pod(f"{closed}/shop/web:1.0"))
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "manifests")
    sha = git(repo, "rev-parse", "HEAD").strip()

    # Project-level settings a user would make: where pip finds packages (here: offline, from the
    # wheelhouse) and what to install. The component comes from this very commit, as GitLab's
    # own components test themselves ($CI_SERVER_FQDN/$CI_PROJECT_PATH/<name>@$CI_COMMIT_SHA).
    pipeline = {
        "include": [
            {"local": ".gitlab-ci-template.yml"},
            {
                "component": f"gitlab.example.com/acme/manifests/pullgate@{sha}",
                "inputs": {
                    "job_name": "pullgate-component",
                    "paths": "manifests/bad",
                    "offline": True,
                    "pip_spec": str(wheel),
                },
            },
        ],
        "variables": {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse)},
        "pullgate": {
            "variables": {
                "PULLGATE_PIP_SPEC": str(wheel),
                "PULLGATE_PATHS": "manifests/bad",
                "PULLGATE_OFFLINE": "true",
            }
        },
        "pullgate-clean": {
            "extends": ".pullgate",
            "variables": {
                "PULLGATE_PIP_SPEC": str(wheel),
                "PULLGATE_PATHS": "manifests/clean dir/web.yaml\nmanifests/clean dir/more\n",
                "PULLGATE_OFFLINE": "true",
            },
        },
        "pullgate-unverified": {
            "extends": ".pullgate",
            "variables": {
                "PULLGATE_PIP_SPEC": str(wheel),
                "PULLGATE_PATHS": "manifests/unverified",
                "PULLGATE_RETRIES": "0",
            },
        },
        "pullgate-outage-fails": {
            "extends": ".pullgate",
            "variables": {
                "PULLGATE_PIP_SPEC": str(wheel),
                "PULLGATE_PATHS": "manifests/unverified",
                "PULLGATE_RETRIES": "0",
                "PULLGATE_UNVERIFIED_EXIT_CODE": "1",
            },
        },
    }
    write(repo / ".gitlab-ci.yml", yaml.safe_dump(pipeline, sort_keys=False))

    started = time.monotonic()
    proc = subprocess.run(
        [str(GITLAB_CI_LOCAL), "--force-shell-executor", "--shell-isolation", "--no-color"],
        cwd=repo,
        env=clean_env(NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    seconds = time.monotonic() - started
    output = proc.stdout + proc.stderr
    print(f"gitlab-ci-local pipeline: {seconds:.1f} s", file=sys.stderr)
    codes = {m["job"]: int(m["code"]) for m in map(_JOB_CODE.match, output.splitlines()) if m}
    results = {
        m["job"]: (m["status"], codes.get(m["job"], 0))
        for m in map(_JOB_STATUS.match, output.splitlines())
        if m
    }
    # gitlab-ci-local's own exit code counts any job with `allow_failure: {exit_codes}` as
    # allowed to fail, so only the per-job results tell FAIL from WARN.
    assert results, output
    return GitlabPipeline(repo, output, seconds, results)


def code_quality(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    for issue in data:
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert issue["severity"] in CODE_QUALITY_SEVERITIES
        assert isinstance(issue["location"]["path"], str)
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert len({issue["fingerprint"] for issue in data}) == len(data)
    return data


def junit_counts(path: Path) -> tuple[int, int]:
    """(test cases, failures) of a JUnit XML report, read by a real XML parser."""
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    failures = sum(1 for case in cases if case.find("failure") is not None)
    return len(cases), failures


def test_gitlab_pipeline_ran_every_job(gitlab_pipeline: GitlabPipeline) -> None:
    assert set(gitlab_pipeline.results) == {
        "pullgate",
        "pullgate-clean",
        "pullgate-unverified",
        "pullgate-outage-fails",
        "pullgate-component",
    }, gitlab_pipeline.output
    assert gitlab_pipeline.seconds < 120


@pytest.mark.parametrize("job", ["pullgate", "pullgate-component"])
def test_gitlab_latest_fails_and_keeps_its_reports(
    gitlab_pipeline: GitlabPipeline, job: str
) -> None:
    assert gitlab_pipeline.results[job] == ("FAIL", 1), gitlab_pipeline.log(job)
    reports = gitlab_pipeline.reports(job)
    findings = json.loads((reports / "pullgate.json").read_text())["findings"]
    assert [(f["rule"], f["file"], f["line"]) for f in findings] == [
        ("image-latest-tag", "manifests/bad/web.yaml", IMAGE_LINE)
    ]
    issues = code_quality(reports / "gl-code-quality-report.json")
    assert [
        (i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues
    ] == [("image-latest-tag", "manifests/bad/web.yaml", IMAGE_LINE)]
    cases, failures = junit_counts(reports / "junit.xml")
    assert cases >= 1 and failures == 1


def test_gitlab_clean_passes(gitlab_pipeline: GitlabPipeline) -> None:
    assert gitlab_pipeline.results["pullgate-clean"] == ("PASS", 0), gitlab_pipeline.log(
        "pullgate-clean"
    )
    reports = gitlab_pipeline.reports("pullgate-clean")
    report = json.loads((reports / "pullgate.json").read_text())
    assert report["summary"]["files"] == 2 and report["findings"] == []
    assert code_quality(reports / "gl-code-quality-report.json") == []
    cases, failures = junit_counts(reports / "junit.xml")
    assert cases >= 2 and failures == 0


def test_gitlab_unverified_is_an_allowed_failure_unless_configured(
    gitlab_pipeline: GitlabPipeline,
) -> None:
    assert gitlab_pipeline.results["pullgate-unverified"] == ("WARN", 3)
    assert gitlab_pipeline.results["pullgate-outage-fails"] == ("FAIL", 1)
    for job in ("pullgate-unverified", "pullgate-outage-fails"):
        findings = json.loads((gitlab_pipeline.reports(job) / "pullgate.json").read_text())
        assert {f["rule"] for f in findings["findings"]} == {"image-registry-unreachable"}


# -- pre-commit -------------------------------------------------------------------------------


def test_pre_commit_hooks_are_valid() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert_valid(hooks, "pre-commit-hooks.json")
    by_id = {hook["id"]: hook for hook in hooks}
    assert set(by_id) == {"pullgate", "pullgate-offline"}
    for hook in hooks:
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is True
        assert set(hook["types_or"]) == {"yaml", "json"}
        assert hook["require_serial"] is True  # one run sees every file: cross-file secrets
    # a commit may change no manifest: outside a hook, empty input is exit 2
    assert by_id["pullgate"]["entry"] == "pullgate check --allow-empty"
    assert by_id["pullgate-offline"]["entry"] == "pullgate check --offline --allow-empty"
    # pre-commit's own manifest check, too.
    require_pre_commit()
    proc = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", ".pre-commit-hooks.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@dataclass
class HookRun:
    exit_code: int
    output: str
    hooks: dict[str, tuple[str, str]]  # hook id -> (Passed | Failed | ..., its output)


def parse_pre_commit(output: str) -> dict[str, tuple[str, str]]:
    """Per hook: its status line and the output it printed (pre-commit prints a hook's output,
    after `- hook id:`, only when it failed or is verbose)."""
    names = {"pullgate": "pullgate", "pullgate (offline)": "pullgate-offline"}
    hooks: dict[str, tuple[str, str]] = {}
    blocks = re.split(r"^(?=\S.*?\.{3,}\w+$)", output, flags=re.MULTILINE)
    for block in blocks:
        head = re.match(r"^(?P<name>\S.*?)\.{3,}(?P<status>\w+)$", block, re.MULTILINE)
        if head and head["name"] in names:
            hooks[names[head["name"]]] = (head["status"], block[head.end() :])
    return hooks


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree as one commit: what `try-repo` on a pushed pullgate would see.

    try-repo on a dirty checkout commits only staged and modified tracked files (not untracked
    ones, such as a new hooks file), so the tests commit the tracked and untracked files of the
    working tree themselves, which holds whatever state the checkout is in.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert listed.returncode == 0, "the checkout must be a git repository"
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in listed.stdout.decode().split("\0"):
        source = ROOT / name
        if name and source.is_file():
            target = repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    assert (repo / ".pre-commit-hooks.yaml").is_file()
    git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "pullgate working tree")
    return repo


@pytest.fixture(scope="module")
def try_repo(
    hook_repo: Path, registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, HookRun]:
    """`pre-commit try-repo` with both hooks on a `:latest` manifest, then on a clean one.

    The images live in the local test registry, so the network hook really resolves them.
    try-repo keeps its hook environment in a temporary store of its own (it ignores
    PRE_COMMIT_HOME), so each run builds one: ~7 s each.
    """
    require_pre_commit()
    push_image(registry, "integrations/hook-web", "1.0")
    push_image(registry, "integrations/hook-web", "latest")
    project = tmp_path_factory.mktemp("manifests-repo")
    write(project / "bad.yaml", pod(registry.reference("integrations/hook-web", "latest")))
    write(project / "clean.yaml", pod(registry.reference("integrations/hook-web", "1.0")))
    git(project, "init", "--quiet")
    git(project, "add", "--all")
    env = clean_env(PRE_COMMIT_HOME=str(tmp_path_factory.mktemp("pre-commit-home")))
    runs: dict[str, HookRun] = {}
    for name in ("bad.yaml", "clean.yaml"):
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pre_commit",
                "try-repo",
                str(hook_repo),
                "--color",
                "never",
                "--files",
                name,
            ],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        print(f"pre-commit try-repo {name}: {time.monotonic() - started:.1f} s", file=sys.stderr)
        output = proc.stdout + proc.stderr
        runs[name] = HookRun(proc.returncode, output, parse_pre_commit(output))
    return runs


def test_pre_commit_hooks_fail_a_latest_manifest(try_repo: dict[str, HookRun]) -> None:
    run = try_repo["bad.yaml"]
    assert run.exit_code == 1, run.output
    assert set(run.hooks) == {"pullgate", "pullgate-offline"}, run.output
    for hook_id, (status, output) in run.hooks.items():
        assert status == "Failed", hook_id
        assert f"- hook id: {hook_id}" in output
        assert "- exit code: 1" in output
        assert "bad.yaml" in output and "image-latest-tag" in output


def test_pre_commit_hooks_pass_a_clean_manifest(try_repo: dict[str, HookRun]) -> None:
    run = try_repo["clean.yaml"]
    assert run.exit_code == 0, run.output
    assert {hook: status for hook, (status, _) in run.hooks.items()} == {
        "pullgate": "Passed",
        "pullgate-offline": "Passed",
    }, run.output
