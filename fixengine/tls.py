"""TLS for the FIX line: an ``ssl.SSLContext`` from QuickFIX-style settings."""

from __future__ import annotations

import ssl

from fixengine.settings import SessionSettings


def ssl_context_from_settings(settings: SessionSettings) -> ssl.SSLContext | None:
    """An SSLContext from QuickFIX-style settings (SocketUseSSL, *CertificateFile...), or None.

    Acceptor: ServerCertificateFile/ServerCertificateKeyFile; CertificateAuthoritiesFile makes
    client certificates required. Initiator: CertificateAuthoritiesFile to verify the server
    (system store otherwise); ClientCertificateFile/KeyFile for mutual TLS.
    """
    if not settings.SocketUseSSL:
        return None
    if settings.is_initiator:
        ctx = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=settings.CertificateAuthoritiesFile
        )
        if settings.ClientCertificateFile:
            ctx.load_cert_chain(settings.ClientCertificateFile, settings.ClientCertificateKeyFile)
        return ctx
    if not settings.ServerCertificateFile:
        raise ValueError("SocketUseSSL=Y on an acceptor needs ServerCertificateFile")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(settings.ServerCertificateFile, settings.ServerCertificateKeyFile)
    if settings.CertificateAuthoritiesFile:
        ctx.load_verify_locations(settings.CertificateAuthoritiesFile)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
