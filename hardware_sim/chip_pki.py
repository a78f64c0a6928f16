"""The issuing side of the e-KTP chip's PKI, as the simulated central runs it (ICAO 9303 style).

A country signing CA (CSCA) certifies a document signer (DS); the DS signs each card's
security object (EF.SOD): a CMS SignedData whose content is an ``LDSSecurityObject``-like
list of (file number, SHA-256 of the file). Readers trust the CSCA (a PEM bundle in their
config) and check the rest: docs/ektp-card-protocol.md section 6.

The hierarchy is made on first start in the simulated central's data directory, never in
the repository; ``foreign()`` and ``expired_signer()`` make the hierarchies the tests
refuse. Built with cryptography (keys, certificates, signatures) and asn1crypto (the CMS
and the security object's DER); no hand-written ASN.1.

What can go wrong: a data directory whose PEM files were edited by hand fails to load
(``ValueError`` from cryptography), and the simulated central refuses to start.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"  # id-icao-mrtd-security-ldsSecurityObject
CSCA_DAYS, DS_DAYS = 3650, 365


class DataGroupHash(core.Sequence):
    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LdsSecurityObject(core.Sequence):
    _fields = [("version", core.Integer), ("hash_algorithm", algos.DigestAlgorithm),
               ("data_group_hash_values", DataGroupHashValues)]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ADM simulator (not Ditjen Dukcapil)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey,
          ca: bool, not_before: dt.datetime, days: int) -> x509.Certificate:
    usage = x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                          encipher_only=False, decipher_only=False)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_before + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
            .add_extension(usage, critical=True)
            .sign(issuer_key, hashes.SHA256()))


def _ec_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return key


@dataclass(frozen=True)
class ChipPki:
    """A CSCA and one DS, with their keys: what signs every card's security object."""

    csca: x509.Certificate
    csca_key: ec.EllipticCurvePrivateKey
    ds: x509.Certificate
    ds_key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str = "ADM-SIM CSCA", ds_days: int = DS_DAYS,
               ds_not_before: dt.datetime | None = None) -> ChipPki:
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        csca_key, ds_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        csca = _cert(name, csca_key, _name(name), csca_key, True, now, CSCA_DAYS)
        ds = _cert(f"{name} DS 01", ds_key, csca.subject, csca_key, False, ds_not_before or now, ds_days)
        return cls(csca, csca_key, ds, ds_key)

    @classmethod
    def foreign(cls) -> ChipPki:
        """Another country's hierarchy, with the same names: a reader that trusts ours must refuse it."""
        return cls.create()

    def expired_signer(self) -> ChipPki:
        """A DS of this CSCA whose validity ended yesterday (the tests' expired DS)."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
        ds = _cert("ADM-SIM CSCA DS 00 (expired)", key, self.csca.subject, self.csca_key, False, start, 30)
        return ChipPki(self.csca, self.csca_key, ds, key)

    @classmethod
    def load_or_create(cls, directory: str | Path) -> ChipPki:
        """The hierarchy in ``directory`` (csca.pem, ds.pem; csca.key and ds.key 0600), made there on first start."""
        d = Path(directory)
        certs, keys = (d / "csca.pem", d / "ds.pem"), (d / "csca.key", d / "ds.key")
        if not all(f.exists() for f in certs + keys):
            d.mkdir(parents=True, exist_ok=True)
            pki = cls.create()
            for path, key in zip(keys, (pki.csca_key, pki.ds_key), strict=True):
                path.touch(mode=0o600)
                path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
            for path, cert in zip(certs, (pki.csca, pki.ds), strict=True):
                path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        csca_key, ds_key = (_ec_key(path) for path in keys)
        return cls(x509.load_pem_x509_certificate(certs[0].read_bytes()), csca_key,
                   x509.load_pem_x509_certificate(certs[1].read_bytes()), ds_key)

    def csca_pem(self) -> bytes:
        return self.csca.public_bytes(serialization.Encoding.PEM)

    def sign_sod(self, files: Mapping[int, bytes], signing_time: dt.datetime | None = None) -> bytes:
        """The DER ContentInfo of EF.SOD over ``files`` (file number -> the whole EF as stored on the chip)."""
        lds = LdsSecurityObject({
            "version": 0, "hash_algorithm": {"algorithm": "sha256"},
            "data_group_hash_values": [{"data_group_number": n, "data_group_hash_value": hashlib.sha256(body).digest()}
                                       for n, body in sorted(files.items())]}).dump()
        signed_attrs = cms.CMSAttributes([
            {"type": "content_type", "values": [LDS_SECURITY_OBJECT_OID]},
            {"type": "signing_time", "values": [cms.Time({"utc_time": signing_time or dt.datetime.now(dt.UTC)})]},
            {"type": "message_digest", "values": [hashlib.sha256(lds).digest()]},
        ])
        signature = self.ds_key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
        ds_cert = asn1_x509.Certificate.load(self.ds.public_bytes(serialization.Encoding.DER))
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber({
                "issuer": ds_cert.issuer, "serial_number": ds_cert.serial_number})}),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        })
        signed = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": LDS_SECURITY_OBJECT_OID, "content": lds},
            "certificates": [ds_cert],
            "signer_infos": [signer],
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def for_state_dir(state_dir: str | Path) -> ChipPki:
    """The simulated central's hierarchy, shared by everything that runs on one simulator state directory."""
    return ChipPki.load_or_create(Path(state_dir) / "chip-pki")


def csca_file(state_dir: str | Path) -> Path:
    """Where ``for_state_dir`` keeps the CSCA certificate: what a simulated kiosk's reader trusts."""
    return Path(state_dir) / "chip-pki" / "csca.pem"
