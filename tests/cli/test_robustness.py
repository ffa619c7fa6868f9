"""Bad input, bad setup and bugs end as one plain line and the contract's exit code."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import gate.pipeline
from gate.extract import extract
from gate.load import load_text
from gate.platform import Platform
from gate.policy.platforms import pod_platforms
from tests.support.cli import pullgate

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
    "    - {name: c, image: 'busybox:1.36'}\n"
)


def _pod(tmp_path: Path, text: str = POD) -> str:
    path = tmp_path / "pod.yaml"
    path.write_text(text)
    return str(path)


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = pullgate(*args, env=env)
    assert not isinstance(result.exception, (AssertionError, TypeError, ValueError)), (
        result.exception
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("setup", "args", "expected"),
    [
        ("bad-pem", ("--ca-file", "{tmp}/bad.pem"), "not a PEM CA bundle"),
        (None, ("--insecure-registry", "http://registry.local:5000"), "no scheme"),
        ("kubeconfig-port", ("--cluster", "--kubeconfig", "{tmp}/kc.yaml"), "is not a URL"),
        ("kubeconfig-socks", ("--cluster", "--kubeconfig", "{tmp}/kc.yaml"), "proxy-url"),
        ("kubeconfig-secret", ("--cluster", "--kubeconfig", "{tmp}/kc.yaml"), "not valid YAML"),
    ],
)
def test_setup_problems_exit_2(
    tmp_path: Path, setup: str | None, args: tuple[str, ...], expected: str
) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate")
    kubeconfig = {
        "kubeconfig-port": "server: https://127.0.0.1:abc",
        "kubeconfig-socks": "server: https://127.0.0.1:6443, proxy-url: 'socks5://127.0.0.1:1080'",
    }
    if setup in kubeconfig:
        (tmp_path / "kc.yaml").write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
            f"clusters: [{{name: k, cluster: {{{kubeconfig[setup]}}}}}]\n"
            "users: [{name: u, user: {token: t}}]\n"
        )
    if setup == "kubeconfig-secret":
        (tmp_path / "kc.yaml").write_text('users:\n- user:\n    token: "SECRET-TOKEN-VALUE\n')
    rendered = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, out, err = _run("check", *rendered, _pod(tmp_path))
    assert code == 2, err
    assert out == ""
    assert expected in err
    assert "Traceback" not in err and "SECRET-TOKEN-VALUE" not in err


def test_exec_plugin_that_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    plugin.write_text("echo no interpreter line\n")  # executable, but exec() refuses it
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "kc.yaml").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:6443'}}]\n"
        "users:\n- name: u\n  user:\n    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1\n"
        f"      command: {plugin}\n      interactiveMode: Never\n"
    )
    code, _, err = _run(
        "check", "--cluster", "--kubeconfig", str(tmp_path / "kc.yaml"), _pod(tmp_path)
    )
    assert code in (2, 3)
    assert "exec plugin" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["soon", "inf", "nan", "-1", "31"])
def test_bad_backoff_variable_is_a_usage_error(tmp_path: Path, value: str) -> None:
    """PULLGATE_BACKOFF=inf once made every retry wait forever: finite, 0 to 30 s."""
    code, out, err = _run("check", _pod(tmp_path), env={"PULLGATE_BACKOFF": value})
    assert code == 2 and "PULLGATE_BACKOFF" in err and "from 0 to 30" in err, err
    assert out == "" and "Traceback" not in err


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nan", "is not a finite number of seconds"),
        ("inf", "not in the range"),
        ("0", "not in the range"),
        ("601", "not in the range"),
    ],
)
def test_timeout_must_be_a_finite_bounded_number(tmp_path: Path, value: str, message: str) -> None:
    """`--timeout nan` was an "internal error": NaN compares false with every bound."""
    code, out, err = _run("check", "--timeout", value, _pod(tmp_path))
    assert code == 2 and "--timeout" in err and message in err, err
    assert out == "" and "Traceback" not in err


def test_config_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    config = tmp_path / ".pullgate.yaml"
    config.write_bytes(b"namespace: \xff\n")
    code, _, err = _run("check", "--offline", "--config", str(config), _pod(tmp_path))
    assert code == 2 and "not UTF-8" in err


def test_stdin_that_is_not_utf8_is_a_finding() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gate", "check", "--offline", "--format", "json", "-"],
        input=b"apiVersion: v1\nkind: Pod\nmetadata: {name: \xff}\n",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["rule"] == "manifest-invalid" and "UTF-8" in finding["message"]


def test_an_integer_over_the_digit_limit_is_a_finding(tmp_path: Path) -> None:
    text = (
        POD
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {n: "
        + "9" * 5000
        + "}\n"
    )
    code, out, _ = _run("check", "--offline", "--format", "json", _pod(tmp_path, text))
    assert code == 1
    assert [f["rule"] for f in json.loads(out)["findings"]] == ["manifest-invalid"]


def test_an_image_that_is_a_number_is_invalid(tmp_path: Path) -> None:
    text = POD.replace("image: 'busybox:1.36'", "image: 12345")
    code, out, _ = _run("check", "--offline", "--format", "json", _pod(tmp_path, text))
    assert code == 1
    [finding] = json.loads(out)["findings"]
    assert finding["rule"] == "image-reference-invalid"
    assert "not a string" in finding["message"]


def test_malformed_affinity_values_do_not_crash() -> None:
    text = POD.replace(
        "spec:\n",
        "spec:\n  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
        "{nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, "
        "values: 5}]}]}}}\n",
    )
    [pod] = extract(load_text(text, "pod.yaml").objects)
    assert pod_platforms(pod, [Platform("linux", "amd64")]) == []


def test_an_unexpected_error_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(gate.pipeline, "run_check", broken)
    code, out, err = _run("check", "--offline", _pod(tmp_path))
    assert code == 2
    assert out == ""
    assert "internal error: RuntimeError: simulated bug" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("where", ["directory", "under-a-file"])
def test_a_bad_report_path_fails_before_any_network_work(tmp_path: Path, where: str) -> None:
    """A --report that cannot be written was found only after the whole check, losing the
    verdict: now it is exit 2 before any registry is asked."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: a, image: '127.0.0.1:1/app:1.0'}]\n"
    )
    (tmp_path / "a-file").write_text("")
    target = tmp_path if where == "directory" else tmp_path / "a-file" / "report.json"
    code, out, err = _run("check", "-vv", "--report", f"json={target}", str(manifest))
    assert code == 2, err
    assert f"--report {target}" in err
    assert "HTTP Request" not in err and "127.0.0.1:1" not in err  # nothing was asked
    assert out == ""


def test_reports_are_written_whole(tmp_path: Path) -> None:
    """Reports are staged and renamed (gate.atomic), so no reader sees half of one; no
    staging file is left behind."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: a, image: 'nginx:1.27'}]\n"
    )
    out_dir = tmp_path / "out"
    code, _, err = _run(
        "check", "--offline", "--report", f"json={out_dir / 'r.json'}", str(manifest)
    )
    assert code == 0, err
    assert json.loads((out_dir / "r.json").read_text())["summary"]["images"] == 1
    assert sorted(p.name for p in out_dir.iterdir()) == ["r.json"]


def test_a_report_to_a_stream_is_written_in_place(tmp_path: Path) -> None:
    """`--report json=/dev/stdout` (or a pipe, `>(jq .)`): nothing can be renamed over a
    stream, so it is written in place; staging it failed after the whole check."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: a, image: 'nginx:1.27'}]\n"
    )
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    code, _, err = _run("check", "--offline", "--report", f"json={fifo}", str(manifest))
    reader.join(30)
    assert code == 0, err
    assert json.loads(received[0])["summary"]["images"] == 1


def test_file_names_are_shown_escaped(tmp_path: Path) -> None:
    """A pull request controls its file names as much as its manifests: a newline in one
    must not start a workflow command in the text report or an error line."""
    hostile = tmp_path / "x\n::add-mask::secret.yaml"
    hostile.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: a, image: 'nginx'}]\n"
    )
    code, out, err = _run("check", "--offline", str(hostile))
    assert code == 1
    assert not any(line.startswith("::") for line in (out + err).splitlines())
    assert "x\\n::add-mask::secret.yaml" in out
