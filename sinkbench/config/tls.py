"""The TLS material a sink's settings name, loaded once and every problem blamed on its key.

The enhanced profile's `tls_ca_file`, `tls_client_cert` and `tls_client_key`
are files. The loader builds the SSL context when it reads the settings, so a
missing file, a file that is not PEM or a key that does not match its
certificate is an input error naming the key and its line, from `validate`
as from `run`; the engine builds its context with the same function.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from sinkbench.config.settings import SinkSettings
from sinkbench.errors import InputError, Where


class TlsFileError(InputError):
    """A TLS file a key names cannot be used; `key` is the setting to blame.

    An input error (exit 2) even when the engine meets it: a file removed after the settings were read.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message, Where(key=f"sink.{key}"))
        self.key = key


class _EncryptedKey(Exception):
    pass


def _no_password() -> bytes:
    # Without a callback OpenSSL would ask for the password on the terminal and wait.
    raise _EncryptedKey


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file not found"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a PEM file"
    return f"cannot read: {exc.strerror or exc}"


def _load(key: str, path: str, load: Callable[[], None], not_pem: str) -> None:
    """Runs `load`, turning its failure into a TlsFileError for `key`."""
    try:
        load()
    except OSError as exc:
        if isinstance(exc, ssl.SSLError):
            raise TlsFileError(key, f"{path}: {not_pem}") from None
        raise TlsFileError(key, f"{path}: {_os_problem(exc)}") from None


def ssl_context(settings: SinkSettings) -> ssl.SSLContext:
    """The system's trust store plus the enhanced profile's CA and client certificate.

    Raises TlsFileError naming the key whose file cannot be used.
    """
    ctx = ssl.create_default_context()
    if settings.enhanced and settings.tls_ca_file:
        _load_ca(ctx, settings.tls_ca_file)
    if settings.enhanced and settings.tls_client_cert:
        _load_client(ctx, settings.tls_client_cert, settings.tls_client_key)
    if settings.tls_danger_accept_invalid_certs:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _load_ca(ctx: ssl.SSLContext, ca: str) -> None:
    _load("tls_ca_file", ca, lambda: ctx.load_verify_locations(ca),
          "no CA certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)")


def _load_client(ctx: ssl.SSLContext, cert: str, key: str | None) -> None:
    # The certificate alone first, so a bad certificate is not blamed on the key.
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _load("tls_client_cert", cert, lambda: probe.load_verify_locations(cert),
          "no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)")
    blamed = "tls_client_key" if key else "tls_client_cert"
    shown = key or cert
    try:
        ctx.load_cert_chain(cert, key, password=_no_password)
    except _EncryptedKey:
        raise TlsFileError(blamed, f"{shown}: the private key is encrypted; sinkbench cannot ask for its "
                                   "password (give an unencrypted key)") from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            raise TlsFileError(blamed, f"{shown}: the private key does not match the certificate in "
                                       f"tls_client_cert ({cert})") from None
        if key is None:
            raise TlsFileError(blamed, f"{cert}: no private key in it (give tls_client_key, or a PEM file "
                                       "holding both the certificate and its key)") from None
        raise TlsFileError(blamed, f"{key}: no private key in it (expected PEM: -----BEGIN PRIVATE KEY-----)") \
            from None
    except OSError as exc:
        raise TlsFileError(blamed, f"{shown}: {_os_problem(exc)}") from None


def tls_problems(settings: SinkSettings) -> list[tuple[str, str]]:
    """(key, message) for each TLS file that cannot be used: the CA and the client pair checked apart."""
    if not settings.enhanced:
        return []
    problems: list[tuple[str, str]] = []
    checks: list[Callable[[ssl.SSLContext], None]] = []
    if settings.tls_ca_file:
        checks.append(lambda ctx: _load_ca(ctx, settings.tls_ca_file))
    if settings.tls_client_cert:
        checks.append(lambda ctx: _load_client(ctx, settings.tls_client_cert, settings.tls_client_key))
    for check in checks:
        try:
            check(ssl.create_default_context())
        except TlsFileError as exc:
            problems.append((exc.key, exc.message))
    return problems
