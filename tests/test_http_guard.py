"""The address guard: refused ranges, embedded IPv4, the allow-list, and refusal before any connection."""

from __future__ import annotations

import ipaddress

import pytest

from pipeline.config import ConfigError, load_settings
from pipeline.crawl.addresses import AddressGuard, BlockedAddress, StaticResolver, refusal_reason
from pipeline.crawl.http import FetchFailed, HttpClient
from tests.http_servers import LoopbackServer, Reply, fast_crawler_settings, loopback_names, page_fetcher


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "not globally routable"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "embeds 127.0.0.1: loopback"),
        ("::ffff:10.0.0.1", "embeds 10.0.0.1: private"),
        ("64:ff9b::a9fe:a9fe", "embeds 169.254.169.254: link-local"),
        ("2002:c0a8:0101::1", "embeds 192.168.1.1: private"),
    ],
)
def test_refused_ranges(address: str, reason: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None
    assert AddressGuard().check(address) is None


def test_allow_list_admits_its_networks_only() -> None:
    guard = AddressGuard([ipaddress.ip_network("127.0.0.0/8")])
    assert guard.check("127.0.0.5") is None
    assert guard.check("::ffff:127.0.0.5") is None  # the same address, IPv4-mapped
    assert guard.check("::1") == "loopback"
    assert guard.check("10.0.0.1") == "private"


def test_resolve_keeps_permitted_addresses_and_refuses_when_none() -> None:
    resolver = StaticResolver({"mixed.test": "10.0.0.1"})
    guard = AddressGuard([], resolver)
    with pytest.raises(BlockedAddress, match=r"mixed\.test resolves to 10\.0\.0\.1 \(private\)"):
        guard.resolve("mixed.test", 80)
    with pytest.raises(OSError):
        guard.resolve("unknown.test", 80)  # a static resolver never asks real DNS


def test_allow_networks_from_config_and_environment(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "socialrank.toml"
    config.write_text('[crawler]\nallow_networks = ["10.0.0.0/8"]\n')
    monkeypatch.setenv("SOCIALRANK_ALLOW_NETWORKS", "127.0.0.0/8, ::1/128")
    crawler = load_settings(config).crawler
    assert [str(network) for network in crawler.networks()] == ["10.0.0.0/8", "127.0.0.0/8", "::1/128"]
    assert crawler.enabled is False  # off unless configured
    monkeypatch.setenv("SOCIALRANK_ALLOW_NETWORKS", "localhost")
    with pytest.raises(ConfigError, match="SOCIALRANK_ALLOW_NETWORKS: 'localhost' is not a network"):
        load_settings(config)
    config.write_text("[crawler]\nper_host_delay = -1\n")
    monkeypatch.delenv("SOCIALRANK_ALLOW_NETWORKS")
    with pytest.raises(ConfigError, match="per_host_delay must be a non-negative number"):
        load_settings(config)


def test_loopback_is_refused_without_the_allow_list(loopback: LoopbackServer) -> None:
    url = loopback.route("site.test", "/", Reply(200, "hello"))
    client = HttpClient(AddressGuard([], loopback_names("site.test")), user_agent="socialrank-test/1.0")
    with pytest.raises(FetchFailed) as failed:
        client.request("GET", url)
    assert failed.value.kind == "blocked" and "127.0.0.1 (loopback)" in failed.value.message
    assert loopback.connections == 0


def test_redirect_to_a_refused_address_is_not_followed_and_no_connection_is_made(
    loopback: LoopbackServer,
) -> None:
    # The "internal" server really listens (on 127.0.0.2), but only 127.0.0.1/32 is allowed: the guard must
    # refuse the hop before connecting, so that server sees no connection at all.
    with LoopbackServer("127.0.0.2") as internal:
        internal.route("internal.test", "/admin", Reply(200, "secret"))
        target = internal.url("internal.test", "/admin")
        start = loopback.route("site.test", "/go", Reply(302, headers={"Location": target}))
        settings = fast_crawler_settings(allow_networks=("127.0.0.1/32",))
        resolver = StaticResolver({"site.test": "127.0.0.1", "internal.test": "127.0.0.2"})
        result = page_fetcher(settings, resolver).fetch(start)
        assert internal.connections == 0 and internal.hits == []
    assert result.error_kind == "blocked"
    assert result.error is not None and "127.0.0.2 (loopback)" in result.error
    assert [(hop.url, hop.status) for hop in result.redirects] == [(start, 302)]
    assert result.final_url is None


def test_redirect_to_a_private_literal_address_is_refused(loopback: LoopbackServer) -> None:
    start = loopback.route("site.test", "/go", Reply(301, headers={"Location": "http://10.20.30.40/x"}))
    result = page_fetcher(fast_crawler_settings(), loopback_names("site.test")).fetch(start)
    assert result.error_kind == "blocked" and "10.20.30.40 (private)" in (result.error or "")
