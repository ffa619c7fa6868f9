"""gate.proxy against Go's own cases: golang.org/x/net's `http/httpproxy/proxy_test.go`
(`proxyForURLTests`, `UseProxyTests` with its `noProxy` list, `TestFromEnvironment*`,
`TestInvalidNoProxy`, `TestAllNoProxy`), the package containerd's `ProxyFromEnvironment` is.

Go's CGI rule (HTTP_PROXY refused when REQUEST_METHOD is set) has no counterpart: pullgate is
never a CGI handler, so those two rows are left out.
"""

from __future__ import annotations

import pytest

from gate.proxy import ProxyConfig, never_proxied, parse_proxy

# (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, request URL, proxy URL Go returns or None)
PROXY_FOR_URL = [
    ("127.0.0.1:8080", "", "", "http://example.com", "http://127.0.0.1:8080"),
    ("cache.corp.example.com:1234", "", "", "http://example.com", "http://cache.corp.example.com:1234"),
    ("cache.corp.example.com", "", "", "http://example.com", "http://cache.corp.example.com"),
    ("localhost", "", "", "http://example.com", "http://localhost"),
    ("https://cache.corp.example.com", "", "", "http://example.com", "https://cache.corp.example.com"),
    ("http://127.0.0.1:8080", "", "", "http://example.com", "http://127.0.0.1:8080"),
    ("https://127.0.0.1:8080", "", "", "http://example.com", "https://127.0.0.1:8080"),
    ("socks5://127.0.0.1", "", "", "http://example.com", "socks5://127.0.0.1"),
    ("foo://host", "", "", "http://example.com", "foo://host"),
    ("http.proxy.tld", "secure.proxy.tld", "", "http://insecure.tld/", "http://http.proxy.tld"),
    ("http.proxy.tld", "secure.proxy.tld", "", "https://secure.tld/", "http://secure.proxy.tld"),
    ("http.proxy.tld", "https://secure.proxy.tld", "", "https://secure.tld/", "https://secure.proxy.tld"),
    ("http.proxy.tld", "", "", "https://secure.tld/", None),
    ("http.proxy.tld", "", "", "ftp://insecure.tld/", None),
    ("", "", "", "http://example.com", None),
    ("proxy", "", "example.com", "http://example.com/", None),
    ("proxy", "", ".example.com", "http://example.com/", "http://proxy"),
    ("proxy", "", "ample.com", "http://example.com/", "http://proxy"),
    ("proxy", "", "example.com", "http://foo.example.com/", None),
    ("proxy", "", ".foo.com", "http://example.com/", "http://proxy"),
    ("proxy", "", ".示例.com", "http://www.示例.com", None),
    ("proxy", "", "xn--fsq092h.com", "http://www.示例.com", None),
    ("proxy", "", "示例.com", "http://www.xn--fsq092h.com", None),
    ("proxy", "", "example.com", "http://[1000::%25.example.com]:123", "http://proxy"),
]  # fmt: skip


@pytest.mark.parametrize(("http", "https", "no_proxy", "url", "want"), PROXY_FOR_URL)
def test_proxy_for_url(http: str, https: str, no_proxy: str, url: str, want: str | None) -> None:
    proxy = ProxyConfig.from_values(http, https, no_proxy).proxy_for_url(url)
    assert (proxy.url if proxy is not None else None) == want


NO_PROXY = (
    "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, "
    "10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, "
    "2002:db8:a::45/64"
)

# (host, whether a request to host:80 is proxied)
USE_PROXY = [
    ("localhost", False),
    ("127.0.0.1", False),
    ("127.0.0.2", False),
    ("[::1]", False),
    ("[::2]", True),
    ("192.168.1.1", False),
    ("192.168.1.2", True),
    ("192.168.1.3", False),
    ("192.168.1.4", True),
    ("10.0.0.2", False),
    ("[2001:db8::52:0:1]", False),
    ("[2001:db8::52:0:2]", True),
    ("[2001:db8::52:0:3]", False),
    ("[2002:db8:a::123]", False),
    ("[fe80::424b:c8be:1643:a1b6]", True),
    ("barbaz.net", True),
    ("www.barbaz.net", False),
    ("foobar.com", False),
    ("www.foobar.com", False),
    ("foofoobar.com", True),
    ("baz.com", True),
    ("localhost.net", True),
    ("local.localhost", True),
    ("barbarbaz.net", True),
    ("wildcard.io", True),
    ("nested.wildcard.io", False),
    ("awildcard.io", True),
]


@pytest.mark.parametrize(("host", "proxied"), USE_PROXY)
def test_use_proxy(host: str, proxied: bool) -> None:
    assert ProxyConfig.from_values(no_proxy=NO_PROXY).use_proxy(host, 80) is proxied


@pytest.mark.parametrize(("host", "_"), USE_PROXY)
def test_no_proxy_star_bypasses_everything(host: str, _: bool) -> None:
    assert ProxyConfig.from_values(no_proxy="*").use_proxy(host, 80) is False


def test_invalid_no_proxy_entry_is_ignored() -> None:
    assert ProxyConfig.from_values(no_proxy=":1").use_proxy("example.com", 80) is True


def test_from_environment_upper_case_first() -> None:
    config = ProxyConfig.from_environment(
        {
            "HTTP_PROXY": "httpproxy",
            "HTTPS_PROXY": "httpsproxy",
            "NO_PROXY": "noproxy",
            "http_proxy": "lower",
            "https_proxy": "lower",
            "no_proxy": "lower",
        }
    )
    assert config.http is not None and config.http.url == "http://httpproxy"
    assert config.http.variable == "HTTP_PROXY"
    assert config.https is not None and config.https.url == "http://httpsproxy"
    assert config.https.variable == "HTTPS_PROXY"
    assert config.no_proxy_variable == "NO_PROXY"
    assert config.proxy_for("https", "noproxy") is None


def test_from_environment_lower_case() -> None:
    config = ProxyConfig.from_environment(
        {"http_proxy": "httpproxy", "https_proxy": "httpsproxy", "no_proxy": "noproxy"}
    )
    assert config.http is not None and config.http.url == "http://httpproxy"
    assert config.https is not None and config.https.variable == "https_proxy"
    assert config.no_proxy_variable == "no_proxy"
    assert config.proxy_for("http", "www.noproxy") is None


def test_empty_upper_case_value_falls_back_to_lower_case() -> None:
    # Go's getEnvAny skips an empty value
    config = ProxyConfig.from_environment({"HTTPS_PROXY": "", "https_proxy": "proxy:3128"})
    assert config.https is not None and config.https.variable == "https_proxy"


def test_port_in_no_proxy_entries() -> None:
    config = ProxyConfig.from_values(https_proxy="proxy", no_proxy="registry.test:5000")
    assert config.proxy_for("https", "registry.test", 5000) is None
    assert config.proxy_for("https", "registry.test") is not None  # :443


def test_credentials_are_kept_for_sending_and_out_of_display_and_repr() -> None:
    proxy = parse_proxy("http://alice:s%40cret@proxy.corp:3128", "HTTPS_PROXY")
    assert proxy is not None
    assert (proxy.username, proxy.password) == ("alice", "s@cret")
    assert proxy.display == "http://proxy.corp:3128"
    assert "cret" not in repr(proxy)
    assert proxy.has_credentials


def test_default_ports_in_display() -> None:
    https = parse_proxy("https://proxy.corp", "HTTPS_PROXY")
    plain = parse_proxy("proxy.corp", "HTTPS_PROXY")
    assert https is not None and https.display == "https://proxy.corp:443"
    assert plain is not None and plain.display == "http://proxy.corp:80"


def test_ipv4_mapped_addresses_are_their_ipv4() -> None:
    """Go's `net.IP` keeps `::ffff:127.0.0.1` as 127.0.0.1: loopback, and matched by IPv4
    NO_PROXY entries."""
    assert never_proxied("::ffff:127.0.0.1")
    config = ProxyConfig.from_values(https_proxy="http://proxy:3128", no_proxy="10.0.0.0/8")
    assert config.proxy_for("https", "::ffff:10.1.2.3", 443) is None
    assert config.proxy_for("https", "::ffff:11.1.2.3", 443) is not None
