"""Docker config JSON, legacy .dockercfg and Kubernetes pull Secrets.

Every reason a secret is refused is checked, and so is the promise that no reason, repr or log
line ever carries a password or token from the input.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest

from gate.credentials import Credential
from gate.credentials.dockerconfig import (
    SECRET_TYPE_DOCKERCFG,
    SECRET_TYPE_DOCKERCONFIGJSON,
    AuthEntry,
    DockerConfig,
    DockerConfigError,
    Effect,
    PullSecretInvalid,
    decode_auth,
    parse_docker_config,
    parse_dockercfg,
    parse_pull_secret,
)

PASSWORD = "s3cr3t-Pa55word"
TOKEN = "identity-token-zzz"
REG_TOKEN = "registry-token-yyy"
SECRETS = (PASSWORD, TOKEN, REG_TOKEN)


def b64(text: str, pad: bool = True) -> str:
    encoded = base64.b64encode(text.encode()).decode()
    return encoded if pad else encoded.rstrip("=")


def secret(
    secret_type: str | None = SECRET_TYPE_DOCKERCONFIGJSON,
    data: dict[str, Any] | None = None,
    string_data: dict[str, Any] | None = None,
    namespace: str | None = "prod",
) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred"}}
    if namespace:
        obj["metadata"]["namespace"] = namespace
    if secret_type is not None:
        obj["type"] = secret_type
    if data is not None:
        obj["data"] = data
    if string_data is not None:
        obj["stringData"] = string_data
    return obj


def dockerconfigjson(auths: dict[str, Any]) -> str:
    return json.dumps({"auths": auths})


def assert_no_secret(text: str) -> None:
    for value in SECRETS:
        assert value not in text
    assert b64(f"alice:{PASSWORD}", pad=False) not in text


# -- auth field ------------------------------------------------------------------------------


@pytest.mark.parametrize("pad", [True, False])
def test_decode_auth_with_and_without_padding(pad: bool) -> None:
    # "alice:pw" is 8 bytes: base64 ends in `=` padding that the kubelet lets you omit
    value = b64("alice:pw", pad=pad)
    assert value.endswith("=") is pad
    assert decode_auth(value) == ("alice", "pw")


def test_decode_auth_splits_at_the_first_colon_and_ignores_line_breaks() -> None:
    value = b64("alice:pa:ss:word")
    assert decode_auth(value[:8] + "\n" + value[8:]) == ("alice", "pa:ss:word")
    assert decode_auth(b64(":only-password")) == ("", "only-password")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not base64!", "`auth` is not valid base64"),
        ("YWxpY2U6cHc=x", "`auth` is not valid base64"),  # data after padding
        ("YWxpY2U6c", "`auth` is not valid base64"),  # 9 characters: never valid
        ("YW xp", "`auth` is not valid base64"),
        (b64("alice-without-colon"), "no colon"),
    ],
)
def test_decode_auth_errors(value: str, reason: str) -> None:
    with pytest.raises(DockerConfigError) as caught:
        decode_auth(value)
    assert reason in caught.value.reason


# -- docker config files ---------------------------------------------------------------------


def test_parse_docker_config_every_entry_form() -> None:
    document = {
        "auths": {
            "https://index.docker.io/v1/": {"auth": b64(f"alice:{PASSWORD}")},
            "registry.example.com": {"username": "bob", "password": PASSWORD},
            "idp.example.com": {"auth": b64("carol:"), "identitytoken": TOKEN},
            "tok.example.com": {"registrytoken": REG_TOKEN},
            "empty.example.com": {},
            "null.example.com": None,
        },
        "credHelpers": {"gcr.io": "gcloud", "*.pkg.dev": "gcloud"},
        "credsStore": "desktop",
    }
    config = parse_docker_config(json.dumps(document), "docker-config:/x/config.json")
    source = "docker-config:/x/config.json"
    assert config.auths == (
        AuthEntry("https://index.docker.io/v1/", Credential(source, "alice", PASSWORD)),
        AuthEntry("registry.example.com", Credential(source, "bob", PASSWORD)),
        AuthEntry("idp.example.com", Credential(source, "carol", identity_token=TOKEN)),
        AuthEntry("tok.example.com", Credential(source, registry_token=REG_TOKEN)),
        AuthEntry("empty.example.com", Credential(source)),
        AuthEntry("null.example.com", Credential(source)),
    )
    assert config.cred_helpers == (("gcr.io", "gcloud"), ("*.pkg.dev", "gcloud"))
    assert config.creds_store == "desktop"
    assert_no_secret(repr(config))


def test_auth_wins_over_username_and_password() -> None:
    document = {"auths": {"h": {"auth": b64("alice:right"), "username": "x", "password": "y"}}}
    (entry,) = parse_docker_config(document, "docker-config:c").auths
    assert (entry.credential.username, entry.credential.password) == ("alice", "right")


def test_field_names_match_case_insensitively_as_go_does() -> None:
    document = {"Auths": {"h": {"Username": "alice", "PASSWORD": PASSWORD}}, "CredsStore": "pass"}
    config = parse_docker_config(document, "docker-config:c")
    assert config.auths[0].credential == Credential("docker-config:c", "alice", PASSWORD)
    assert config.creds_store == "pass"


def test_parse_docker_config_without_auths_is_empty() -> None:
    assert parse_docker_config("{}", "docker-config:c") == DockerConfig("docker-config:c")
    assert parse_docker_config('{"auths": null}', "docker-config:c").auths == ()


def test_parse_dockercfg_legacy_form() -> None:
    document = {"https://index.docker.io/v1/": {"auth": b64(f"alice:{PASSWORD}"), "email": "a@b"}}
    config = parse_dockercfg(json.dumps(document), "docker-config:/home/u/.dockercfg")
    assert config.auths == (
        AuthEntry(
            "https://index.docker.io/v1/",
            Credential("docker-config:/home/u/.dockercfg", "alice", PASSWORD),
        ),
    )


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("", "is empty"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a JSON object"),
        ('{"auths": []}', "`auths` is not a JSON object"),
        ('{"auths": {"h": "user:pw"}}', "entry 'h' is not a JSON object"),
        ('{"auths": {"h": {"password": 5}}}', "entry 'h': `password` is not a string"),
        ('{"auths": {"h": {"auth": "%%%"}}}', "entry 'h': `auth` is not valid base64"),
        ('{"credHelpers": ["gcloud"]}', "`credHelpers` is not a JSON object"),
        ('{"credHelpers": {"gcr.io": 1}}', "`credHelpers` 'gcr.io' is not a string"),
        ('{"credsStore": true}', "`credsStore` is not a string"),
    ],
)
def test_parse_docker_config_errors(document: str, reason: str) -> None:
    with pytest.raises(DockerConfigError) as caught:
        parse_docker_config(document, "docker-config:c", what="config.json")
    assert caught.value.reason.startswith("config.json")
    assert reason in caught.value.reason


def test_json_error_reason_does_not_quote_the_document() -> None:
    document = '{"auths": {"h": {"password": "' + PASSWORD + '" "oops"}}}'
    with pytest.raises(DockerConfigError) as caught:
        parse_docker_config(document, "docker-config:c")
    assert "is not valid JSON" in caught.value.reason
    assert_no_secret(str(caught.value))
    assert_no_secret(repr(caught.value))


# -- pull secrets ----------------------------------------------------------------------------


def test_dockerconfigjson_secret_from_data() -> None:
    config_json = dockerconfigjson({"registry.example.com": {"auth": b64(f"alice:{PASSWORD}")}})
    parsed = parse_pull_secret(secret(data={".dockerconfigjson": b64(config_json)}))
    assert parsed.source == "secret:prod/regcred"
    assert parsed.auths == (
        AuthEntry("registry.example.com", Credential("secret:prod/regcred", "alice", PASSWORD)),
    )
    assert parsed.cred_helpers == ()
    assert parsed.creds_store is None
    assert_no_secret(repr(parsed))
    assert_no_secret(str(parsed.auths[0].credential))


def test_padding_less_auth_in_a_secret() -> None:
    auth = b64("alice:pw", pad=False)
    assert b64("alice:pw").endswith("=") and not auth.endswith("=")
    config_json = dockerconfigjson({"registry.example.com": {"auth": auth}})
    parsed = parse_pull_secret(secret(data={".dockerconfigjson": b64(config_json)}))
    assert parsed.auths[0].credential.password == "pw"


def test_dockerconfigjson_secret_from_string_data() -> None:
    config_json = dockerconfigjson({"r.example.com": {"username": "bob", "password": PASSWORD}})
    parsed = parse_pull_secret(secret(string_data={".dockerconfigjson": config_json}))
    assert parsed.auths[0].credential == Credential("secret:prod/regcred", "bob", PASSWORD)


def test_string_data_wins_over_data_for_the_same_key() -> None:
    stale = dockerconfigjson({"r.example.com": {"username": "old", "password": "old"}})
    fresh = dockerconfigjson({"r.example.com": {"username": "new", "password": PASSWORD}})
    parsed = parse_pull_secret(
        secret(data={".dockerconfigjson": b64(stale)}, string_data={".dockerconfigjson": fresh})
    )
    assert parsed.auths[0].credential.username == "new"


def test_string_data_for_another_key_does_not_hide_data() -> None:
    config_json = dockerconfigjson({"r.example.com": {"username": "bob", "password": PASSWORD}})
    parsed = parse_pull_secret(
        secret(data={".dockerconfigjson": b64(config_json)}, string_data={"note": "hello"})
    )
    assert parsed.auths[0].credential.username == "bob"


def test_dockercfg_secret() -> None:
    legacy = json.dumps({"https://index.docker.io/v1/": {"auth": b64(f"alice:{PASSWORD}")}})
    parsed = parse_pull_secret(secret(SECRET_TYPE_DOCKERCFG, data={".dockercfg": b64(legacy)}))
    assert parsed.auths == (
        AuthEntry(
            "https://index.docker.io/v1/", Credential("secret:prod/regcred", "alice", PASSWORD)
        ),
    )
    from_string = parse_pull_secret(
        secret(SECRET_TYPE_DOCKERCFG, string_data={".dockercfg": legacy})
    )
    assert from_string.auths == parsed.auths


def test_secret_without_namespace_takes_the_default() -> None:
    config_json = dockerconfigjson({})
    parsed = parse_pull_secret(
        secret(string_data={".dockerconfigjson": config_json}, namespace=None), "team-a"
    )
    assert parsed.source == "secret:team-a/regcred"
    assert parsed.auths == ()


def test_tokens_in_a_pull_secret_are_ignored_as_the_kubelet_ignores_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config_json = dockerconfigjson(
        {
            "a.example.com": {"identitytoken": TOKEN},
            "b.example.com": {"username": "bob", "password": PASSWORD, "registrytoken": REG_TOKEN},
        }
    )
    with caplog.at_level(logging.DEBUG):
        parsed = parse_pull_secret(secret(string_data={".dockerconfigjson": config_json}))
    first, second = (entry.credential for entry in parsed.auths)
    assert first.anonymous  # the node pulls anonymously with such an entry
    assert first.identity_token is None
    assert second == Credential("secret:prod/regcred", "bob", PASSWORD)
    assert "ignored" in caplog.text
    assert_no_secret(caplog.text)


BAD_AUTH = dockerconfigjson({"r.example.com": {"auth": b64(f"alice{PASSWORD}")}})


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (secret(None, data={".dockerconfigjson": b64("{}")}), "secret type is Opaque"),
        (secret("Opaque", data={".dockerconfigjson": b64("{}")}), "secret type is 'Opaque'"),
        (
            secret("kubernetes.io/basic-auth", data={"password": b64(PASSWORD)}),
            "secret type is 'kubernetes.io/basic-auth'",
        ),
        (secret(data={".dockercfg": b64("{}")}), "no `.dockerconfigjson` key"),
        (secret(SECRET_TYPE_DOCKERCFG, data={".dockerconfigjson": b64("{}")}), "no `.dockercfg`"),
        (secret(), "no `.dockerconfigjson` key"),
        (
            secret(data={".dockerconfigjson": "%%%" + PASSWORD}),
            "`data..dockerconfigjson` is not valid base64",
        ),
        # `data` is decoded as the API server decodes it: padding required
        (secret(data={".dockerconfigjson": b64("{}", pad=False)}), "is not valid base64"),
        (secret(data={".dockerconfigjson": 42}), "`data..dockerconfigjson` is not a string"),
        (secret(data={".dockerconfigjson": ""}), "`data..dockerconfigjson` is empty"),
        (secret(string_data={".dockerconfigjson": " "}), "`stringData..dockerconfigjson` is empty"),
        (secret(string_data={".dockerconfigjson": ["x"]}), "is not a string"),
        (secret(data=["x"]), "`data` is not a mapping"),  # type: ignore[arg-type]
        (secret(data={".dockerconfigjson": b64(PASSWORD)}), "is not valid JSON"),
        (secret(string_data={".dockerconfigjson": '"' + PASSWORD + '"'}), "is not a JSON object"),
        (
            secret(string_data={".dockerconfigjson": '{"auths": [1]}'}),
            "`auths` is not a JSON object",
        ),
        (
            secret(string_data={".dockerconfigjson": BAD_AUTH}),
            "does not decode to username:password",
        ),
        (
            secret(
                string_data={".dockerconfigjson": dockerconfigjson({"r": {"auth": PASSWORD + "!"}})}
            ),
            "`auth` is not valid base64",
        ),
        (
            secret(
                string_data={".dockerconfigjson": dockerconfigjson({"r": {"username": ["bob"]}})}
            ),
            "`username` is not a string",
        ),
        (
            secret(SECRET_TYPE_DOCKERCFG, string_data={".dockercfg": '{"r": 1}'}),
            "is not a JSON object",
        ),
    ],
)
def test_pull_secret_invalid(obj: dict[str, Any], reason: str) -> None:
    with pytest.raises(PullSecretInvalid) as caught:
        parse_pull_secret(obj)
    assert reason in caught.value.reason
    full = caught.value.reason
    if "secret type is" in full:
        expected = Effect.IGNORED  # secretsToTrackedDockerConfigs skips other types
    elif any(word in full for word in ("`auth`", "`auths`", "`username`", "entry")):
        expected = Effect.BREAKS_KEYRING  # DockerConfigJSON / DockerConfigEntry decoding
    else:
        expected = Effect.REJECTED  # ValidateSecret: key required, a JSON object
    assert caught.value.effect is expected, caught.value.effect
    assert str(caught.value) == caught.value.reason
    assert_no_secret(caught.value.reason)
    assert_no_secret(repr(caught.value))


def test_dockerconfigjson_without_auths_is_an_empty_keyring() -> None:
    """`DockerConfigJSON.Auths` is simply empty when absent: no error, nothing offered."""
    legacy = json.dumps({"r.example.com": {"auth": "x"}})
    assert parse_pull_secret(secret(string_data={".dockerconfigjson": legacy})).auths == ()


@pytest.mark.parametrize(
    "entry",
    [
        {"username": "bob", "password": PASSWORD, "identitytoken": 5},
        {"username": "bob", "password": PASSWORD, "unknown": {"nested": [1]}},
        {"Username": "bob", "PASSWORD": PASSWORD, "email": None},
    ],
)
def test_unknown_fields_in_a_pull_secret_are_ignored_as_go_ignores_them(
    entry: dict[str, Any],
) -> None:
    document = json.dumps({"auths": {"r.example.com": entry}, "credsStore": 1, "x": []})
    [parsed] = parse_pull_secret(secret(string_data={".dockerconfigjson": document})).auths
    assert parsed.credential == Credential("secret:prod/regcred", "bob", PASSWORD)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"auths": {"r": {"username": "u", "email": 5}}}, "`email` is not a string"),
        ({"auths": {}, "HttpHeaders": "x"}, "`HttpHeaders` is not a JSON object"),
        ({"auths": {}, "httpheaders": {"X-Meta": 1}}, "`HttpHeaders` value is not a string"),
        ({"auths": {"r": "user:password"}}, "is not a JSON object"),
    ],
)
def test_wrong_json_types_break_the_keyring(document: dict[str, Any], reason: str) -> None:
    """Go's `json.Unmarshal` into `DockerConfigJSON` fails on a field of another type, and
    `MakeDockerKeyring` passes the error on: every pull of the pod fails."""
    with pytest.raises(PullSecretInvalid) as caught:
        parse_pull_secret(secret(string_data={".dockerconfigjson": json.dumps(document)}))
    assert reason in caught.value.reason
    assert caught.value.effect is Effect.BREAKS_KEYRING


def test_pull_secret_invalid_is_a_docker_config_error() -> None:
    assert issubclass(PullSecretInvalid, DockerConfigError)
    assert issubclass(DockerConfigError, ValueError)
