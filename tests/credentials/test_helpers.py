"""The docker-credential-helpers protocol, against a real helper program.

Each test writes an executable `docker-credential-fake` into a temporary directory and puts it
on PATH: the code under test finds it, runs it without a shell, writes the server URL to its
stdin and reads its answer, exactly as it would run `docker-credential-gcloud`.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from gate.credentials import Credential
from gate.credentials.helpers import (
    CredentialHelperError,
    CredentialHelpers,
    helper_program,
    run_helper,
)

PASSWORD = "helper-Pa55word-xyz"
TOKEN = "helper-refresh-token-abc"

FOUND = f"""
import json, sys
server = sys.stdin.read()
assert sys.argv[1:] == ["get"], sys.argv
if server == "registry.example.com":
    print(json.dumps({{"ServerURL": server, "Username": "alice", "Secret": "{PASSWORD}"}}))
elif server == "https://index.docker.io/v1/":
    print(json.dumps({{"ServerURL": server, "Username": "<token>", "Secret": "{TOKEN}"}}))
elif server == "empty.example.com":
    print(json.dumps({{"ServerURL": server, "Username": "", "Secret": ""}}))
else:
    print("credentials not found in native keychain")
    sys.exit(1)
"""

CRASH = f"""
import sys
sys.stdin.read()
print("Traceback: secret was {PASSWORD}")
print("token {TOKEN}", file=sys.stderr)
sys.exit(3)
"""

GARBAGE = f"""
import sys
sys.stdin.read()
print("user=alice password={PASSWORD}")
"""

SLOW = """
import subprocess, sys, time
sys.stdin.read()
# a child holding stdout open: killing only the helper would leave the pipe open
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
time.sleep(30)
"""

COUNTING = """
import json, os, sys
server = sys.stdin.read()
with open(os.environ["FAKE_HELPER_LOG"], "a") as log:
    log.write(server + "\\n")
print(json.dumps({"ServerURL": server, "Username": "alice", "Secret": "pw"}))
"""


def install_helper(directory: Path, body: str, name: str = "fake") -> Path:
    """Write `docker-credential-<name>` as an executable Python script."""
    program = directory / f"docker-credential-{name}"
    program.write_text(f"#!{sys.executable}\n{body}")
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return program


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
    return directory


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    assert TOKEN not in text


def test_found(bin_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    install_helper(bin_dir, FOUND)
    with caplog.at_level(logging.DEBUG):
        credential = run_helper("fake", "registry.example.com")
    assert credential == Credential("helper:fake", username="alice", password=PASSWORD)
    assert credential is not None
    assert credential.identity_token is None
    assert_no_secret(repr(credential) + str(credential) + caplog.text)


def test_identity_token(bin_dir: Path) -> None:
    install_helper(bin_dir, FOUND)
    credential = run_helper("fake", "https://index.docker.io/v1/")
    assert credential == Credential("helper:fake", identity_token=TOKEN)
    assert credential is not None
    assert credential.username is None
    assert credential.password is None


def test_not_found(bin_dir: Path) -> None:
    install_helper(bin_dir, FOUND)
    assert run_helper("fake", "other.example.com") is None


def test_empty_answer_is_no_credential(bin_dir: Path) -> None:
    install_helper(bin_dir, FOUND)
    assert run_helper("fake", "empty.example.com") is None


def test_crash_message_hides_the_output(bin_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    install_helper(bin_dir, CRASH)
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialHelperError) as caught:
        run_helper("fake", "registry.example.com")
    message = str(caught.value)
    assert "docker-credential-fake" in message
    assert "registry.example.com" in message
    assert "exit status 3" in message
    assert_no_secret(message + repr(caught.value) + caplog.text)


def test_output_that_is_not_the_protocol_json(
    bin_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install_helper(bin_dir, GARBAGE)
    with caplog.at_level(logging.DEBUG), pytest.raises(CredentialHelperError) as caught:
        run_helper("fake", "registry.example.com")
    assert "docker-credential-fake" in str(caught.value)
    assert_no_secret(str(caught.value) + caplog.text)


def test_timeout_kills_the_helper_and_its_children(bin_dir: Path) -> None:
    install_helper(bin_dir, SLOW)
    started = time.monotonic()
    with pytest.raises(CredentialHelperError) as caught:
        run_helper("fake", "registry.example.com", timeout=0.5)
    assert time.monotonic() - started < 10
    assert "did not answer" in str(caught.value)
    assert "docker-credential-fake" in str(caught.value)


def test_not_installed(bin_dir: Path) -> None:
    with pytest.raises(CredentialHelperError) as caught:
        run_helper("nosuch", "registry.example.com")
    assert "docker-credential-nosuch" in str(caught.value)
    assert "not installed" in str(caught.value)


def test_not_executable(bin_dir: Path) -> None:
    program = install_helper(bin_dir, FOUND)
    program.chmod(0o644)
    with pytest.raises(CredentialHelperError) as caught:
        run_helper("fake", "registry.example.com")
    assert "docker-credential-fake" in str(caught.value)


@pytest.mark.parametrize("name", ["../fake", "-rf", "", "a b", "x;y"])
def test_names_that_are_not_helper_names(name: str) -> None:
    with pytest.raises(CredentialHelperError) as caught:
        helper_program(name)
    assert "invalid credential helper name" in str(caught.value)


def test_environment_and_path_come_from_the_given_environ(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    install_helper(elsewhere, FOUND)
    with pytest.raises(CredentialHelperError):
        run_helper("fake", "registry.example.com", environ={"PATH": str(tmp_path)})
    credential = run_helper("fake", "registry.example.com", environ={"PATH": str(elsewhere)})
    assert credential is not None


def test_results_are_cached_per_helper_and_server(bin_dir: Path, tmp_path: Path) -> None:
    install_helper(bin_dir, COUNTING)
    calls = tmp_path / "calls.log"
    helpers = CredentialHelpers(environ={**os.environ, "FAKE_HELPER_LOG": str(calls)})
    for _ in range(3):
        assert helpers.get("fake", "a.example.com") is not None
    assert helpers.get("fake", "b.example.com") is not None
    assert calls.read_text().splitlines() == ["a.example.com", "b.example.com"]
    assert helpers.runs == 2


def test_failures_are_cached_too(bin_dir: Path) -> None:
    install_helper(bin_dir, CRASH)
    helpers = CredentialHelpers()
    for _ in range(3):
        with pytest.raises(CredentialHelperError):
            helpers.get("fake", "registry.example.com")
    assert helpers.runs == 1
    install_helper(bin_dir, FOUND, name="other")
    assert helpers.get("other", "nothing.example.com") is None
    assert helpers.get("other", "nothing.example.com") is None
    assert helpers.runs == 2
