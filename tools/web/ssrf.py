"""The SSRF guard's rules: which URLs may be requested and which addresses may be connected to.

Two checks, both applied to the first request and to every redirect:
- `UrlPolicy.check_url` before a request is sent: scheme, credentials, host syntax (numeric
  host forms such as `2130706433`, `0x7f000001`, `0177.0.0.1` or `127.1` are refused outright,
  since resolvers disagree on what they mean), special-use names, port, allow/deny lists.
- `UrlPolicy.check_ip` on every address a connection would go to (see `transport.py`, which
  resolves once and connects to the very address that passed, so DNS cannot rebind in between).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import httpx

from tools.errors import ToolFailure
from tools.web.settings import WebSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 6761 / 6762 / 8375 and ICANN's private-use TLD: names that only ever mean "inside".
_SPECIAL_SUFFIXES = ("localhost", "local", "internal", "home.arpa", "invalid", "onion")
_TEST_LOOPBACK = ipaddress.IPv4Address("127.0.0.1")

# Refused even where `ipaddress` calls them global: shared CGNAT space, IETF protocol
# assignments, benchmarking, and IPv6 prefixes that embed or translate to an IPv4 address.
_NEVER = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "100.64.0.0/10",
        "192.0.0.0/24",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",  # IPv4-compatible (deprecated)
        "::ffff:0:0/96",  # IPv4-mapped
        "64:ff9b::/96",  # NAT64
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/32",  # Teredo
        "2002::/16",  # 6to4
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


class Refused(ToolFailure):
    """The guard refused a URL or an address; never retried."""


@dataclass(frozen=True)
class Target:
    """A URL that passed `check_url`: what the transport will connect to."""

    url: httpx.URL
    host: str  # lower-case, without a trailing dot or IPv6 brackets
    port: int
    ip: IPAddress | None  # set when the host is an address literal


def parse_url(raw: str | httpx.URL) -> httpx.URL:
    if isinstance(raw, httpx.URL):
        return raw
    try:
        return httpx.URL(raw.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise Refused(f"{raw!r} is not a valid URL ({exc})") from None


def ip_refusal(ip: IPAddress, *, allow_test_loopback: bool = False) -> str | None:
    """Why a connection to `ip` is refused, or None when it is a public address."""
    if allow_test_loopback and ip == _TEST_LOOPBACK:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    checks = (
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address (this includes cloud metadata services)"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private or non-routable address"),
        (ip.is_reserved, "a reserved address"),
        (any(ip in net for net in _NEVER), "a special-purpose address"),
        (not ip.is_global, "not a public address"),
    )
    return next((why for hit, why in checks if hit), None)


def _numeric_ipv4_form(host: str) -> bool:
    """True when WHATWG URL parsing would read `host` as an IPv4 number (`127.1`, `0x7f`…)."""
    last = host.rsplit(".", 1)[-1]
    if last.isdigit():
        return True
    return last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:])


def _valid_label(label: str) -> bool:
    return (
        0 < len(label) <= 63
        and label.isascii()
        and all(c.isalnum() or c in "-_" for c in label)
        and not label.startswith("-")
        and not label.endswith("-")
    )


def _matches(host: str, domains: list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


class UrlPolicy:
    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.allow_test_loopback = settings.allow_loopback_for_tests

    def check_ip(self, ip: IPAddress, host: str) -> None:
        reason = ip_refusal(ip, allow_test_loopback=self.allow_test_loopback)
        if reason is not None:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise Refused(
                f"refused to connect to {shown}: {reason}; only public web addresses may be read"
            )

    def check_url(self, raw: str | httpx.URL) -> Target:
        url = parse_url(raw)
        if url.userinfo:
            # Never echo the credentials themselves into messages, events or logs.
            shown = str(url.copy_with(username="***", password=None))
            raise Refused(f"refused {shown}: URLs with a user name or password are not allowed")
        shown = str(url)
        if url.scheme not in _SCHEMES:
            raise Refused(f"refused {shown}: only http and https URLs may be read")
        host = url.host.lower().rstrip(".")
        if not host:
            raise Refused(f"refused {shown}: the URL has no host")
        port = url.port or _DEFAULT_PORTS[url.scheme]
        ip = self._literal(host, shown)
        if ip is None:
            self._check_name(host, shown)
        if port not in self.settings.allowed_ports:
            allowed = ", ".join(map(str, self.settings.allowed_ports))
            raise Refused(f"refused {shown}: port {port} is not allowed (allowed: {allowed})")
        self._check_lists(host, shown)
        return Target(url=url, host=host, port=port, ip=ip)

    def _literal(self, host: str, shown: str) -> IPAddress | None:
        if ":" in host:  # httpx has already stripped the brackets of an IPv6 literal
            if "%" in host:
                raise Refused(f"refused {shown}: IPv6 zone identifiers are not allowed")
            try:
                ip: IPAddress = ipaddress.IPv6Address(host)
            except ValueError:
                raise Refused(f"refused {shown}: malformed IPv6 address") from None
            self.check_ip(ip, host)
            return ip
        if not _numeric_ipv4_form(host):
            return None
        try:
            ip = ipaddress.IPv4Address(host)  # dotted-quad only: no octal, hex or short forms
        except ValueError:
            raise Refused(
                f"refused {shown}: numeric host forms other than a plain dotted-quad "
                "address (decimal, octal, hex, shortened) are not allowed"
            ) from None
        self.check_ip(ip, host)
        return ip

    def _check_name(self, host: str, shown: str) -> None:
        labels = host.split(".")
        if not all(_valid_label(label) for label in labels):
            raise Refused(f"refused {shown}: {host!r} is not a valid host name")
        if len(labels) < 2:
            raise Refused(f"refused {shown}: single-label host names are internal names")
        if _matches(host, list(_SPECIAL_SUFFIXES)):
            raise Refused(f"refused {shown}: {host} is a special-use (local) name")

    def _check_lists(self, host: str, shown: str) -> None:
        if _matches(host, self.settings.deny_domains):
            raise Refused(f"refused {shown}: {host} is on the deny list")
        allow = self.settings.allow_domains
        if allow and not _matches(host, allow):
            raise Refused(f"refused {shown}: {host} is not on the allow list")
