"""The SSRF guard: every URL in the table is refused, on the first request and on redirects.

Names resolve through a table (no real DNS) and the dialler under the guard only ever dials
127.0.0.1, so even a broken guard could not send a packet off this machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Sequence
from urllib.parse import quote

import pytest

from tests.web_fakes import FakeWeb, StaticResolver, fake_web_settings, runtime_for, serve
from tools.errors import ToolFailure
from tools.web.page import read_page
from tools.web.settings import WebSettings
from tools.web.ssrf import IPAddress, Refused, UrlPolicy, ip_refusal
from tools.web.transport import GuardedBackend

# Hostnames in this table resolve (through the test resolver) to non-public addresses.
RESOLVER = StaticResolver(
    {
        "intranet.example.com": ["10.1.2.3"],
        "router.example.com": ["192.168.0.1"],
        "docker.example.com": ["172.17.0.1"],
        "metadata.example.com": ["169.254.169.254"],
        "loopback.example.com": ["127.0.0.1"],
        "v6loop.example.com": ["::1"],
        "cgnat.example.com": ["100.64.0.7"],
        "half-private.example.com": ["93.184.216.34", "10.0.0.5"],
        "mapped.example.com": ["::ffff:10.0.0.1"],
        "ula.example.com": ["fd12:3456:789a::1"],
        "public.example.com": ["93.184.216.34"],
    }
)

REFUSED = [
    # loopback, in every spelling
    "http://127.0.0.1/",
    "http://127.0.0.2:80/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://2130706433/",  # decimal
    "http://0177.0.0.1/",  # octal
    "http://0x7f000001/",  # hex
    "http://0x7f.0.0.1/",  # hex octet
    "http://127.1/",  # short
    "http://0/",  # short for 0.0.0.0
    "http://0.0.0.0/",
    "http://[::]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://app.localhost/",
    # private networks and cloud metadata
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fd00::1]/",
    "http://[fc00::2]/",
    "http://100.64.0.1/",  # carrier-grade NAT
    # multicast, reserved, documentation, broadcast
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://[2001:db8::1]/",
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
    # names that resolve inside
    "http://intranet.example.com/",
    "http://router.example.com/admin",
    "http://docker.example.com/",
    "http://metadata.example.com/computeMetadata/v1/",
    "http://loopback.example.com/",
    "http://v6loop.example.com/",
    "http://cgnat.example.com/",
    "http://half-private.example.com/",
    "http://mapped.example.com/",
    "http://ula.example.com/",
    # internal names
    "http://metadata/",
    "http://printer.local/",
    "http://db.internal/",
    "http://nas.home.arpa/",
    # schemes, credentials, ports, malformed hosts
    "file:///etc/passwd",
    "ftp://public.example.com/",
    "gopher://public.example.com:70/",
    "dict://public.example.com:11211/",
    "javascript:alert(1)",
    "http://user:pass@public.example.com/",
    "http://public.example.com@127.0.0.1/",
    "http://127.0.0.1:80@public.example.com/",
    "http://public.example.com:22/",
    "http://public.example.com:6379/",
    "http://%31%32%37.0.0.1/",
    "http://127.000.000.001/",
    "http://①②⑦.0.0.1/",
    "not a url",
    "http:///nohost",
]


@pytest.fixture
async def web() -> AsyncIterator[FakeWeb]:
    async with serve(FakeWeb()) as fake:
        yield fake


def test_the_table_is_big_enough() -> None:
    assert len(REFUSED) >= 30
    assert len(set(REFUSED)) == len(REFUSED)


@pytest.mark.parametrize("url", REFUSED)
async def test_refused_before_any_connection(url: str) -> None:
    web, dialler = runtime_for(WebSettings(), RESOLVER)
    with pytest.raises(Refused) as caught:
        await read_page(web, url, 1000)
    assert dialler.dialled == [] and dialler.refused == []
    message = str(caught.value)
    assert message.startswith(("refused", "'")) and len(message) < 300
    await web.aclose()


@pytest.mark.parametrize("url", ["http://public.example.com/", "https://public.example.com/a?b=c"])
async def test_public_names_pass_both_checks(url: str) -> None:
    policy = UrlPolicy(WebSettings())
    target = policy.check_url(url)
    backend = GuardedBackend(policy, RESOLVER)
    addresses = await backend.addresses(target.host, target.port, 1.0)
    assert addresses == [ipaddress.ip_address("93.184.216.34")]


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.216.34", "1.1.1.1", "2a00:1450:4001:82a::200e", "2606:4700::1111"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert ip_refusal(ipaddress.ip_address(address)) is None


def test_loopback_escape_hatch_is_off_by_default_and_narrow() -> None:
    assert WebSettings().allow_loopback_for_tests is False
    hatch = UrlPolicy(WebSettings(allow_loopback_for_tests=True))
    hatch.check_ip(ipaddress.ip_address("127.0.0.1"), "127.0.0.1")
    for other in ("127.0.0.2", "::1", "::ffff:127.0.0.1", "10.0.0.1", "0.0.0.0"):
        with pytest.raises(Refused):
            hatch.check_ip(ipaddress.ip_address(other), other)


def test_domain_lists() -> None:
    denied = UrlPolicy(WebSettings(deny_domains="evil.example.com, .tracker.example.org"))
    with pytest.raises(Refused, match="deny list"):
        denied.check_url("https://sub.evil.example.com/")
    with pytest.raises(Refused, match="deny list"):
        denied.check_url("https://x.tracker.example.org/")
    denied.check_url("https://good.example.com/")
    only = UrlPolicy(WebSettings(allow_domains=["wikipedia.org"]))
    only.check_url("https://ru.wikipedia.org/wiki/Москва")
    with pytest.raises(Refused, match="allow list"):
        only.check_url("https://wikipedia.org.evil.example/")


async def test_redirect_into_private_space_is_refused(web: FakeWeb) -> None:
    runtime, dialler = runtime_for(fake_web_settings(web.port), RESOLVER)
    base = f"http://127.0.0.1:{web.port}/redirect?to="
    for target in (
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        f"http://intranet.example.com:{web.port}/",
        f"http://[::1]:{web.port}/",
        "file:///etc/passwd",
        f"http://127.0.0.2:{web.port}/plain",
    ):
        with pytest.raises(Refused):
            await read_page(runtime, base + quote(target, safe=""), 1000)
    assert dialler.refused == []
    assert {host for host, _ in dialler.dialled} == {"127.0.0.1"}
    await runtime.aclose()


async def test_connects_to_the_checked_address_and_keeps_the_host_name(web: FakeWeb) -> None:
    # A rebinding resolver: the first answer passes, any later one would point inside.
    class Rebinding(StaticResolver):
        async def resolve(self, host: str, port: int) -> Sequence[IPAddress]:
            self.lookups.append(host)
            first = len(self.lookups) == 1
            return [ipaddress.IPv4Address("127.0.0.1" if first else "10.0.0.1")]

    resolver = Rebinding()
    settings = fake_web_settings(web.port)
    runtime, dialler = runtime_for(settings, resolver)
    page = await read_page(runtime, f"http://news.example.com:{web.port}/echo-host", 1000)
    assert f"host=news.example.com:{web.port}" in page
    assert resolver.lookups == ["news.example.com"]  # resolved once, for the one connection
    assert dialler.dialled == [("127.0.0.1", web.port)]  # dialled the address, not the name
    await runtime.aclose()


async def test_a_second_connection_is_checked_again(web: FakeWeb) -> None:
    resolver = StaticResolver({"news.example.com": ["127.0.0.1"]})
    runtime, _ = runtime_for(fake_web_settings(web.port), resolver)
    await read_page(runtime, f"http://news.example.com:{web.port}/plain", 1000)
    await runtime.aclose()  # drop the pooled connection
    resolver.table["news.example.com"] = [ipaddress.ip_address("10.0.0.9")]
    with pytest.raises(Refused, match="private"):
        await read_page(runtime, f"http://news.example.com:{web.port}/plain", 1000)
    await runtime.aclose()


async def test_unresolvable_names_are_a_readable_failure() -> None:
    runtime, dialler = runtime_for(WebSettings(), StaticResolver())
    with pytest.raises(ToolFailure, match=r"could not resolve nowhere\.example\.com"):
        await read_page(runtime, "https://nowhere.example.com/", 1000)
    assert dialler.dialled == []
    await runtime.aclose()
