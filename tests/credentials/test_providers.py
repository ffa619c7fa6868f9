"""The kubelet's credential provider plugins, against real plugin programs.

Each test writes small executable Python plugins into a temporary bin dir: they read the
CredentialProviderRequest from stdin, append what they received (request, argv, environment)
to a log file, and print a response, exactly as `ecr-credential-provider` would be run by the
kubelet. Behaviour pinned here follows kubernetes/kubernetes `pkg/credentialprovider/plugin/`
(`plugin.go` at 01302639f593, `config.go` at fde22c3f9aac); each test names the function.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.credentials import Credential
from gate.credentials.keyring import Keyring
from gate.credentials.providers import (
    DEFAULT_TIMEOUT,
    PROVIDER_SOURCE_PREFIX,
    CredentialProviders,
    ProviderConfigError,
    ProviderSpec,
    load_provider_config,
    parse_go_duration,
    provider_source,
)

PASSWORD = "pr0vider-S3cret-xyz"
ENV_SECRET = "env-S3cret-value-abc"
V1 = "credentialprovider.kubelet.k8s.io/v1"
V1BETA1 = "credentialprovider.kubelet.k8s.io/v1beta1"
V1ALPHA1 = "credentialprovider.kubelet.k8s.io/v1alpha1"
CONFIG_V1 = "kubelet.config.k8s.io/v1"

PROLOGUE = """#!{python} -S
import json, os, sys, time
raw = sys.stdin.read()
with open({log!r}, "a") as handle:
    handle.write(json.dumps({{
        "plugin": os.path.basename(sys.argv[0]),
        "argv": sys.argv[1:],
        "raw": raw,
        "env": {{k: os.environ.get(k) for k in ("PG_HOST", "PG_BOTH", "PG_PROVIDER")}},
    }}) + "\\n")
request = json.loads(raw)
"""


class Plugins:
    """A bin dir of fake plugins and the log they all append to."""

    def __init__(self, root: Path) -> None:
        self.bin_dir = root / "bin"
        self.bin_dir.mkdir()
        self.log = root / "plugins.log"

    def add(self, name: str, body: str) -> Path:
        program = self.bin_dir / name
        program.write_text(PROLOGUE.format(python=sys.executable, log=str(self.log)) + body)
        program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return program

    def answering(self, name: str, response: dict[str, Any] | str) -> Path:
        """A plugin that prints `response` (JSON-encoded unless it is already text)."""
        text = response if isinstance(response, str) else json.dumps(response)
        return self.add(name, f"sys.stdout.write({text!r})\n")

    def records(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def images(self) -> list[str]:
        return [json.loads(record["raw"])["image"] for record in self.records()]


@pytest.fixture
def plugins(tmp_path: Path) -> Plugins:
    return Plugins(tmp_path)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def response(
    auth: dict[str, Any] | None = None,
    cache_key_type: str = "Image",
    api_version: str = V1,
    **extra: Any,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "kind": "CredentialProviderResponse",
        "apiVersion": api_version,
        "cacheKeyType": cache_key_type,
    }
    if auth is not None:
        document["auth"] = auth
    document.update(extra)
    return document


def spec(
    name: str = "fake",
    match_images: tuple[str, ...] = ("*.registry.io", "registry.io", "registry.io:5000"),
    default_cache_duration: float = 0.0,
    api_version: str = V1,
    **kwargs: Any,
) -> ProviderSpec:
    return ProviderSpec(name, match_images, default_cache_duration, api_version, **kwargs)


def login(username: str = "alice", password: str = PASSWORD) -> dict[str, str]:
    return {"username": username, "password": password}


def write_config(
    path: Path, providers: list[dict[str, Any]], api_version: str = CONFIG_V1, as_json: bool = False
) -> Path:
    document = {
        "apiVersion": api_version,
        "kind": "CredentialProviderConfig",
        "providers": providers,
    }
    path.write_text(json.dumps(document, indent=2) if as_json else yaml.safe_dump(document))
    return path


def provider_entry(name: str = "fake", **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "matchImages": ["*.registry.io"],
        "defaultCacheDuration": "12h",
        "apiVersion": V1,
    }
    entry.update(fields)
    return {key: value for key, value in entry.items() if value is not None}


def assert_no_secret(text: str) -> None:
    assert PASSWORD not in text
    assert ENV_SECRET not in text


# -- the exec protocol -----------------------------------------------------------------------


def test_v1_request_is_sent_exactly_and_the_answer_read(plugins: Plugins) -> None:
    """`execPlugin.ExecPlugin` / `encodeRequest`: kind, apiVersion, image, compact JSON with
    Go's trailing newline; `provide` turns `auth` into logins named `provider:<name>`."""
    plugins.answering("fake", response({"registry.io:5000": login()}))
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    logins = providers.provide(spec(), "registry.io:5000/team/app")
    assert logins == [
        ("registry.io:5000", Credential("provider:fake", username="alice", password=PASSWORD))
    ]
    (record,) = plugins.records()
    assert record["raw"] == (
        '{"kind":"CredentialProviderRequest",'
        '"apiVersion":"credentialprovider.kubelet.k8s.io/v1",'
        '"image":"registry.io:5000/team/app"}\n'
    )
    assert record["argv"] == []
    assert_no_secret(repr(logins) + str(logins[0][1]))
    assert providers.runs == {"fake": 1}
    assert provider_source("fake") == PROVIDER_SOURCE_PREFIX + "fake"


@pytest.mark.parametrize("api_version", [V1BETA1, V1ALPHA1])
def test_older_protocol_versions_round_trip(plugins: Plugins, api_version: str) -> None:
    """`apiVersions` in plugin.go: the request carries the provider's apiVersion and the
    answer must use the same one."""
    plugins.answering("fake", response({"registry.io": login()}, api_version=api_version))
    provider = spec(api_version=api_version)
    providers = CredentialProviders([provider], str(plugins.bin_dir))
    logins = providers.provide(provider, "registry.io/app")
    assert [key for key, _ in logins] == ["registry.io"]
    (record,) = plugins.records()
    assert json.loads(record["raw"]) == {
        "kind": "CredentialProviderRequest",
        "apiVersion": api_version,
        "image": "registry.io/app",
    }


def test_args_and_env_reach_the_plugin_and_provider_env_wins(plugins: Plugins) -> None:
    """`ExecPlugin` / `mergeEnvVars`: the host's environment with the provider's `env` appended
    (so it overrides), and `args` after the binary."""
    plugins.answering("fake", response({"registry.io": login()}))
    provider = spec(
        args=("get-credentials", "--region=eu-west-1"),
        env=(("PG_BOTH", "from-provider"), ("PG_PROVIDER", ENV_SECRET)),
    )
    environ = {**os.environ, "PG_HOST": "from-host", "PG_BOTH": "from-host"}
    providers = CredentialProviders([provider], str(plugins.bin_dir), environ=environ)
    providers.provide(provider, "registry.io/app")
    (record,) = plugins.records()
    assert record["argv"] == ["get-credentials", "--region=eu-west-1"]
    assert record["env"] == {
        "PG_HOST": "from-host",
        "PG_BOTH": "from-provider",
        "PG_PROVIDER": ENV_SECRET,
    }
    assert_no_secret(repr(provider))


@pytest.mark.parametrize(
    ("pattern", "image", "expected"),
    [
        ("*.registry.io", "eu.registry.io/app", True),
        ("*.registry.io", "registry.io/app", False),  # label counts differ
        ("*.registry.io", "a.b.registry.io/app", False),
        ("registry.io:5000", "registry.io:5000/team/app", True),
        ("registry.io:5000", "registry.io/team/app", False),  # ports must be equal
        ("registry.io", "registry.io:5000/team/app", False),
        ("registry.io/team", "registry.io/team/app", True),  # path prefix
        ("registry.io/team", "registry.io/teammate/app", True),  # a plain string prefix
        ("registry.io/team", "registry.io/other/app", False),
        ("*.dkr.ecr.*.amazonaws.com", "123.dkr.ecr.us-east-1.amazonaws.com/app", True),
        ("registry.io/v2/team", "registry.io/team/app", False),  # not normalised like keys
    ],
)
def test_match_images(plugins: Plugins, pattern: str, image: str, expected: bool) -> None:
    """`isImageAllowed` → `URLsMatchStr(matchImage, image)`: the pattern is parsed as written;
    a provider that does not match is not run."""
    plugins.answering("fake", response({"registry.io": login()}))
    provider = spec(match_images=(pattern,))
    providers = CredentialProviders([provider], str(plugins.bin_dir))
    assert providers.matching(image) == ([provider] if expected else [])
    logins = providers.provide(provider, image)
    assert bool(logins) == expected
    assert providers.runs["fake"] == (1 if expected else 0)


def test_matching_keeps_config_order(plugins: Plugins) -> None:
    """`NewExternalCredentialProviderDockerKeyring` (plugins.go): providers in config order."""
    first = spec("first", match_images=("registry.io",))
    second = spec("second", match_images=("*.io",))
    third = spec("third", match_images=("registry.io/team",))
    providers = CredentialProviders([first, second, third], str(plugins.bin_dir))
    assert providers.matching("registry.io/team/app") == [first, second, third]
    assert providers.matching("registry.io/other") == [first, second]
    assert providers.specs == (first, second, third)
    assert providers
    assert not CredentialProviders([], str(plugins.bin_dir))


def test_glob_auth_keys_are_returned_as_written(plugins: Plugins) -> None:
    """`provide`: every `auth` entry becomes a keyring entry under its key as written (globs
    and paths included); the caller's keyring matches them as `BasicDockerKeyring` does."""
    auth = {
        "*.registry.io": login("wildcard"),
        "eu.registry.io/team": login("team"),
        "other.example.com": {"username": "", "password": ""},
    }
    plugins.answering("fake", response(auth))
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    logins = providers.provide(spec(), "eu.registry.io/team/app")
    assert [key for key, _ in logins] == list(auth)
    assert [credential.username for _, credential in logins] == ["wildcard", "team", None]
    keyring = Keyring()
    for key, credential in logins:
        keyring.add(key, credential)
    assert [c.username for c in keyring.lookup("eu.registry.io/team/app")] == ["team", "wildcard"]


def test_an_answer_without_auth_is_no_credentials(plugins: Plugins) -> None:
    """`CredentialProviderResponse.auth` is optional: null or absent means no credentials."""
    plugins.answering("fake", response(None))
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    assert providers.provide(spec(), "registry.io/app") == []


# -- caching ---------------------------------------------------------------------------------


def test_cache_key_type_image(plugins: Plugins) -> None:
    """`provide` / `getCachedCredentials`: cacheKeyType Image caches per image."""
    plugins.answering("fake", response({"registry.io": login()}, cacheDuration="1h"))
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    for image in ["registry.io/a", "registry.io/a", "registry.io/b", "registry.io/a"]:
        assert providers.provide(spec(), image)
    assert plugins.images() == ["registry.io/a", "registry.io/b"]


def test_cache_key_type_registry(plugins: Plugins) -> None:
    """`parseRegistry`: cacheKeyType Registry caches per `host[:port]`, the text before `/`."""
    plugins.answering("fake", response({"*.registry.io": login()}, "Registry", cacheDuration="1h"))
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    for image in ["eu.registry.io/a", "eu.registry.io/b/c", "us.registry.io/a", "eu.registry.io/d"]:
        assert providers.provide(spec(), image)
    assert plugins.images() == ["eu.registry.io/a", "us.registry.io/a"]


def test_cache_key_type_global(plugins: Plugins) -> None:
    """`globalCacheKey`: cacheKeyType Global answers every matching image from one run."""
    plugins.answering("fake", response({"*.registry.io": login()}, "Global", cacheDuration="1h"))
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    for image in ["eu.registry.io/a", "us.registry.io/b", "registry.io:5000/c"]:
        assert providers.provide(spec(), image)
    assert plugins.images() == ["eu.registry.io/a"]


def test_cache_duration_zero_is_not_cached(plugins: Plugins) -> None:
    """`provide`: an explicit cacheDuration of 0 is never cached, whatever the default."""
    plugins.answering("fake", response({"registry.io": login()}, "Global", cacheDuration="0s"))
    provider = spec(default_cache_duration=3600)
    providers = CredentialProviders([provider], str(plugins.bin_dir))
    for _ in range(3):
        assert providers.provide(provider, "registry.io/app")
    assert providers.runs == {"fake": 3}


def test_default_cache_duration_applies_when_the_answer_has_none(plugins: Plugins) -> None:
    """`provide`: no cacheDuration → the provider's defaultCacheDuration; an entry lives until
    the clock is past its expiry (`cacheExpirationPolicy.IsExpired`); a default of 0 is not
    cached."""
    plugins.answering("fake", response({"registry.io": login()}))
    clock = FakeClock()
    cached, uncached = spec("fake", default_cache_duration=60), spec("fake")
    providers = CredentialProviders([cached], str(plugins.bin_dir), clock=clock)
    assert providers.provide(cached, "registry.io/app")
    clock.now += 60  # exactly at the expiry: still live
    assert providers.provide(cached, "registry.io/app")
    assert providers.runs == {"fake": 1}
    clock.now += 0.5
    assert providers.provide(cached, "registry.io/app")
    assert providers.runs == {"fake": 2}
    plain = CredentialProviders([uncached], str(plugins.bin_dir), clock=clock)
    assert plain.provide(uncached, "registry.io/app")
    assert plain.provide(uncached, "registry.io/app")
    assert plain.runs == {"fake": 2}


def test_answer_cache_duration_overrides_the_default(plugins: Plugins) -> None:
    """`provide`: a response's cacheDuration (a Go duration) wins over the default."""
    plugins.answering("fake", response({"registry.io": login()}, cacheDuration="1m30s"))
    clock = FakeClock()
    provider = spec(default_cache_duration=12 * 3600)
    providers = CredentialProviders([provider], str(plugins.bin_dir), clock=clock)
    providers.provide(provider, "registry.io/app")
    clock.now += 90
    providers.provide(provider, "registry.io/app")
    assert providers.runs == {"fake": 1}
    clock.now += 1
    providers.provide(provider, "registry.io/app")
    assert providers.runs == {"fake": 2}


# -- failures --------------------------------------------------------------------------------

LEAKY_FAILURE = f"""
print('{{"auth": {{"registry.io": {{"password": "{PASSWORD}"}}}}}}')
print("trace: password={PASSWORD}", file=sys.stderr)
sys.exit(1)
"""


def test_failing_plugin_gives_nothing_and_leaks_nothing(
    plugins: Plugins, caplog: pytest.LogCaptureFixture
) -> None:
    """`provide`: an exec error means no credentials from that provider; unlike `ExecPlugin`
    (which puts stderr in its error), nothing the plugin printed is logged. The failure is
    remembered per image for the run, and warned about once per provider and kind."""
    plugins.add("fake", LEAKY_FAILURE)
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    with caplog.at_level(logging.DEBUG):
        assert providers.provide(spec(), "registry.io/app") == []
        assert providers.provide(spec(), "registry.io/app") == []
        assert providers.provide(spec(), "registry.io/other") == []
    assert providers.runs == {"fake": 2}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "fake" in message
    assert "registry.io/app" in message
    assert "exit status 1" in message
    assert_no_secret(caplog.text + "".join(r.getMessage() for r in caplog.records))


SLOW = """
import subprocess
child = subprocess.Popen([sys.executable, "-S", "-c", "import time; time.sleep(30)"])
with open(os.path.join(os.path.dirname(sys.argv[0]), "child.pid"), "w") as handle:
    handle.write(str(child.pid))
time.sleep(30)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_hanging_plugin_is_killed_with_its_children(
    plugins: Plugins, caplog: pytest.LogCaptureFixture
) -> None:
    """`ExecPlugin`'s catch-all timeout (one minute upstream, a parameter here); the whole
    process group is killed, so a child holding stdout open cannot hang the gate."""
    plugins.add("fake", SLOW)
    providers = CredentialProviders([spec()], str(plugins.bin_dir), timeout=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert providers.provide(spec(), "registry.io/app") == []
    assert time.monotonic() - started < 5
    assert "did not answer within 0.5 s" in caplog.text
    pid = int((plugins.bin_dir / "child.pid").read_text())
    deadline = time.monotonic() + 3
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
    assert DEFAULT_TIMEOUT == 60.0


def test_a_plugin_that_timed_out_is_not_run_again_in_the_run(plugins: Plugins) -> None:
    """One timeout per run, not one per image: a hanging plugin must not cost N minutes. The
    failure is kept, so the caller can say what only it could pull is unverified."""
    plugins.add("fake", SLOW)
    providers = CredentialProviders([spec()], str(plugins.bin_dir), timeout=0.3)
    started = time.monotonic()
    for image in ("registry.io/a", "registry.io/b", "x.registry.io/c"):
        assert providers.provide(spec(), image) == []
    assert time.monotonic() - started < 3
    assert providers.runs == {"fake": 1}
    assert providers.failure(spec(), "registry.io/b") == "it did not answer within 0.3 s"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (response({"registry.io": login()}, api_version=V1BETA1), "apiVersion is " + V1BETA1),
        (response({"registry.io": login()}, api_version="example.com/v1"), "another one"),
        (response({"registry.io": login()}, surprise=PASSWORD), "unknown field"),
        (response({"registry.io": {**login(), "token": PASSWORD}}), "auth entry"),
        (response({"registry.io": login()}, "Repository"), "cacheKeyType is not one of"),
        (response({"registry.io": login()}, ""), "cacheKeyType is not one of"),
        (response({"registry.io": login()}, cacheDuration="forever"), "cacheDuration"),
        (response({"registry.io": login()}, cacheDuration=60), "cacheDuration"),
        ({**response({"registry.io": login()}), "kind": "Other"}, "kind is not"),
        (f"username=alice password={PASSWORD}", "not JSON"),
        (f'{{"apiVersion": "{V1}", "apiVersion": "{V1}", "p": "{PASSWORD}"}}', "not JSON"),
        ("[1, 2]", "not a JSON object"),
    ],
)
def test_answers_that_are_not_a_valid_response(
    plugins: Plugins, caplog: pytest.LogCaptureFixture, answer: dict[str, Any] | str, expected: str
) -> None:
    """`ExecPlugin` (apiVersion must equal the provider's), `decodeResponse` (strict: unknown
    or duplicate fields, wrong kind or types are errors) and `provide` (cacheKeyType must be
    Image, Registry or Global): no credentials, and nothing from the answer in the log."""
    plugins.answering("fake", answer)
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    with caplog.at_level(logging.DEBUG):
        assert providers.provide(spec(), "registry.io/app") == []
    assert expected in caplog.text
    assert_no_secret(caplog.text)


def test_a_binary_that_cannot_be_run(plugins: Plugins, caplog: pytest.LogCaptureFixture) -> None:
    """`runPlugin`: an exec error (here the binary is missing when it is run) is a failure."""
    providers = CredentialProviders([spec()], str(plugins.bin_dir))
    with caplog.at_level(logging.WARNING):
        assert providers.provide(spec(), "registry.io/app") == []
    assert "could not be run" in caplog.text


def test_token_provider_is_never_run(plugins: Plugins, tmp_path: Path) -> None:
    """`newServiceAccountProvider`: with tokenAttributes the kubelet sends the pod's
    service-account token (KEP-4412), which CI cannot mint: matched, never executed."""
    plugins.answering("fake", response({"registry.io": login()}))
    tokens = {
        "serviceAccountTokenAudience": "registry.io",
        "cacheType": "ServiceAccount",
        "requireServiceAccount": True,
        "requiredServiceAccountAnnotationKeys": ["registry.io/role"],
    }
    config = write_config(tmp_path / "config.yaml", [provider_entry(tokenAttributes=tokens)])
    (provider,) = load_provider_config(str(config), str(plugins.bin_dir))
    assert provider.needs_service_account_token
    providers = CredentialProviders([provider], str(plugins.bin_dir))
    assert providers.matching("eu.registry.io/app") == [provider]
    assert providers.provide(provider, "eu.registry.io/app") == []
    assert providers.runs == {"fake": 0}
    assert plugins.records() == []


# -- the config ------------------------------------------------------------------------------


def test_yaml_and_json_configs(plugins: Plugins, tmp_path: Path) -> None:
    """`readCredentialProviderConfig` / `decode`: YAML or JSON, v1, v1beta1 or v1alpha1."""
    plugins.answering("ecr", response())
    plugins.answering("gcr", response())
    entries = [
        provider_entry(
            "ecr",
            matchImages=["*.dkr.ecr.*.amazonaws.com", "registry.io:5000/team"],
            defaultCacheDuration="1h30m",
            args=["get-credentials"],
            env=[{"name": "AWS_PROFILE", "value": ENV_SECRET}],
        ),
        provider_entry(
            "gcr", matchImages=["gcr.io"], defaultCacheDuration="0s", apiVersion=V1BETA1
        ),
    ]
    from_yaml = load_provider_config(
        str(write_config(tmp_path / "config.yaml", entries)), str(plugins.bin_dir)
    )
    from_json = load_provider_config(
        str(write_config(tmp_path / "config.json", entries, "kubelet.config.k8s.io/v1beta1", True)),
        str(plugins.bin_dir),
    )
    assert from_yaml == from_json
    ecr, gcr = from_yaml
    assert ecr == ProviderSpec(
        "ecr",
        ("*.dkr.ecr.*.amazonaws.com", "registry.io:5000/team"),
        5400.0,
        V1,
        ("get-credentials",),
        (("AWS_PROFILE", ENV_SECRET),),
    )
    assert gcr.default_cache_duration == 0.0
    assert gcr.api_version == V1BETA1
    assert not gcr.needs_service_account_token
    assert_no_secret(repr(from_yaml))


def test_config_directory_is_merged_in_name_order(plugins: Plugins, tmp_path: Path) -> None:
    """`readCredentialProviderConfig`: a directory's *.json/*.yaml/*.yml files, sorted, merged;
    a provider name used twice across files is refused."""
    for name in ("a", "b", "c"):
        plugins.answering(name, response())
    directory = tmp_path / "conf.d"
    directory.mkdir()
    write_config(directory / "20-b.yml", [provider_entry("b")])
    write_config(directory / "10-a.json", [provider_entry("a"), provider_entry("c")], as_json=True)
    (directory / "README.md").write_text("not a config")
    specs = load_provider_config(str(directory), str(plugins.bin_dir))
    assert [s.name for s in specs] == ["a", "c", "b"]
    write_config(directory / "30-dup.yaml", [provider_entry("a")])
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(str(directory), str(plugins.bin_dir))
    assert "duplicate provider name 'a'" in str(caught.value)
    assert "30-dup.yaml" in str(caught.value)


@pytest.mark.parametrize(
    ("providers", "api_version", "expected"),
    [
        ([provider_entry(surprise=True)], CONFIG_V1, "unknown field 'surprise'"),
        ([provider_entry(MatchImages=["x.io"])], CONFIG_V1, "unknown field 'MatchImages'"),
        ([provider_entry(env=[{"name": "A", "value": ENV_SECRET, "x": 1}])], CONFIG_V1, "'x'"),
        (
            [provider_entry(tokenAttributes={"serviceAccountTokenAudience": "a"})],
            "kubelet.config.k8s.io/v1beta1",
            "unknown field 'tokenAttributes'",
        ),
        ([provider_entry()], "kubelet.config.k8s.io/v2", "is not supported"),
        ([provider_entry(apiVersion="credentialprovider.kubelet.k8s.io/v2")], CONFIG_V1, "v2"),
        ([provider_entry(apiVersion=None)], CONFIG_V1, "apiVersion: required"),
        ([], CONFIG_V1, "at least one provider is required"),
        ([provider_entry(matchImages=[])], CONFIG_V1, "at least one image pattern"),
        ([provider_entry(matchImages=None)], CONFIG_V1, "at least one image pattern"),
        ([provider_entry(matchImages=["bad host.io"])], CONFIG_V1, "is not an image pattern"),
        ([provider_entry(defaultCacheDuration=None)], CONFIG_V1, "defaultCacheDuration: required"),
        ([provider_entry(defaultCacheDuration="-1m")], CONFIG_V1, "must not be negative"),
        ([provider_entry(defaultCacheDuration="12 hours")], CONFIG_V1, "unknown unit"),
        ([provider_entry(defaultCacheDuration=60)], CONFIG_V1, "Go duration string"),
        ([provider_entry(), provider_entry()], CONFIG_V1, "duplicate provider name 'fake'"),
        ([provider_entry("../fake")], CONFIG_V1, "must not contain '/'"),
        ([provider_entry("my fake")], CONFIG_V1, "must not contain spaces"),
        ([provider_entry("..")], CONFIG_V1, "is not a provider name"),
        ([provider_entry(args="--one")], CONFIG_V1, "args: must be a list of strings"),
        ([provider_entry(env=[{"name": "A", "value": 7}])], CONFIG_V1, "value: must be a string"),
        (
            [provider_entry(tokenAttributes={"serviceAccountTokenAudience": "a"})],
            CONFIG_V1,
            "requireServiceAccount: required",
        ),
        (
            [
                provider_entry(
                    apiVersion=V1BETA1,
                    tokenAttributes={
                        "serviceAccountTokenAudience": "a",
                        "requireServiceAccount": True,
                        "cacheType": "Token",
                    },
                )
            ],
            CONFIG_V1,
            "only supported with apiVersion",
        ),
        (
            [
                provider_entry(
                    tokenAttributes={
                        "serviceAccountTokenAudience": "a",
                        "requireServiceAccount": False,
                        "requiredServiceAccountAnnotationKeys": ["a.io/b"],
                        "cacheType": "Token",
                    }
                )
            ],
            CONFIG_V1,
            "requires requireServiceAccount: true",
        ),
        (
            [
                provider_entry(
                    tokenAttributes={
                        "serviceAccountTokenAudience": "a",
                        "requireServiceAccount": True,
                        "optionalServiceAccountAnnotationKeys": ["not/a/key"],
                    }
                )
            ],
            CONFIG_V1,
            "cacheType: required",
        ),
    ],
)
def test_configs_the_kubelet_refuses(
    plugins: Plugins,
    tmp_path: Path,
    providers: list[dict[str, Any]],
    api_version: str,
    expected: str,
) -> None:
    """`decode` (strict, case-sensitive) and `validateCredentialProviderConfig`: each a
    ProviderConfigError naming the file, never an env value."""
    for name in ("fake", "my fake"):
        plugins.answering(name, response())
    for entry in providers:
        entry.setdefault("env", [{"name": "SECRET", "value": ENV_SECRET}])
    config = write_config(tmp_path / "config.yaml", providers, api_version)
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(str(config), str(plugins.bin_dir))
    message = str(caught.value)
    assert str(config) in message
    assert expected in message
    assert_no_secret(message + repr(caught.value))


def test_missing_bin_dir(tmp_path: Path) -> None:
    """`RegisterCredentialProviderPlugins`: the bin dir must exist (checked first)."""
    config = write_config(tmp_path / "config.yaml", [provider_entry()])
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(str(config), str(tmp_path / "nosuch"))
    assert str(config) in str(caught.value)
    assert "bin dir" in str(caught.value)
    assert "does not exist" in str(caught.value)


def test_missing_or_non_executable_binary(plugins: Plugins, tmp_path: Path) -> None:
    """`RegisterCredentialProviderPlugins` → `exec.LookPath(bin-dir/<name>)`: the binary must
    exist and be executable."""
    config = write_config(tmp_path / "config.yaml", [provider_entry("absent")])
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(str(config), str(plugins.bin_dir))
    assert str(config) in str(caught.value)
    assert str(plugins.bin_dir / "absent") in str(caught.value)
    assert "does not exist" in str(caught.value)
    plugins.answering("plain", response()).chmod(0o644)
    config = write_config(tmp_path / "config.yaml", [provider_entry("plain")])
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(str(config), str(plugins.bin_dir))
    assert "not an executable file" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("kind: CredentialProviderConfig\nproviders: []\n", "apiVersion: missing"),
        (
            f"apiVersion: {CONFIG_V1}\nkind: KubeletConfiguration\n",
            "is not CredentialProviderConfig",
        ),
        (f"apiVersion: {CONFIG_V1}\nkind: CredentialProviderConfig\nkind: X\n", "written twice"),
        ("{not json", "invalid JSON"),
        ("providers: [unclosed\n", "invalid YAML"),
        ("- a list\n", "must be an object"),
    ],
)
def test_config_files_that_do_not_decode(
    plugins: Plugins, tmp_path: Path, text: str, expected: str
) -> None:
    """`decode`: the document must decode strictly as a CredentialProviderConfig."""
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(str(config), str(plugins.bin_dir))
    assert str(config) in str(caught.value)
    assert expected in str(caught.value)


def test_missing_config_file(plugins: Plugins, tmp_path: Path) -> None:
    """`readCredentialProviderConfig`: the path must exist."""
    with pytest.raises(ProviderConfigError) as caught:
        load_provider_config(str(tmp_path / "nosuch.yaml"), str(plugins.bin_dir))
    assert "nosuch.yaml: no such file" in str(caught.value)


# -- Go durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("0", 0),
        ("-0", 0),
        ("0s", 0),
        ("12h", 12 * 3600 * 10**9),
        ("1m30s", 90 * 10**9),
        ("500ms", 500 * 10**6),
        ("1.5h", 5400 * 10**9),
        (".5s", 5 * 10**8),
        ("1.s", 10**9),
        ("1h2m3s4ms5us6ns", 3723004005006),
        ("3µs", 3000),
        ("3μs", 3000),
        ("-1.5m", -90 * 10**9),
        ("+2s", 2 * 10**9),
        ("1.0000000005s", 10**9),  # below a nanosecond: truncated
        ("9223372036854775807ns", (1 << 63) - 1),
        ("-9223372036854775808ns", -(1 << 63)),
    ],
)
def test_go_durations(text: str, nanoseconds: int) -> None:
    """`metav1.Duration` → Go `time.ParseDuration`."""
    assert parse_go_duration(text) == nanoseconds


@pytest.mark.parametrize(
    "text",
    ["", "-", "1", "00", "s", ".s", "1d", "1hh", "1 h", "1h-2m", "1e3s", "9223372036854775808ns"],
)
def test_invalid_go_durations(text: str) -> None:
    """`time.ParseDuration` errors: no unit, unknown unit, no digits, out of int64 range."""
    with pytest.raises(ValueError):
        parse_go_duration(text)
