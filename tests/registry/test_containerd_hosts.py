"""The nodes' `certs.d` tree (`--containerd-hosts`), against real registries.

What is pinned, and where containerd decides it:

- hosts are tried in the order `hosts.toml` writes them, then `server` or the registry itself;
  a tag is resolved only by hosts that may `pull` and `resolve`, a digest by hosts that may
  `pull`; a 404 or an error moves on to the next host (`core/remotes/docker/resolver.go`
  `Resolve`, `filterHosts`);
- a mirror is told which registry is meant with `?ns=` (`resolver.go` `addNamespace`);
- `override_path` makes the URL's path the API root (`config/hosts.go` `parseHostConfig`):
  a Harbor-style proxy project `…/v2/hub-proxy` serves `hub-proxy/<repository>`;
- `_default`, `host_port_` directories and Docker-style `*.crt` files (`config_unix.go`
  `hostPaths`, `hosts.go` `loadCertFiles`);
- the kubelet's credential goes to every host, mirrors included: the kubelet sets no
  `ServerAddress`, so the CRI's `ParseAuth` (`internal/cri/server/images/image_pull.go`) hands
  it to whichever host asks; CRI-O's containers/image drops it for a mirror of another domain.

The upstream registry is a name that does not resolve, so only a mirror can serve.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import pullgate
from tests.support.images import push_image
from tests.support.manifests import secret
from tests.support.registry import RegistryServer
from tests.support.skopeo import skopeo_inspect_digest

UPSTREAM = "registry.corp.invalid"


def hosts_tree(root: Path, files: dict[str, str]) -> Path:
    """`certs.d` with one `hosts.toml` per directory name."""
    for directory, text in files.items():
        (root / directory).mkdir(parents=True, exist_ok=True)
        (root / directory / "hosts.toml").write_text(text)
    return root


def check(manifest: Path, certs_d: Path, *extra: str) -> Result:
    return pullgate(
        "check",
        "--format",
        "json",
        "--containerd-hosts",
        str(certs_d),
        "--retries",
        "0",
        "--timeout",
        "5",
        "--no-node-credentials",
        *extra,
        str(manifest),
    )


def requests_to(server: RegistryServer, offset: int) -> list[str]:
    log = server.log_path.read_text()[offset:]
    return re.findall(r'"((?:GET|HEAD) /v2/\S+) HTTP/[\d.]+" \d+ \d+ "[^"]*" "pullgate/', log)


def pod(*images: str, secrets: tuple[str, ...] = ()) -> str:
    lines = ["apiVersion: v1", "kind: Pod", "metadata: {name: app, namespace: apps}", "spec:"]
    if secrets:
        names = ", ".join(f"{{name: {name}}}" for name in secrets)
        lines.append(f"  imagePullSecrets: [{names}]")
    lines.append("  containers:")
    lines += [f"    - {{name: c{i}, image: '{image}'}}" for i, image in enumerate(images)]
    return "\n".join(lines) + "\n"


def test_hosts_in_order_override_path_and_the_upstream_out_of_reach(
    tmp_path: Path, registry: RegistryServer
) -> None:
    proxied = push_image(registry, "hub-proxy/team/app", "1.0")  # a Harbor proxy project
    rooted = push_image(registry, "team/tool", "2.0")
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {
            UPSTREAM: f'server = "https://{UPSTREAM}"\n'
            f'[host."http://{registry.host}/v2/hub-proxy"]\n'
            '  capabilities = ["pull", "resolve"]\n'
            "  override_path = true\n"
            f'[host."http://{registry.host}"]\n'
            '  capabilities = ["pull", "resolve"]\n'
        },
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        pod(f"{UPSTREAM}/team/app:1.0", f"{UPSTREAM}/team/tool:2.0", f"{UPSTREAM}/team/gone:1")
    )
    offset = len(registry.log_path.read_text())
    result = check(manifest, certs_d)
    report = json.loads(result.stdout)
    images = {i["reference"]: i for i in report["images"]}
    app, tool = images[f"{UPSTREAM}/team/app:1.0"], images[f"{UPSTREAM}/team/tool:2.0"]
    assert (
        app["digest"]
        == proxied.digest
        == skopeo_inspect_digest(registry, "hub-proxy/team/app", "1.0")
    )
    assert app["endpoint"] == f"http://{registry.host}/v2/hub-proxy"
    assert app["locations"][0]["endpoint"] == app["endpoint"]
    assert tool["digest"] == rooted.digest == skopeo_inspect_digest(registry, "team/tool", "2.0")
    assert tool["endpoint"] == tool["mirror"] == f"http://{registry.host}"
    # the proxy project had no team/tool: containerd moves on to the next host
    requests = requests_to(registry, offset)
    assert f"GET /v2/hub-proxy/team/tool/manifests/2.0?ns={UPSTREAM}" in requests
    assert f"GET /v2/team/tool/manifests/2.0?ns={UPSTREAM}" in requests
    # in neither mirror, and the registry itself out of reach: not verified, not "missing"
    [finding] = report["findings"]
    assert finding["rule"] == "image-registry-unreachable"
    assert UPSTREAM in finding["message"]
    assert result.exit_code == 3


def test_a_host_without_resolve_never_turns_a_tag_into_a_digest(
    tmp_path: Path, registry: RegistryServer
) -> None:
    pushed = push_image(registry, "team/pullonly", "3.0")
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {UPSTREAM: f'[host."http://{registry.host}"]\n  capabilities = ["pull"]\n'},
    )
    manifest = tmp_path / "pod.yaml"
    by_digest = f"{UPSTREAM}/team/pullonly@{pushed.digest}"
    manifest.write_text(pod(f"{UPSTREAM}/team/pullonly:3.0", by_digest))
    offset = len(registry.log_path.read_text())
    result = check(manifest, certs_d)
    report = json.loads(result.stdout)
    images = {i["reference"]: i for i in report["images"]}
    assert images[by_digest]["digest"] == pushed.digest
    assert images[by_digest]["endpoint"] == f"http://{registry.host}"
    assert images[f"{UPSTREAM}/team/pullonly:3.0"]["digest"] is None
    assert not any("/manifests/3.0" in r for r in requests_to(registry, offset))
    assert result.exit_code == 3  # only the registry itself may resolve the tag: out of reach


def test_no_host_may_resolve_tags_is_the_nodes_failure_too(
    tmp_path: Path, registry: RegistryServer
) -> None:
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {UPSTREAM: f'server = "http://{registry.host}"\ncapabilities = ["pull"]\n'},
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod(f"{UPSTREAM}/team/tool:2.0"))
    result = check(manifest, certs_d)
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "image-tag-not-found"
    assert "no host configured for registry.corp.invalid may resolve tags" in finding["message"]
    assert "no resolve hosts" in finding["message"] and "hosts.toml" in finding["message"]
    assert result.exit_code == 1


def test_a_tree_with_default_and_three_hosts(
    tmp_path: Path, registry: RegistryServer, tls_registry: RegistryServer
) -> None:
    hub = push_image(registry, "library/nginx", "1.27-hosts")
    quay = push_image(registry, "quay-cache/coreos/etcd", "v3.5")
    ghcr = push_image(registry, "org/tool", "1.0")
    private = push_image(tls_registry, "team/secure", "1.0")
    host_dir = tls_registry.host.replace(":", "_") + "_"
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {
            "_default": f'[host."http://{registry.host}"]\n  capabilities = ["pull", "resolve"]\n',
            "docker.io": 'server = "https://registry-1.docker.io"\n'
            f'[host."http://{registry.host}"]\n  capabilities = ["pull", "resolve"]\n',
            "quay.io": f'server = "http://{registry.host}/v2/quay-cache"\noverride_path = true\n',
        },
    )
    (certs_d / host_dir).mkdir()  # no hosts.toml: Docker's layout, the CA as `*.crt`
    (certs_d / host_dir / "ca.crt").write_bytes(Path(tls_registry.ca_file).read_bytes())
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        pod(
            "nginx:1.27-hosts",
            "quay.io/coreos/etcd:v3.5",
            "ghcr.io/org/tool:1.0",
            f"{tls_registry.host}/team/secure:1.0",
        )
    )
    result = check(manifest, certs_d)
    report = json.loads(result.stdout)
    assert report["findings"] == [], report["findings"]
    images = {i["reference"]: i for i in report["images"]}
    assert images["nginx:1.27-hosts"]["digest"] == hub.digest
    assert images["quay.io/coreos/etcd:v3.5"]["digest"] == quay.digest
    assert images["quay.io/coreos/etcd:v3.5"]["endpoint"] == f"http://{registry.host}/v2/quay-cache"
    assert images["ghcr.io/org/tool:1.0"]["digest"] == ghcr.digest
    secure = images[f"{tls_registry.host}/team/secure:1.0"]
    assert secure["digest"] == private.digest
    assert secure["endpoint"] == f"https://{tls_registry.host}"
    assert "mirror" not in secure
    assert result.exit_code == 0


def test_the_pods_credential_reaches_the_mirror_on_containerd_not_on_cri_o(
    tmp_path: Path, htpasswd_registry: RegistryServer
) -> None:
    pushed = push_image(htpasswd_registry, "team/private", "1.0")
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {UPSTREAM: f'[host."http://{htpasswd_registry.host}"]\n'},
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        secret("regcred", {UPSTREAM: ("alice", "wonderland")})
        + "---\n"
        + pod(f"{UPSTREAM}/team/private:1.0", secrets=("regcred",))
    )
    result = check(manifest, certs_d)
    report = json.loads(result.stdout)
    [image] = report["images"]
    assert image["digest"] == pushed.digest
    assert image["credential"] == "secret:apps/regcred"
    assert image["endpoint"] == f"http://{htpasswd_registry.host}"
    assert result.exit_code == 0, report["findings"]

    crio = check(manifest, certs_d, "--runtime", "cri-o")
    report = json.loads(crio.stdout)
    [image] = report["images"]
    assert image["digest"] is None
    assert crio.exit_code == 3  # the mirror refused anonymous pulls; upstream out of reach
    for output in (result.stdout, result.stderr, crio.stdout, crio.stderr):
        assert "wonderland" not in output


def test_a_file_the_nodes_cannot_load_fails_that_registrys_pulls_only(
    tmp_path: Path, registry: RegistryServer
) -> None:
    """containerd's `ConfigureHosts` fails when a CA or client file cannot be loaded
    (`updateTLSConfigFromHost`), and with it every pull of that domain; other domains pull."""
    pushed = push_image(registry, "team/fine", "1.0")
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {
            UPSTREAM: '[host."https://mirror.example"]\n  ca = "junk.pem"\n',
            "fine.corp.invalid": f'[host."http://{registry.host}"]\n',
        },
    )
    (certs_d / UPSTREAM / "junk.pem").write_text("not a certificate")
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod(f"{UPSTREAM}/team/tool:2.0", "fine.corp.invalid/team/fine:1.0"))
    result = check(manifest, certs_d)
    report = json.loads(result.stdout)
    images = {i["reference"]: i for i in report["images"]}
    assert images["fine.corp.invalid/team/fine:1.0"]["digest"] == pushed.digest
    [finding] = report["findings"]
    assert finding["rule"] == "image-tag-not-found"
    assert f"the nodes cannot set up the hosts of {UPSTREAM}" in finding["message"]
    assert 'hosts.toml [host."https://mirror.example"]' in finding["message"]
    assert "junk.pem" in finding["message"]
    assert images[f"{UPSTREAM}/team/tool:2.0"]["status"] == "no-host"
    assert result.exit_code == 1


def test_several_roots_are_searched_in_order(tmp_path: Path, registry: RegistryServer) -> None:
    """`config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"`: the first root with the
    domain's directory, or a `_default`, decides (the CRI's `hostDirFromRoots`)."""
    first = push_image(registry, "first/team/app", "1.0")
    push_image(registry, "second/team/app", "1.0")
    one = hosts_tree(tmp_path / "one", {"other.example": 'server = "https://other.example"\n'})
    two = hosts_tree(
        tmp_path / "two",
        {UPSTREAM: f'server = "http://{registry.host}/v2/second"\noverride_path = true\n'},
    )
    hosts_tree(
        one,
        {UPSTREAM: f'server = "http://{registry.host}/v2/first"\noverride_path = true\n'},
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod(f"{UPSTREAM}/team/app:1.0"))
    result = check(manifest, Path(f"{one}:{two}"))
    [image] = json.loads(result.stdout)["images"]
    assert image["digest"] == first.digest
    assert result.exit_code == 0
    missing = pullgate("check", "--containerd-hosts", str(tmp_path / "nope"), str(manifest))
    assert missing.exit_code == 2
    assert "not a directory" in missing.stderr and "Traceback" not in missing.stderr


def test_an_http_host_with_tls_configured_is_tried_over_https_first(
    tmp_path: Path, registry: RegistryServer, tls_registry: RegistryServer
) -> None:
    """containerd's `ConfigureHosts`: TLS settings on an `http://` host (port not 80) mean
    HTTPS first, plain HTTP only when the host does not speak TLS (`NewHTTPFallback`)."""
    secure = push_image(tls_registry, "team/secure", "2.0")
    plain = push_image(registry, "team/plain", "2.0")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(Path(tls_registry.ca_file).read_bytes())
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {
            "secure.corp.invalid": f'[host."http://{tls_registry.host}"]\n  ca = "{ca}"\n',
            "plain.corp.invalid": f'[host."http://{registry.host}"]\n  skip_verify = true\n',
        },
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        pod("secure.corp.invalid/team/secure:2.0", "plain.corp.invalid/team/plain:2.0")
    )
    result = check(manifest, certs_d)
    images = {i["reference"]: i for i in json.loads(result.stdout)["images"]}
    assert images["secure.corp.invalid/team/secure:2.0"]["digest"] == secure.digest
    assert (
        images["secure.corp.invalid/team/secure:2.0"]["endpoint"] == f"https://{tls_registry.host}"
    )
    assert images["plain.corp.invalid/team/plain:2.0"]["digest"] == plain.digest
    assert images["plain.corp.invalid/team/plain:2.0"]["endpoint"] == f"http://{registry.host}"
    assert result.exit_code == 0


def test_a_hosts_headers_are_sent_to_that_host(tmp_path: Path) -> None:
    """`header` in a `[host."…"]` table (`hosts.go` `parseHostConfig`) goes with every
    request to that host; a real HTTP server records what arrives."""
    seen: list[tuple[str, str | None, str | None]] = []

    class Recorder(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("X-Tenant"), self.headers.get("X-Root")))
            body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
            status = 200 if self.path == "/v2/" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        certs_d = hosts_tree(
            tmp_path / "certs.d",
            {
                UPSTREAM: f'server = "http://{address}/root"\n[header]\n  x-root = "r"\n'
                f'[host."http://{address}"]\n  [host."http://{address}".header]\n'
                '    x-tenant = ["a", "b"]\n'
            },
        )
        manifest = tmp_path / "pod.yaml"
        manifest.write_text(pod(f"{UPSTREAM}/team/app:1.0"))
        result = check(manifest, certs_d)
    finally:
        server.shutdown()
        server.server_close()
    assert (f"/v2/team/app/manifests/1.0?ns={UPSTREAM}", "a, b", None) in seen
    # `server` is another host than the image's too, so it is told the namespace as well
    assert (f"/root/v2/team/app/manifests/1.0?ns={UPSTREAM}", None, "r") in seen
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "image-tag-not-found"
    assert result.exit_code == 1


@pytest.fixture(scope="module")
def mtls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    """The real registry over TLS that asks every client for a certificate its CA signed."""
    workdir = tmp_path_factory.mktemp("hosts-mtls")
    with RegistryServer("tls", workdir=workdir, client_cas=True) as server:
        yield server


def test_mutual_tls_as_the_tree_and_the_config_give_it(
    tmp_path: Path, mtls_registry: RegistryServer
) -> None:
    """The nodes' `ca` and `client` (relative to the host directory, as containerd makes
    them) reach a registry that demands a client certificate; without `client` the finding
    says a certificate is wanted and where to give it. The config's `cert-file`/`key-file`
    say the same."""
    pki = mtls_registry.client_pki
    assert pki is not None
    pushed = push_image(mtls_registry, "team/mtls", "1.0")
    host_dir = tmp_path / "certs.d" / (mtls_registry.host.replace(":", "_") + "_")
    host_dir.mkdir(parents=True)
    for source, name in [
        (mtls_registry.ca_file, "ca.pem"),
        (pki.cert_file, "client.cert"),
        (pki.key_file, "client.key"),
    ]:
        (host_dir / name).write_bytes(Path(source).read_bytes())
    image = f"{mtls_registry.host}/team/mtls:1.0"
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod(image))

    (host_dir / "hosts.toml").write_text(
        f'server = "https://{mtls_registry.host}"\nca = "ca.pem"\n'
        'client = [["client.cert", "client.key"]]\n'
    )
    result = check(manifest, tmp_path / "certs.d")
    [entry] = json.loads(result.stdout)["images"]
    assert entry["digest"] == pushed.digest
    assert entry["endpoint"] == f"https://{mtls_registry.host}"
    assert result.exit_code == 0

    (host_dir / "hosts.toml").write_text(
        f'server = "https://{mtls_registry.host}"\nca = "ca.pem"\n'
    )
    refused = check(manifest, tmp_path / "certs.d")
    [finding] = json.loads(refused.stdout)["findings"]
    assert finding["rule"] == "image-registry-unreachable"
    assert "requires a TLS client certificate" in finding["message"]
    assert "`client` in hosts.toml" in finding["message"]
    assert refused.exit_code == 3

    config = tmp_path / ".pullgate.yaml"
    config.write_text(
        f"registries:\n  {mtls_registry.host}:\n    ca-file: {host_dir / 'ca.pem'}\n"
        f"    cert-file: {host_dir / 'client.cert'}\n    key-file: {host_dir / 'client.key'}\n"
    )
    configured = pullgate(
        "check", "--format", "json", "--config", str(config), "--retries", "0", str(manifest)
    )
    [entry] = json.loads(configured.stdout)["images"]
    assert entry["digest"] == pushed.digest
    assert configured.exit_code == 0


def test_a_mirror_the_nodes_hold_credentials_for_is_unverified_not_refused(
    tmp_path: Path, htpasswd_registry: RegistryServer
) -> None:
    """With no pull secret the kubelet sends no credential; containerd's CRI then offers the
    mirror its own (`registry.configs.<mirror>.auth`, `PullImage`) and CRI-O the node's auth
    file entry for it. `nodes: registries` naming the mirror says the nodes hold one, which
    the gate cannot replay: could not verify (exit 3), not a refusal (exit 1)."""
    push_image(htpasswd_registry, "team/nodes-only", "1.0")
    certs_d = hosts_tree(
        tmp_path / "certs.d", {UPSTREAM: f'[host."http://{htpasswd_registry.host}"]\n'}
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod(f"{UPSTREAM}/team/nodes-only:1.0"))
    refused = check(manifest, certs_d)
    assert refused.exit_code == 3  # the mirror refused; the registry itself out of reach

    config = tmp_path / ".pullgate.yaml"
    config.write_text(f"nodes:\n  registries: ['{htpasswd_registry.host}']\n")
    declared = check(manifest, certs_d, "--config", str(config))
    [finding] = json.loads(declared.stdout)["findings"]
    assert finding["rule"] == "image-pull-unverified"
    assert "the nodes may pull from it with their own credentials" in finding["message"]
    assert f"http://{htpasswd_registry.host}" in finding["message"]
    assert declared.exit_code == 3


def test_the_text_report_says_which_mirror_served(tmp_path: Path, registry: RegistryServer) -> None:
    push_image(registry, "team/texted", "1.0")
    certs_d = hosts_tree(tmp_path / "certs.d", {UPSTREAM: f'[host."http://{registry.host}"]\n'})
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod(f"{UPSTREAM}/team/texted:1.0"))
    result = pullgate(
        "check", "--containerd-hosts", str(certs_d), "--no-node-credentials", str(manifest)
    )
    assert f"(anonymous, from http://{registry.host})" in result.stdout
    assert result.exit_code == 0


def test_the_token_service_takes_the_registrys_tls(tmp_path: Path) -> None:
    """A token service on another host without TLS settings of its own is reached with the
    registry host's, as containerd's authorizer sends through that host's client
    (`config/hosts.go`: `WithAuthClient(&c)`): the private CA given only in the registry's
    directory of the tree verifies the token service too."""
    with RegistryServer(
        "token",
        tls=True,
        users={"alice": "wonderland"},
        rules={"alice": {"team/*": ("pull",)}},
        workdir=tmp_path / "reg",
    ) as server:
        assert server.issuer is not None
        pushed = push_image(server, "team/tokened", "1.0")
        host_dir = tmp_path / "certs.d" / (server.host.replace(":", "_") + "_")
        host_dir.mkdir(parents=True)
        (host_dir / "ca.crt").write_bytes(Path(server.ca_file).read_bytes())
        manifest = tmp_path / "pod.yaml"
        manifest.write_text(
            secret("regcred", {server.host: ("alice", "wonderland")})
            + "---\n"
            + pod(f"{server.host}/team/tokened:1.0", secrets=("regcred",))
        )
        result = check(manifest, tmp_path / "certs.d")
    [image] = json.loads(result.stdout)["images"]
    assert image["digest"] == pushed.digest, result.stdout
    assert image["credential"] == "secret:apps/regcred"
    assert result.exit_code == 0


def test_a_file_the_copy_lacks_is_the_gates_input_to_fix(tmp_path: Path) -> None:
    """The nodes may hold a file a copy of their tree left out: exit 2 naming it, not a
    finding that would fail pods the nodes can pull."""
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {UPSTREAM: '[host."https://mirror.example"]\n  ca = "/etc/containerd/certs.d/x/ca.pem"\n'},
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod(f"{UPSTREAM}/team/tool:2.0"))
    result = pullgate("check", "--containerd-hosts", str(certs_d), str(manifest))
    assert result.exit_code == 2
    assert "/etc/containerd/certs.d/x/ca.pem, which is not in this copy" in result.stderr
    assert "Traceback" not in result.stderr


def test_on_cri_o_a_mirror_never_gets_the_pods_credential(
    tmp_path: Path, htpasswd_registry: RegistryServer
) -> None:
    """Where only a mirror may resolve the tag, CRI-O asks it without the pod's credential
    (containers/image drops it for another domain) and the pull fails; containerd's CRI
    offers the credential and it pulls."""
    push_image(htpasswd_registry, "team/mirrored", "1.0")
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {
            UPSTREAM: f'server = "https://{UPSTREAM}"\ncapabilities = ["pull"]\n'
            f'[host."http://{htpasswd_registry.host}"]\n'
        },
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(
        secret("regcred", {UPSTREAM: ("alice", "wonderland")})
        + "---\n"
        + pod(f"{UPSTREAM}/team/mirrored:1.0", secrets=("regcred",))
    )
    assert check(manifest, certs_d).exit_code == 0
    crio = check(manifest, certs_d, "--runtime", "cri-o")
    [finding] = json.loads(crio.stdout)["findings"]
    assert finding["rule"] == "image-pull-unauthorized"
    assert crio.exit_code == 1


def test_no_host_stays_a_failure_when_the_nodes_hold_credentials(tmp_path: Path) -> None:
    """No credential makes up for a host setup that stops every pull: with `nodes:
    registries` covering the image, the verdict is still the failure, never "unverified"."""
    certs_d = hosts_tree(
        tmp_path / "certs.d",
        {UPSTREAM: f'server = "https://{UPSTREAM}"\ncapabilities = ["pull"]\n'},
    )
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(pod(f"{UPSTREAM}/team/tool:2.0"))
    config = tmp_path / ".pullgate.yaml"
    config.write_text(f"nodes:\n  registries: ['{UPSTREAM}']\n")
    result = check(manifest, certs_d, "--config", str(config))
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "image-tag-not-found"
    assert result.exit_code == 1
