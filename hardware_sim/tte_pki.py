"""The simulated central's TTE hierarchy, shaped like BSrE's: a root CA, an intermediate, the head of office.

Made on the simulated central's first start in its data directory (``root.pem`` is what a
simulated kiosk trusts), never in the repository. Keys are ECDSA P-256 (instant to make, so
every test gets its own hierarchy); the private keys are written 0600. Besides the real
signer it can make, in memory only, the signers tests need to be refused: one whose
certificate has expired and one under a foreign root that no kiosk trusts.

What can go wrong: a data directory from an older run with some files missing is remade
whole (a half hierarchy would leave the kiosk trusting a root that signs nothing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

OFFICE = "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bogor"
SIGNER_NAME = f"Kepala {OFFICE}"
CRL_URL = "http://crl.simulasi-bsre.invalid/osd-level3.crl"  # declared, never fetched: documents embed the CRL
_FILES = ("root.pem", "intermediate.pem", "intermediate.key", "signer.pem", "signer.key")


@dataclass(frozen=True)
class Signer:
    """A signing certificate with its key and the chain above it (intermediate first)."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, ...]

    @property
    def name(self) -> str:
        return str(self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _name(cn: str, org: str, unit: str = "") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if unit:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _cert(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
          issuer_key: ec.EllipticCurvePrivateKey, ca: bool, not_before: dt.datetime, not_after: dt.datetime,
          issuer_cert: x509.Certificate | None = None) -> x509.Certificate:
    pub = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False))
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False)  # type: ignore[arg-type]
    usage = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
    if ca:
        usage.update(key_cert_sign=True, crl_sign=True)
    else:  # the head of office's signing certificate: digitalSignature + nonRepudiation, and where its CRL is
        usage.update(digital_signature=True, content_commitment=True)
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(CRL_URL)], None, None, None)]), critical=False)
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _signer_cert(key: ec.EllipticCurvePrivateKey, mid: x509.Certificate, mid_key: ec.EllipticCurvePrivateKey,
                 valid: tuple[dt.datetime, dt.datetime]) -> x509.Certificate:
    return _cert(_name(SIGNER_NAME, "Pemerintah Kabupaten Bogor", OFFICE), key, mid.subject, mid_key, False, *valid, mid)


def _hierarchy(label: str, signer_valid: tuple[dt.datetime, dt.datetime]
               ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Signer]:
    """A root, an intermediate and a signer under it; returns the root, the intermediate's key and the signer."""
    now = dt.datetime.now(dt.UTC)
    root_key, mid_key, sig_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root_name = _name(f"Root CA {label}", f"Balai Sertifikasi Elektronik ({label})")
    mid_name = _name(f"OSD {label} Level 3", f"Balai Sertifikasi Elektronik ({label})")
    root = _cert(root_name, root_key, root_name, root_key, True, now - dt.timedelta(days=3650),
                 now + dt.timedelta(days=3650))
    mid = _cert(mid_name, mid_key, root_name, root_key, True, now - dt.timedelta(days=1825),
                now + dt.timedelta(days=1825), root)
    return root, mid_key, Signer(_signer_cert(sig_key, mid, mid_key, signer_valid), sig_key, (mid, root))


class TtePki:
    """The hierarchy in ``directory``: loaded when complete, else made afresh."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        if not all((directory / f).exists() for f in _FILES):
            self._create()
        self.root = x509.load_pem_x509_certificate((directory / "root.pem").read_bytes())
        mid = x509.load_pem_x509_certificate((directory / "intermediate.pem").read_bytes())
        cert = x509.load_pem_x509_certificate((directory / "signer.pem").read_bytes())
        key = serialization.load_pem_private_key((directory / "signer.key").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.signer = Signer(cert, key, (mid, self.root))

    @property
    def root_path(self) -> Path:
        """The trust anchor a simulated kiosk is pointed at (``documents.tte_trust_anchors``)."""
        return self.directory / "root.pem"

    def _create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        root, mid_key, signer = _hierarchy("Simulasi BSrE", (now - dt.timedelta(days=365), now + dt.timedelta(days=730)))
        pem = serialization.Encoding.PEM
        for name, key in (("intermediate.key", mid_key), ("signer.key", signer.key)):
            path = self.directory / name
            path.touch(0o600)
            path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        (self.directory / "intermediate.pem").write_bytes(signer.chain[0].public_bytes(pem))
        (self.directory / "signer.pem").write_bytes(signer.cert.public_bytes(pem))
        (self.directory / "root.pem").write_bytes(root.public_bytes(pem))  # last: its presence means complete

    def expired_signer(self) -> Signer:
        """The head of office's certificate of last year, expired a month ago, under the same (trusted) intermediate."""
        now = dt.datetime.now(dt.UTC)
        mid_key = self._intermediate_key()
        key = ec.generate_private_key(ec.SECP256R1())
        mid = self.signer.chain[0]
        cert = _signer_cert(key, mid, mid_key, (now - dt.timedelta(days=400), now - dt.timedelta(days=30)))
        return Signer(cert, key, self.signer.chain)

    def crl(self, revoked: tuple[x509.Certificate, ...] = ()) -> bytes:
        """The intermediate's current CRL (DER), listing ``revoked``: what central embeds in each document."""
        now = dt.datetime.now(dt.UTC)
        mid_key = self._intermediate_key()
        builder = (x509.CertificateRevocationListBuilder().issuer_name(self.signer.chain[0].subject)
                   .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=7))
                   .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False))
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                .revocation_date(now - dt.timedelta(minutes=1)).build())
        return builder.sign(mid_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def _intermediate_key(self) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key((self.directory / "intermediate.key").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    @staticmethod
    def foreign_signer() -> Signer:
        """A well-formed signer under a root no kiosk is configured to trust."""
        now = dt.datetime.now(dt.UTC)
        return _hierarchy("CA Asing", (now - dt.timedelta(days=30), now + dt.timedelta(days=365)))[2]
