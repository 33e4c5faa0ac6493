"""What the TLS workloads share: a throw-away CA and certificate, and the two contexts.

The certificate is made with ``trustme`` (an ECDSA leaf for 127.0.0.1 and localhost, signed
by a fresh CA) **once per benchmark run**: ``run.py`` writes it to a temporary folder and
names that folder in ``BATONIO_BENCH_TLS_DIR`` for every child, so every loop does the same
cryptography on the same key.  A process without that variable (a test calling a workload
directly, ``tls_soak.py``) makes its own set the same way.  The contexts are built once per
process and shared by every connection of a run.
"""

from __future__ import annotations

import functools
import os
import ssl
import tempfile
from pathlib import Path

__all__ = ["ENV", "HOSTNAME", "client_context", "server_context", "write_certificates"]

#: The environment variable naming the folder with ``ca.pem``, ``cert.pem``, ``key.pem``.
ENV = "BATONIO_BENCH_TLS_DIR"

#: The name the client checks the certificate against.
HOSTNAME = "localhost"

_FILES = ("ca.pem", "cert.pem", "key.pem")


def write_certificates(folder: str | os.PathLike[str]) -> Path:
    """Make a CA and a leaf certificate with trustme and write them to ``folder``."""
    import trustme  # only where certificates are made: the children just read files

    path = Path(folder)
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", HOSTNAME)
    ca.cert_pem.write_to_path(str(path / "ca.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(path / "cert.pem"))
    leaf.private_key_pem.write_to_path(str(path / "key.pem"))
    return path


@functools.cache
def _folder() -> Path:
    named = os.environ.get(ENV)
    if named:
        path = Path(named)
        missing = [f for f in _FILES if not (path / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{ENV}={named} lacks {', '.join(missing)}")
        return path
    # Removed when the process exits; the contexts have read the files by then.
    own = tempfile.TemporaryDirectory(prefix="batonio-bench-tls-")
    _KEEP.append(own)
    return write_certificates(own.name)


_KEEP: list[tempfile.TemporaryDirectory[str]] = []


@functools.cache
def server_context() -> ssl.SSLContext:
    """The server side's context: the test certificate and its key."""
    folder = _folder()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return ctx


@functools.cache
def client_context() -> ssl.SSLContext:
    """The client side's context: verifies the server against the test CA."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(_folder() / "ca.pem"))
    return ctx
