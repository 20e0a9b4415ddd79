"""Certificates for the TLS tests, made at test time with Debian's `openssl` (never committed): a certificate
authority, a broker certificate for 127.0.0.1 / localhost, client certificates (one from another authority, one
expired). EC P-256 keys: quick to make, and every client here speaks them."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"openssl {' '.join(args)}\n{done.stderr}"


@dataclass
class Issued:
    key: Path
    cert: Path

    def pem(self) -> Path:
        """Certificate chain and key in one PEM file, as `ssl.keystore.location` takes it."""
        path = self.cert.with_suffix(".keystore.pem")
        path.write_text(self.cert.read_text() + self.key.read_text())
        return path


class Authority:
    def __init__(self, folder: Path, name: str):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.key = folder / f"{name}.key"
        self.cert = folder / f"{name}.pem"
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(self.key), cwd=folder)
        openssl("req", "-x509", "-new", "-key", str(self.key), "-days", "30", "-subj", f"/O=Fjord tests/CN={name}",
                "-out", str(self.cert), cwd=folder)

    def issue(self, name: str, subject: str, hosts: list[str] | None = None, expired: bool = False) -> Issued:
        key = self.folder / f"{name}.key"
        csr = self.folder / f"{name}.csr"
        cert = self.folder / f"{name}.pem"
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key), cwd=self.folder)
        openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr), cwd=self.folder)
        ext = self.folder / f"{name}.ext"
        lines = ["basicConstraints=CA:FALSE"]
        if hosts:
            lines.append("subjectAltName=" + ",".join(
                f"IP:{h}" if h.replace(".", "").isdigit() else f"DNS:{h}" for h in hosts))
        ext.write_text("\n".join(lines) + "\n")
        if expired:
            # `openssl ca` is the one that takes explicit dates: a minimal database for it.
            (self.folder / "index.txt").write_text("")
            conf = self.folder / "ca.cnf"
            conf.write_text("[ca]\ndefault_ca=d\n[d]\n"
                            f"database={self.folder / 'index.txt'}\nnew_certs_dir={self.folder}\n"
                            f"certificate={self.cert}\nprivate_key={self.key}\nserial={self.folder / 'serial'}\n"
                            "default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n"
                            "organizationName=optional\n")
            (self.folder / "serial").write_text("1000\n")
            openssl("ca", "-batch", "-config", str(conf), "-in", str(csr), "-out", str(cert), "-notext",
                    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extfile", str(ext),
                    cwd=self.folder)
        else:
            openssl("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
                    "-CAcreateserial", "-days", "30", "-extfile", str(ext), "-out", str(cert), cwd=self.folder)
        return Issued(key, cert)
