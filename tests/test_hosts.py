"""containerd's host model, read from a `certs.d` tree and from the config's `registries:`.

Each behaviour is containerd's own, read in `core/remotes/docker/config/hosts.go`
(`parseHostsFile`, `parseHostConfig`, `loadHostDir`, `loadCertFiles`, `ConfigureHosts`) and
`config_unix.go` (`hostPaths`): host tables tried in the order written, then `server` or the
registry itself; capabilities; `/v2` appended unless `override_path`; relative certificate
paths taken from the host directory; `host_port_` directories; `_default`; a directory without
`hosts.toml`, or with one containerd cannot parse, lending its Docker-style certificate files to
the registry itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gate.config import ConfigError, load_config
from gate.hosts import (
    ALL_CAPABILITIES,
    Host,
    HostsConfig,
    HostsError,
    load_certs_d,
    parse_hosts_toml,
    split_url,
)

HOSTS_TOML = """\
server = "https://upstream.example"
ca = "upstream-ca.pem"
[header]
  x-from-root = "root"

[host."https://cache.example"]
  capabilities = ["pull", "resolve"]
  ca = "/etc/pki/cache.pem"
  skip_verify = false
  [host."https://cache.example".header]
    x-tenant = ["a", "b"]

[host."https://backup.example/eu"]
  capabilities = ["pull"]
  skip_verify = true

[host."http://cache.example:5000"]
  capabilities = ["pull"]

[host."https://mtls.example"]
  ca = ["one.pem", "/abs/two.pem"]
  client = [["client.cert", "client.key"], ["combined.pem", ""]]

[host."https://single.example"]
  client = "combined.pem"

[host."https://harbor.example/v2/hub-proxy"]
  capabilities = ["pull", "resolve"]
  override_path = true

[host."https://bare.example"]
  override_path = true
"""


def test_hosts_toml_is_read_as_containerd_reads_it(tmp_path: Path) -> None:
    hosts = parse_hosts_toml(HOSTS_TOML, tmp_path, "certs.d/docker.io/hosts.toml")
    table = [(h.scheme, h.host, h.path, h.capabilities) for h in hosts]
    pull, resolve = frozenset({"pull"}), frozenset({"pull", "resolve"})
    assert table == [
        ("https", "cache.example", "/v2", resolve),
        ("https", "backup.example", "/eu/v2", pull),
        ("http", "cache.example:5000", "/v2", pull),
        ("https", "mtls.example", "/v2", ALL_CAPABILITIES),
        ("https", "single.example", "/v2", ALL_CAPABILITIES),
        ("https", "harbor.example", "/v2/hub-proxy", resolve),
        ("https", "bare.example", "", ALL_CAPABILITIES),
        ("https", "upstream.example", "/v2", ALL_CAPABILITIES),
    ]
    cache, backup, _, mtls, single, harbor, bare, upstream = hosts
    assert cache.ca_files == ("/etc/pki/cache.pem",) and cache.skip_verify is False
    assert cache.headers == (("x-tenant", ("a", "b")),)
    assert backup.skip_verify is True
    assert mtls.ca_files == (str(tmp_path / "one.pem"), "/abs/two.pem")
    assert mtls.client_pairs == (
        (str(tmp_path / "client.cert"), str(tmp_path / "client.key")),
        (str(tmp_path / "combined.pem"), None),
    )
    assert single.client_pairs == ((str(tmp_path / "combined.pem"), None),)
    assert harbor.override_path and harbor.root == "https://harbor.example/v2/hub-proxy"
    assert bare.root == "https://bare.example"
    assert upstream.upstream and not any(h.upstream for h in hosts[:-1])
    assert upstream.ca_files == (str(tmp_path / "upstream-ca.pem"),)
    assert upstream.headers == (("x-from-root", ("root",)),)
    assert cache.source == 'certs.d/docker.io/hosts.toml [host."https://cache.example"]'


def test_without_server_the_registry_itself_comes_last_with_the_root_settings(
    tmp_path: Path,
) -> None:
    (tmp_path / "docker.io").mkdir()
    (tmp_path / "docker.io" / "hosts.toml").write_text(
        'ca = "hub-ca.pem"\n[host."https://cache.example"]\n  capabilities = ["pull"]\n'
    )
    write_pem(tmp_path / "docker.io" / "hub-ca.pem")
    hosts = load_certs_d(tmp_path).hosts_for("docker.io")
    assert [h.root for h in hosts] == [
        "https://cache.example/v2",
        "https://registry-1.docker.io/v2",  # containerd's default for docker.io
    ]
    itself = hosts[-1]
    assert itself.discover and itself.capabilities == ALL_CAPABILITIES
    assert itself.ca_files == (str(tmp_path / "docker.io" / "hub-ca.pem"),)


def test_the_tree_finds_host_port_directories_and_default(tmp_path: Path) -> None:
    for name, server in [
        ("registry.example_5000_", "https://from-underscored.example"),
        ("registry.example:5000", "https://from-colon.example"),
        ("quay.io", "https://quay-cache.example"),
        ("_default", "https://everything-else.example"),
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "hosts.toml").write_text(f'server = "{server}"\n')
    tree = load_certs_d(tmp_path)
    assert [h.host for h in tree.hosts_for("registry.example:5000")] == [
        "from-underscored.example"  # `host_port_` is looked for first
    ]
    assert [h.host for h in tree.hosts_for("quay.io")] == ["quay-cache.example"]
    assert [h.host for h in tree.hosts_for("ghcr.io")] == ["everything-else.example"]
    assert [h.host for h in tree.hosts_for("docker.io")] == ["everything-else.example"]


def test_no_tree_entry_means_the_registry_itself() -> None:
    assert [h.root for h in HostsConfig().hosts_for("ghcr.io")] == ["https://ghcr.io/v2"]
    assert [h.root for h in HostsConfig().hosts_for("docker.io")] == [
        "https://registry-1.docker.io/v2"
    ]


def test_a_directory_without_hosts_toml_lends_its_certificate_files(tmp_path: Path) -> None:
    directory = tmp_path / "registry.example"
    directory.mkdir()
    write_pem(directory / "ca.crt")
    write_pem(directory / "client.cert", directory / "client.key")
    write_pem(directory / "lonely.cert", directory / "lonely.cert")  # the key inside
    (directory / "notes.txt").write_text("x")
    [itself] = load_certs_d(tmp_path).hosts_for("registry.example")
    assert itself.root == "https://registry.example/v2" and itself.upstream
    assert itself.ca_files == (str(directory / "ca.crt"),)
    assert itself.client_pairs == (
        (str(directory / "client.cert"), str(directory / "client.key")),
        (str(directory / "lonely.cert"), None),  # the key may be inside the .cert
    )


@pytest.mark.parametrize(
    "text",
    [
        'server = "https://x.example"\n[host."https://m.example"]\ncapabilities = ["fly"]\n',
        "this is = not toml [",
        '[host."https://m.example"]\nskip_verify = "yes"\n',
    ],
)
def test_a_file_containerd_cannot_use_falls_back_to_the_certificate_files(
    tmp_path: Path, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "registry.example"
    directory.mkdir()
    (directory / "hosts.toml").write_text(text)
    write_pem(directory / "ca.crt")
    with caplog.at_level(logging.WARNING):
        [itself] = load_certs_d(tmp_path).hosts_for("registry.example")
    assert itself.root == "https://registry.example/v2"
    assert itself.ca_files == (str(directory / "ca.crt"),)
    assert "containerd cannot use it" in caplog.text and "hosts.toml" in caplog.text


def test_not_a_directory_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(HostsError, match="not a directory"):
        load_certs_d(tmp_path / "missing")


@pytest.mark.parametrize(
    ("url", "override", "expected"),
    [
        ("mirror.example", False, ("https", "mirror.example", "/v2")),
        ("http://mirror.example:5000", False, ("http", "mirror.example:5000", "/v2")),
        ("https://mirror.example/docker.io", False, ("https", "mirror.example", "/docker.io/v2")),
        ("https://mirror.example/x/v2/", False, ("https", "mirror.example", "/x/v2")),
        ("https://harbor.example/v2/proj", True, ("https", "harbor.example", "/v2/proj")),
    ],
)
def test_host_urls(url: str, override: bool, expected: tuple[str, str, str]) -> None:
    assert split_url(url, override) == expected


def test_mirror_or_registry_itself() -> None:
    hub = Host("https", "registry-1.docker.io", "/v2")
    assert not hub.is_mirror_for("docker.io")
    assert Host("https", "cache.example", "/v2").is_mirror_for("docker.io")
    assert not Host("https", "quay.io", "/v2").is_mirror_for("quay.io")


def test_config_registries_speak_the_same_model(tmp_path: Path, pki_files: Path) -> None:
    config = tmp_path / ".pullgate.yaml"
    config.write_text(
        "registries:\n"
        "  docker.io:\n"
        "    mirrors:\n"
        "      - https://mirror.example/docker.io\n"
        "      - url: https://harbor.example/v2/hub-proxy\n"
        "        override-path: true\n"
        "        capabilities: [pull, resolve]\n"
        f"        ca-file: {pki_files / 'ca.pem'}\n"
        "  registry.example:\n"
        f"    ca-file: {pki_files / 'ca.pem'}\n"
        f"    cert-file: {pki_files / 'client.pem'}\n"
        f"    key-file: {pki_files / 'client.key'}\n"
    )
    loaded = load_config(config)
    hub = loaded.hosts().hosts_for("docker.io")
    assert [h.root for h in hub] == [
        "https://mirror.example/docker.io/v2",
        "https://harbor.example/v2/hub-proxy",
        "https://registry-1.docker.io/v2",
    ]
    assert hub[1].capabilities == frozenset({"pull", "resolve"})
    assert hub[1].ca_files == (str(pki_files / "ca.pem"),)
    [itself] = loaded.hosts().hosts_for("registry.example")
    assert itself.client_pairs == ((str(pki_files / "client.pem"), str(pki_files / "client.key")),)
    assert loaded.registries["docker.io"].mirrors == (
        "https://mirror.example/docker.io",
        "https://harbor.example/v2/hub-proxy",
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("mirrors: [{url: 'https://m.example', capabilities: [fly]}]", "unknown capability"),
        ("mirrors: [{url: 'https://m.example', path: x}]", "unknown key"),
        ("mirrors: [{override-path: true}]", "must be a URL"),
        ("key-file: /x.key", "needs `cert-file`"),
        ("cert-file: /nonexistent.pem", "no such file"),
        ("cert-file: /etc/hostname", "holds no PEM certificate"),
    ],
)
def test_config_registry_errors_are_located(tmp_path: Path, entry: str, message: str) -> None:
    config = tmp_path / ".pullgate.yaml"
    config.write_text(f"registries:\n  docker.io:\n    {entry}\n")
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(config)
    assert f"{config}:" in str(raised.value)


@pytest.fixture
def pki_files(tmp_path: Path) -> Path:
    """A CA and a client certificate with its key, as PEM files."""
    from tests.support.certs import cert_pem, key_pem, new_key, self_signed_cert

    directory = tmp_path / "pki"
    directory.mkdir()
    key = new_key()
    (directory / "ca.pem").write_bytes(cert_pem(self_signed_cert(key, "test CA")))
    (directory / "client.pem").write_bytes(cert_pem(self_signed_cert(key, "client", ca=False)))
    (directory / "client.key").write_bytes(key_pem(key))
    return directory


def test_a_copy_of_the_tree_finds_its_files_where_the_nodes_name_them(tmp_path: Path) -> None:
    """hosts.toml on the nodes names `/etc/containerd/certs.d/<host>/ca.crt`; in a copy of the
    tree (`--containerd-hosts ./nodes/certs.d`) the same file is read from the copy."""
    directory = tmp_path / "registry.example"
    directory.mkdir()
    write_pem(directory / "ca.crt")
    (directory / "hosts.toml").write_text(
        '[host."https://mirror.example"]\n'
        '  ca = "/etc/containerd/certs.d/registry.example/ca.crt"\n'
    )
    (tmp_path / "other.example").mkdir()
    (tmp_path / "other.example" / "hosts.toml").write_text(
        'client = [["/etc/containerd/certs.d/other.example/missing.cert", ""]]\n'
    )
    # in the copy neither: the gate's input to fix, naming the file as the nodes' tree does
    with pytest.raises(
        HostsError, match=r"other\.example/missing\.cert, which is not in this copy"
    ):
        load_certs_d(tmp_path)
    (tmp_path / "other.example" / "hosts.toml").unlink()
    mirror = load_certs_d(tmp_path).hosts_for("registry.example")[0]
    assert mirror.ca_files == (str(directory / "ca.crt"),)


def test_default_lends_its_tls_to_every_registry_without_a_directory(tmp_path: Path) -> None:
    from gate.registry.transport import default_tls, host_tls

    (tmp_path / "_default").mkdir()
    write_pem(tmp_path / "_default" / "ca.crt")
    (tmp_path / "quay.io").mkdir()
    write_pem(tmp_path / "quay.io" / "cache.pem")
    (tmp_path / "quay.io" / "hosts.toml").write_text(
        '[host."https://cache.example"]\n  ca = "cache.pem"\n'
    )
    tree = load_certs_d(tmp_path)
    tls = default_tls(tree)
    assert tls is not None and tls.ca_files == (str(tmp_path / "_default" / "ca.crt"),)
    assert host_tls(tree)["cache.example"].ca_files == (str(tmp_path / "quay.io" / "cache.pem"),)


def write_pem(cert: Path, key: Path | None = None) -> None:
    """A real certificate at `cert` (the nodes' loader checks every file), its key at `key`
    (the same path: appended to the certificate)."""
    from tests.support.certs import cert_pem, key_pem, new_key, self_signed_cert

    private = new_key()
    cert.write_bytes(cert_pem(self_signed_cert(private, "hosts test")))
    if key is not None:
        mode = "ab" if key == cert else "wb"
        with open(key, mode) as handle:
            handle.write(key_pem(private))


def test_a_file_containerd_cannot_load_breaks_that_domain_only(tmp_path: Path) -> None:
    hosts_tree = {
        "broken.example": '[host."https://m.example"]\n  ca = "junk.pem"\n',
        "fine.example": 'server = "https://fine-mirror.example"\n',
    }
    for name, text in hosts_tree.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "hosts.toml").write_text(text)
    (tmp_path / "broken.example" / "junk.pem").write_text("not a certificate")
    tree = load_certs_d(tmp_path)
    problem = tree.problem_for("broken.example")
    assert problem is not None and "junk.pem" in problem and 'host."https://m.example"' in problem
    assert tree.problem_for("fine.example") is None
    assert [h.host for h in tree.hosts_for("fine.example")] == ["fine-mirror.example"]


def test_only_table_headers_make_hosts_in_the_order_written(tmp_path: Path) -> None:
    """containerd's `getSortedHosts` walks the file's table headers: a host given only by
    dotted keys or inline is never tried; a later subtable of an earlier host tries it again
    (the header before it named another host); its own subtables do not."""
    text = (
        'host."https://dotted.example".capabilities = ["pull"]\n'
        '[host."https://a.example"]\n'
        "  skip_verify = true\n"
        '[host."https://a.example".header]\n'
        '  x-one = "1"\n'
        "[host.'https://b.example']\n"
        '[host."https://a.example".more]\n'
        '  y = "2"\n'
    )
    hosts = parse_hosts_toml(text, tmp_path, "hosts.toml")
    assert [h.host for h in hosts] == ["a.example", "b.example", "a.example", ""]


@pytest.mark.parametrize(
    ("setting", "usable"),
    [
        ('dial_timeout = "3s"', True),
        ('dial_timeout = "1m30.5s"', True),
        ('dial_timeout = "3 seconds"', False),
        ('capabilities = ["pull"]', True),
        ('capabilities = "pull"', False),  # go-toml will not decode a string into []string
    ],
)
def test_values_containerd_refuses_make_it_fall_back(
    tmp_path: Path, setting: str, usable: bool
) -> None:
    directory = tmp_path / "registry.example"
    directory.mkdir()
    (directory / "hosts.toml").write_text(f'[host."https://m.example"]\n  {setting}\n')
    hosts = load_certs_d(tmp_path).hosts_for("registry.example")
    assert [h.host for h in hosts] == (
        ["m.example", "registry.example"] if usable else ["registry.example"]
    )


def test_host_port_directory_wins_even_when_the_colon_one_is_broken(tmp_path: Path) -> None:
    """`hostPaths` looks for `host_port_` first: a broken `host:port` beside it is never read."""
    (tmp_path / "registry.example_5000_").mkdir()
    (tmp_path / "registry.example_5000_" / "hosts.toml").write_text(
        'server = "https://good.example"\n'
    )
    (tmp_path / "registry.example:5000").mkdir()
    (tmp_path / "registry.example:5000" / "junk.pem").write_text("not a certificate")
    (tmp_path / "registry.example:5000" / "hosts.toml").write_text('ca = "junk.pem"\n')
    tree = load_certs_d(tmp_path)
    assert tree.problem_for("registry.example:5000") is None
    assert [h.host for h in tree.hosts_for("registry.example:5000")] == ["good.example"]


def test_a_plain_http_host_for_one_domain_is_not_plain_http_for_another() -> None:
    """`http://mirror.local:5000` written as docker.io's mirror marks that host for that use:
    the same host as an image's own, unconfigured registry is found over HTTPS only, as
    containerd asks it (`ConfigureHosts`: only localhost defaults to plain HTTP)."""
    from gate.registry.options import TransportOptions

    options = TransportOptions(plain_http_hosts=frozenset({"mirror.local:5000"}))
    assert options.plain_http_allowed("mirror.local:5000")  # the mirror, as written
    assert not options.discovery_falls_back("mirror.local:5000")  # the registry itself
    assert options.discovery_falls_back("127.0.0.1:5000")
