"""Throwaway TLS material for the tests: a CA, a server certificate it signed, and a Java
trust store holding the CA, made with Debian's ``openssl`` and Java's ``keytool``.

For tests only: the CA's key lies next to it, unprotected. A real broker's certificate
comes from its operator; ``socksort.stack.mosquitto.TlsFiles`` names the PEM files.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from socksort.errors import UserError
from socksort.stack.mosquitto import TlsFiles

OPENSSL = "openssl"


def make_test_certificates(folder: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                           days: int = 30) -> TlsFiles:
    """A throwaway CA and a server certificate it signed for ``hosts``, made with the
    ``openssl`` command (Debian's openssl package), as PEM files in ``folder``:
    ``ca.pem``/``ca.key`` and ``server.pem``/``server.key``.
    """
    if shutil.which(OPENSSL) is None:
        raise UserError("openssl not found; install the Debian package: apt-get install openssl")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, csr = folder / "server.pem", folder / "server.key", folder / "server.csr"
    names = ",".join(f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in hosts)
    extensions = folder / "server.ext"
    # serverAuth and the key identifiers keep strict verifiers (Java's PKIX, OpenSSL's
    # X509_STRICT) as content as Python's default one.
    extensions.write_text(f"subjectAltName={names}\nbasicConstraints=critical,CA:FALSE\n"
                          "keyUsage=critical,digitalSignature,keyEncipherment\n"
                          "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\n"
                          "authorityKeyIdentifier=keyid\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for argv in (
        [OPENSSL, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", days,
         "-subj", "/CN=socksort test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [OPENSSL, "req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={hosts[0]}"],
        [OPENSSL, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", days, "-sha256", "-extfile", extensions],
    ):
        done = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"openssl {argv[1]} failed: {_last_line(done)}")
    for private in (ca_key, key):
        private.chmod(0o600)
    return TlsFiles(ca, cert, key)


def make_trust_store(cafile: Path, path: Path, password: str) -> Path:
    """A PKCS12 trust store holding the CA certificate ``cafile``, made with Java's
    ``keytool``: what the MQTT source connector's ``mqtt.ssl.trust.store.path`` takes."""
    keytool = shutil.which("keytool")
    if keytool is None:
        raise UserError("keytool not found; it comes with Java 17 (apt-get install openjdk-17-jdk-headless)")
    # The password goes through the environment, never onto a command line others can read.
    done = subprocess.run([keytool, "-importcert", "-noprompt", "-alias", "mqtt-ca", "-file", str(cafile),
                           "-keystore", str(path), "-storetype", "PKCS12", "-storepass:env", "SOCKSORT_STORE_PASS"],
                          capture_output=True, text=True, env={**os.environ, "SOCKSORT_STORE_PASS": password})
    if done.returncode != 0:
        raise UserError(f"keytool could not make a trust store from {cafile}: {_last_line(done)}")
    return Path(path)


def _last_line(done: subprocess.CompletedProcess) -> str:
    lines = (done.stderr + done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True
