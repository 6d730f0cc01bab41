"""Self-signed TLS material for tests: one certificate for localhost / 127.0.0.1."""

from __future__ import annotations

import datetime
import ipaddress
import tempfile
from pathlib import Path


def self_signed_cert(directory: Path | None = None) -> tuple[Path, Path]:
    """``cert.pem`` and ``key.pem`` in ``directory`` (a fresh temporary one when None).

    RSA with a traditional-format key, because quickfix-ssl cannot load an EC key in PKCS#8
    form; Python's ``ssl`` takes it as well, so our engine and QuickFIX share one helper.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="og-fix-tls-"))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
