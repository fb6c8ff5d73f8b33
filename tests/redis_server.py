"""A real redis-server on loopback, owned by the test (so it can be stopped and restarted).

As production runs it if asked: with a password (`requirepass`) and with TLS only (a
`rediss://` URL, a certificate from a throwaway CA that the URL names).
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from tests.deps import missing


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Nothing written to disk: each test gets a fresh, throwaway server.
EPHEMERAL = ("--save", "", "--appendonly", "no", "--protected-mode", "no")


class RedisServer:
    def __init__(self, *, password: str | None = None, tls: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed (make system-deps installs it)"
            missing(message)  # in CI a failure, never a skip
        self.binary = binary
        self.port = _free_port()
        self.password = password
        self.tls_files = _certificate(Path(tempfile.mkdtemp(prefix="redis-tls-"))) if tls else None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        if self.tls_files is None:
            return f"redis://{auth}127.0.0.1:{self.port}/0"
        # redis-py passes unknown query parameters on to the connection: here, the CA to trust.
        return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.tls_files[0]}"

    def _arguments(self) -> list[str]:
        args = [self.binary, "--bind", "127.0.0.1", *EPHEMERAL]
        if self.password is not None:
            args += ["--requirepass", self.password]
        if self.tls_files is None:
            return [*args, "--port", str(self.port)]
        cert, key = self.tls_files
        return [
            *args,
            *("--port", "0", "--tls-port", str(self.port)),
            *("--tls-cert-file", str(cert), "--tls-key-file", str(key)),
            *("--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"),
        ]

    def start(self) -> None:
        self._process = subprocess.Popen(
            self._arguments(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self._answers_ping():
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def _answers_ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw:
            sock = raw
            if self.tls_files is not None:
                context = ssl.create_default_context(cafile=str(self.tls_files[0]))
                sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
            sock.sendall(b"PING\r\n")
            # With a password set, an unauthenticated PING is refused: the server is up all
            # the same.
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, that is its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "redis test server")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
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
