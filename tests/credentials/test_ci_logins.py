"""The CI machine's own logins: which files are read, in which order, and the environment.

Every location comes from the `environ` mapping given to `discover` (HOME, DOCKER_CONFIG,
REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR), so each test builds its own machine under tmp_path.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from gate.credentials import Credential
from gate.credentials.ci import (
    CILogins,
    CredentialConfigError,
    discover_config_files,
    environment_logins,
    helper_server_url,
)

PASSWORD = "node-Pa55word-q"
GH_TOKEN = "ghs_0123456789abcdef"
GL_PASSWORD = "glcbt-registry-password"
JOB_TOKEN = "glcbt-job-token"


def auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def write_config(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def login(registry: str, user: str, password: str = PASSWORD) -> dict[str, Any]:
    return {"auths": {registry: {"auth": auth(user, password)}}}


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, str]:
    """A bare environment: a HOME with nothing in it, and PATH for helper programs."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "PATH": os.environ.get("PATH", "")}


def users(credentials: list[Credential]) -> list[tuple[str, str | None]]:
    return [(c.source, c.username) for c in credentials]


# -- which docker config -----------------------------------------------------------------------


def test_home_docker_config(machine: dict[str, str]) -> None:
    path = write_config(Path(machine["HOME"], ".docker", "config.json"), login("r.io", "home"))
    node = CILogins.discover(None, machine)
    assert node.files == [str(path)]
    assert node.sources() == [f"docker-config:{path}"]
    assert node.lookup("r.io/app") == [
        Credential(f"docker-config:{path}", username="home", password=PASSWORD)
    ]


def test_docker_config_env_wins_over_home(machine: dict[str, str], tmp_path: Path) -> None:
    write_config(Path(machine["HOME"], ".docker", "config.json"), login("r.io", "home"))
    env_dir = tmp_path / "dockercfg-dir"
    path = write_config(env_dir / "config.json", login("r.io", "env"))
    node = CILogins.discover(None, {**machine, "DOCKER_CONFIG": str(env_dir)})
    assert node.files == [str(path)]
    assert users(node.lookup("r.io/app")) == [(f"docker-config:{path}", "env")]


def test_docker_config_env_without_a_file_falls_back_to_home(
    machine: dict[str, str], tmp_path: Path
) -> None:
    home_config = write_config(Path(machine["HOME"], ".docker", "config.json"), login("r", "h"))
    environ = {**machine, "DOCKER_CONFIG": str(tmp_path / "empty-dir")}
    assert CILogins.discover(None, environ).files == [str(home_config)]


def test_explicit_path_wins_over_everything_docker(machine: dict[str, str], tmp_path: Path) -> None:
    write_config(Path(machine["HOME"], ".docker", "config.json"), login("r.io", "home"))
    env_dir = tmp_path / "env"
    write_config(env_dir / "config.json", login("r.io", "env"))
    explicit = write_config(tmp_path / "explicit.json", login("r.io", "explicit"))
    node = CILogins.discover(str(explicit), {**machine, "DOCKER_CONFIG": str(env_dir)})
    assert node.files == [str(explicit)]
    assert users(node.lookup("r.io/app")) == [(f"docker-config:{explicit}", "explicit")]


def test_explicit_directory_means_its_config_json(machine: dict[str, str], tmp_path: Path) -> None:
    path = write_config(tmp_path / "cfg" / "config.json", login("r.io", "dir"))
    assert CILogins.discover(str(tmp_path / "cfg"), machine).files == [str(path)]


def test_explicit_path_that_does_not_exist(machine: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(CredentialConfigError) as caught:
        CILogins.discover(str(tmp_path / "missing.json"), machine)
    assert "missing.json" in str(caught.value)
    assert "no such file" in str(caught.value)


def test_legacy_dockercfg_in_home_as_the_kubelet_reads_it(machine: dict[str, str]) -> None:
    path = Path(machine["HOME"], ".dockercfg")
    path.write_text(json.dumps({"r.io": {"auth": auth("legacy", PASSWORD)}}))
    node = CILogins.discover(None, machine)
    assert node.files == [str(path)]
    assert users(node.lookup("r.io/app")) == [(f"docker-config:{path}", "legacy")]


def test_no_files_no_environment(machine: dict[str, str]) -> None:
    node = CILogins.discover(None, machine)
    assert node.files == []
    assert node.sources() == []
    assert node.lookup("docker.io/library/nginx") == []
    assert not node


# -- containers auth files, merged after the docker config ---------------------------------------


def test_registry_auth_file_is_merged_after_the_docker_config(
    machine: dict[str, str], tmp_path: Path
) -> None:
    docker = write_config(Path(machine["HOME"], ".docker", "config.json"), login("r.io", "docker"))
    podman = write_config(tmp_path / "auth.json", login("r.io", "podman"))
    write_config(tmp_path / "run" / "containers" / "auth.json", login("r.io", "xdg"))
    environ = {
        **machine,
        "REGISTRY_AUTH_FILE": str(podman),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
    }
    node = CILogins.discover(None, environ)
    assert node.files == [str(docker), str(podman)]  # REGISTRY_AUTH_FILE replaces the XDG one
    assert users(node.lookup("r.io/app")) == [
        (f"docker-config:{docker}", "docker"),
        (f"docker-config:{podman}", "podman"),
    ]


def test_xdg_runtime_auth_json(machine: dict[str, str], tmp_path: Path) -> None:
    xdg = write_config(tmp_path / "run" / "containers" / "auth.json", login("r.io", "xdg"))
    node = CILogins.discover(None, {**machine, "XDG_RUNTIME_DIR": str(tmp_path / "run")})
    assert node.files == [str(xdg)]
    assert users(node.lookup("r.io/app")) == [(f"docker-config:{xdg}", "xdg")]


def test_registry_auth_file_that_does_not_exist_is_no_file(
    machine: dict[str, str], tmp_path: Path
) -> None:
    write_config(tmp_path / "run" / "containers" / "auth.json", login("r.io", "xdg"))
    environ = {
        **machine,
        "REGISTRY_AUTH_FILE": str(tmp_path / "nope.json"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
    }
    assert CILogins.discover(None, environ).files == []


def test_the_same_file_twice_is_read_once(machine: dict[str, str]) -> None:
    docker = write_config(Path(machine["HOME"], ".docker", "config.json"), login("r.io", "one"))
    node = CILogins.discover(None, {**machine, "REGISTRY_AUTH_FILE": str(docker)})
    assert node.files == [str(docker)]
    assert len(node.lookup("r.io/app")) == 1


def test_most_specific_key_first_across_files(machine: dict[str, str], tmp_path: Path) -> None:
    """Both files go into one keyring, as the kubelet adds all its configs to one."""
    docker = write_config(Path(machine["HOME"], ".docker", "config.json"), login("r.io", "host"))
    podman = write_config(tmp_path / "auth.json", login("r.io/team", "team"))
    node = CILogins.discover(None, {**machine, "REGISTRY_AUTH_FILE": str(podman)})
    assert users(node.lookup("r.io/team/app")) == [
        (f"docker-config:{podman}", "team"),
        (f"docker-config:{docker}", "host"),
    ]


# -- unreadable or invalid files -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "is not valid JSON"),
        ('{"auths": {"r.io": {"auth": "bm9jb2xvbg=="}}}', "does not decode to username:password"),
        ('{"auths": ["r.io"]}', "`auths` is not a JSON object"),
    ],
)
def test_invalid_docker_config(machine: dict[str, str], content: str, reason: str) -> None:
    path = Path(machine["HOME"], ".docker", "config.json")
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(CredentialConfigError) as caught:
        CILogins.discover(None, machine)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_invalid_config_message_has_no_secret(machine: dict[str, str]) -> None:
    path = Path(machine["HOME"], ".docker", "config.json")
    path.parent.mkdir()
    path.write_text('{"auths": {"r.io": {"password": "' + PASSWORD + '", }}}')
    with pytest.raises(CredentialConfigError) as caught:
        CILogins.discover(None, machine)
    assert PASSWORD not in str(caught.value)


def test_unreadable_directory_in_place_of_the_file(machine: dict[str, str]) -> None:
    Path(machine["HOME"], ".docker", "config.json").mkdir(parents=True)
    with pytest.raises(CredentialConfigError) as caught:
        CILogins.discover(None, machine)
    assert "cannot read" in str(caught.value)


def test_empty_file_is_an_empty_config(machine: dict[str, str]) -> None:
    path = Path(machine["HOME"], ".docker", "config.json")
    path.parent.mkdir()
    path.write_text("\n")
    node = CILogins.discover(None, machine)
    assert node.files == [str(path)]
    assert node.lookup("r.io/app") == []


def test_docker_hub_entry_and_empty_marker_entries(machine: dict[str, str]) -> None:
    document = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": auth("hubuser", PASSWORD)},
            "quay.io": {},  # docker writes `{}` beside a credsStore: not a login
        }
    }
    path = write_config(Path(machine["HOME"], ".docker", "config.json"), document)
    node = CILogins.discover(None, machine)
    assert users(node.lookup("docker.io/library/nginx")) == [(f"docker-config:{path}", "hubuser")]
    assert node.lookup("quay.io/org/app") == []


# -- environment logins --------------------------------------------------------------------------


def test_github_token_for_ghcr(machine: dict[str, str]) -> None:
    environ = {**machine, "GITHUB_TOKEN": GH_TOKEN, "GITHUB_ACTOR": "octocat"}
    node = CILogins.discover(None, environ)
    assert node.sources() == ["env:GITHUB_TOKEN"]
    assert node.lookup("ghcr.io/owner/app") == [
        Credential("env:GITHUB_TOKEN", username="octocat", password=GH_TOKEN)
    ]
    assert node.lookup("docker.io/library/nginx") == []
    assert node.lookup("ghcr.io.evil.example/owner/app") == []


def test_github_token_without_actor_uses_a_placeholder_user(machine: dict[str, str]) -> None:
    (credential,) = CILogins.discover(None, {**machine, "GITHUB_TOKEN": GH_TOKEN}).lookup(
        "ghcr.io/owner/app"
    )
    assert credential.username
    assert credential.password == GH_TOKEN


def test_gitlab_registry_user_and_password(machine: dict[str, str]) -> None:
    environ = {
        **machine,
        "CI_REGISTRY": "registry.gitlab.example.com:5050",
        "CI_REGISTRY_USER": "gitlab-ci-token",
        "CI_REGISTRY_PASSWORD": GL_PASSWORD,
        "CI_JOB_TOKEN": JOB_TOKEN,
    }
    node = CILogins.discover(None, environ)
    assert node.lookup("registry.gitlab.example.com:5050/group/app") == [
        Credential("env:CI_REGISTRY_PASSWORD", username="gitlab-ci-token", password=GL_PASSWORD)
    ]
    assert node.lookup("registry.gitlab.example.com/group/app") == []  # ports must be equal


def test_gitlab_job_token_when_there_is_no_registry_password(machine: dict[str, str]) -> None:
    environ = {**machine, "CI_REGISTRY": "registry.gitlab.com", "CI_JOB_TOKEN": JOB_TOKEN}
    assert CILogins.discover(None, environ).lookup("registry.gitlab.com/g/app") == [
        Credential("env:CI_JOB_TOKEN", username="gitlab-ci-token", password=JOB_TOKEN)
    ]


def test_gitlab_without_registry_is_nothing() -> None:
    assert environment_logins({"CI_JOB_TOKEN": JOB_TOKEN, "CI_REGISTRY_PASSWORD": "x"}) == []
    assert environment_logins({"GITHUB_TOKEN": ""}) == []


def test_order_docker_config_then_helpers_then_environment(
    machine: dict[str, str], tmp_path: Path
) -> None:
    install_helper(tmp_path / "bin", "ghcr.io", "helper-user")
    document = {**login("ghcr.io", "from-config"), "credsStore": "fake"}
    path = write_config(Path(machine["HOME"], ".docker", "config.json"), document)
    environ, _ = helper_machine(machine, tmp_path)
    node = CILogins.discover(None, {**environ, "GITHUB_TOKEN": GH_TOKEN})
    assert node.sources() == [f"docker-config:{path}", "helper:fake", "env:GITHUB_TOKEN"]
    assert users(node.lookup("ghcr.io/owner/app")) == [
        (f"docker-config:{path}", "from-config"),
        ("helper:fake", "helper-user"),
        ("env:GITHUB_TOKEN", "x-access-token"),
    ]


def test_discover_config_files_reports_each_format(machine: dict[str, str], tmp_path: Path) -> None:
    legacy = Path(machine["HOME"], ".dockercfg")
    legacy.write_text("{}")
    auth_file = write_config(tmp_path / "auth.json", {})
    assert discover_config_files(None, {**machine, "REGISTRY_AUTH_FILE": str(auth_file)}) == [
        (str(legacy), "dockercfg"),
        (str(auth_file), "json"),
    ]


# -- helpers, lazily ------------------------------------------------------------------------------

HELPER = """
import json, os, sys
server = sys.stdin.read()
with open(os.environ["FAKE_HELPER_LOG"], "a") as log:
    log.write(sys.argv[0].rsplit("-", 1)[1] + " " + server + "\\n")
if server == {server!r}:
    print(json.dumps({{"ServerURL": server, "Username": {user!r}, "Secret": "pw"}}))
else:
    print("credentials not found in native keychain")
    sys.exit(1)
"""


def install_helper(directory: Path, server: str, user: str, name: str = "fake") -> None:
    directory.mkdir(exist_ok=True)
    program = directory / f"docker-credential-{name}"
    program.write_text(f"#!{sys.executable}\n" + HELPER.format(server=server, user=user))
    program.chmod(program.stat().st_mode | stat.S_IXUSR)


def helper_machine(machine: dict[str, str], tmp_path: Path) -> tuple[dict[str, str], Path]:
    log = tmp_path / "helper-calls.log"
    log.touch()
    environ = {
        **machine,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{machine['PATH']}",
        "FAKE_HELPER_LOG": str(log),
    }
    return environ, log


def test_cred_helpers_are_asked_lazily_and_once(machine: dict[str, str], tmp_path: Path) -> None:
    install_helper(tmp_path / "bin", "gcr.io", "_json_key", name="gcloud")
    install_helper(tmp_path / "bin", "never.example.com", "nobody", name="store")
    document = {"credHelpers": {"gcr.io": "gcloud", "*.pkg.dev": "gcloud"}, "credsStore": "store"}
    write_config(Path(machine["HOME"], ".docker", "config.json"), document)
    environ, calls = helper_machine(machine, tmp_path)
    node = CILogins.discover(None, environ)
    assert calls.read_text() == ""  # discovery runs no helper
    assert "helper:gcloud" in node.sources()
    for _ in range(3):
        assert users(node.lookup("gcr.io/project/app")) == [("helper:gcloud", "_json_key")]
    assert node.lookup("us.pkg.dev/project/repo/app") == []  # asked, has nothing
    assert node.lookup("quay.io/org/app") == []  # the credsStore, asked for quay.io
    assert calls.read_text().splitlines() == [
        "gcloud gcr.io",
        "gcloud us.pkg.dev",
        "store quay.io",
    ]


def test_creds_store_is_asked_about_docker_hub_by_its_docker_name(
    machine: dict[str, str], tmp_path: Path
) -> None:
    install_helper(tmp_path / "bin", "https://index.docker.io/v1/", "hubuser")
    write_config(Path(machine["HOME"], ".docker", "config.json"), {"credsStore": "fake"})
    environ, _ = helper_machine(machine, tmp_path)
    node = CILogins.discover(None, environ)
    assert users(node.lookup("docker.io/library/nginx")) == [("helper:fake", "hubuser")]
    assert helper_server_url("docker.io/library/nginx") == "https://index.docker.io/v1/"
    assert helper_server_url("127.0.0.1:5000/team/app") == "127.0.0.1:5000"


def test_missing_helper_is_skipped_with_one_warning_naming_it(
    machine: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken credsStore must not hide the other logins (a false unauthorized)."""
    write_config(
        Path(machine["HOME"], ".docker", "config.json"),
        {**login("r.io", "alice"), "credsStore": "desktop"},
    )
    node = CILogins.discover(
        None, {**machine, "PATH": str(tmp_path / "empty"), "GITHUB_TOKEN": "gh-token"}
    )
    with caplog.at_level(logging.DEBUG):
        first = node.lookup("r.io/app")
        again = node.lookup("r.io/other")
        ghcr = node.lookup("ghcr.io/org/app")
    assert [c.username for c in first] == ["alice"]
    assert [c.username for c in again] == ["alice"]
    assert [c.source for c in ghcr] == ["env:GITHUB_TOKEN"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len([w for w in warnings if "docker-credential-desktop" in w]) == 2  # per server
    assert PASSWORD not in caplog.text and "gh-token" not in caplog.text


def test_nothing_from_any_source_is_logged(
    machine: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install_helper(tmp_path / "bin", "gcr.io", "u", name="gcloud")
    write_config(
        Path(machine["HOME"], ".docker", "config.json"),
        {**login("r.io", "alice"), "credHelpers": {"gcr.io": "gcloud"}},
    )
    environ, _ = helper_machine(machine, tmp_path)
    environ.update(GITHUB_TOKEN=GH_TOKEN, CI_REGISTRY="r.io", CI_JOB_TOKEN=JOB_TOKEN)
    with caplog.at_level(logging.DEBUG):
        node = CILogins.discover(None, environ)
        found = [
            *node.lookup("r.io/app"),
            *node.lookup("gcr.io/p/app"),
            *node.lookup("ghcr.io/o/a"),
        ]
    assert len(found) == 4
    text = caplog.text + repr(found) + " ".join(map(str, found)) + repr(node.sources())
    for value in (PASSWORD, GH_TOKEN, JOB_TOKEN, "pw"):
        assert value not in text
