"""HTTPS through the guard: the TCP connection goes to the checked address, while TLS (SNI and
certificate verification) and the Host header still use the URL's host name."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.web_fakes import FakeWeb, StaticResolver, fake_web_settings, runtime_for, serve
from tools.errors import ToolFailure
from tools.web.page import read_page

HOST = "secure.example.com"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate valid for HOST only (no IP address in it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
async def tls(tmp_path: Path) -> AsyncIterator[tuple[FakeWeb, ssl.SSLContext]]:
    cert_file, key_file = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert_file))
    async with serve(FakeWeb(), ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)) as web:
        yield web, trust


async def test_https_by_name_to_the_checked_address(tls: tuple[FakeWeb, ssl.SSLContext]) -> None:
    web, trust = tls
    resolver = StaticResolver({HOST: ["127.0.0.1"]})
    runtime, dialler = runtime_for(fake_web_settings(web.port), resolver, trust)
    page = await read_page(runtime, f"https://{HOST}:{web.port}/echo-host", 1000)
    assert f"host={HOST}:{web.port}" in page  # Host header: the name
    assert dialler.dialled == [("127.0.0.1", web.port)]  # TCP: the checked address
    # The handshake verified a certificate that names only HOST: SNI carried the name too.
    await runtime.aclose()


async def test_certificates_are_still_verified(tls: tuple[FakeWeb, ssl.SSLContext]) -> None:
    web, trust = tls
    runtime, _ = runtime_for(fake_web_settings(web.port, max_retries=0), None, trust)
    with pytest.raises(ToolFailure, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        await read_page(runtime, f"https://127.0.0.1:{web.port}/plain", 1000)  # wrong name
    await runtime.aclose()
    untrusting, _ = runtime_for(
        fake_web_settings(web.port, max_retries=0), StaticResolver({HOST: ["127.0.0.1"]})
    )
    with pytest.raises(ToolFailure, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        await read_page(untrusting, f"https://{HOST}:{web.port}/plain", 1000)  # unknown issuer
    await untrusting.aclose()
