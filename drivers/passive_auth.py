"""Passive authentication of an e-KTP (docs/ektp-card-protocol.md section 6), ICAO 9303 style.

EF.SOD holds a CMS SignedData: its content lists the SHA-256 of each file, and it is signed
by a document-signer (DS) certificate that must chain to a country signing CA (CSCA) the
reader trusts (``devices.card_reader.csca_file``). A file whose bytes do not hash to the
signed digest, a signature that does not verify, a DS from another CSCA, and a DS or CSCA
outside its validity at read time are all refused, each with its own code. asn1crypto parses
the CMS, cryptography verifies the signatures; nothing here parses DER by hand.

What can go wrong: a malformed SOD (``sod-malformed``), an unsupported algorithm (the same),
and a trust-anchor file that cannot be read (``TrustAnchors.from_pem_file`` raises
``DeviceError('csca-missing')``, reported by the reader's status, never at read time only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import algos, cms, core
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from drivers.base import N_, Action, DeviceError

LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"
NOT_GENUINE = N_("This card could not be verified as a genuine KTP-el. Please type your NIK, or ask the staff.")


class DataGroupHash(core.Sequence):
    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LdsSecurityObject(core.Sequence):
    _fields = [("version", core.Integer), ("hash_algorithm", algos.DigestAlgorithm),
               ("data_group_hash_values", DataGroupHashValues)]


class PassiveAuthFailed(DeviceError):
    """The card's security object or a file failed passive authentication: not a genuine, unaltered card.

    Codes: ``sod-malformed``, ``sod-signature-bad``, ``ds-untrusted`` (no configured CSCA issued the
    DS), ``ds-expired`` (DS or CSCA outside its validity now), ``digest-mismatch``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail, Action.NONE, NOT_GENUINE)


@dataclass(frozen=True)
class TrustAnchors:
    """The CSCA certificates a reader trusts."""

    cscas: tuple[x509.Certificate, ...]

    @classmethod
    def from_pem(cls, pem: bytes) -> TrustAnchors:
        return cls(tuple(x509.load_pem_x509_certificates(pem)))

    @classmethod
    def from_pem_file(cls, path: str | Path) -> TrustAnchors:
        try:
            return cls.from_pem(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise DeviceError("csca-missing", f"cannot load the CSCA trust anchors from {path}: {exc}",
                              Action.MAINTENANCE, N_("The card reader is not working. Please type your NIK instead.")
                              ) from exc


@dataclass(frozen=True)
class VerifiedSod:
    digests: dict[int, bytes]
    signer: str  # the DS certificate's subject, for logs and the technicians' self-test
    signed_at: dt.datetime | None


def verify_sod(sod: bytes, anchors: TrustAnchors, now: dt.datetime | None = None) -> VerifiedSod:
    """The signed digests of a DER ContentInfo, after checking its signature, its DS chain and validity.

    Whatever the bytes, the answer is a ``VerifiedSod`` or ``PassiveAuthFailed`` (a hostile card's
    certificate can break cryptography's parsers in ways only a ``ValueError`` or an ``InvalidVersion`` reports)."""
    try:
        return _verify_sod(sod, anchors, now or dt.datetime.now(dt.UTC))
    except PassiveAuthFailed:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, UnsupportedAlgorithm,
            x509.InvalidVersion) as exc:
        raise PassiveAuthFailed("sod-malformed", f"security object: {type(exc).__name__}: {exc}"[:200]) from exc


def _verify_sod(sod: bytes, anchors: TrustAnchors, now: dt.datetime) -> VerifiedSod:
    try:
        info = cms.ContentInfo.load(sod, strict=True)
        if info["content_type"].native != "signed_data":
            raise ValueError("not a SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != LDS_SECURITY_OBJECT_OID:
            raise ValueError("not a security object")
        content = encap["content"].contents
        signers = list(signed["signer_infos"])
        if len(signers) != 1:
            raise ValueError(f"{len(signers)} signers")
        signer = signers[0]
        attrs = {a["type"].native: a["values"] for a in signer["signed_attrs"]}
        message_digest = attrs["message_digest"][0].native
        if attrs["content_type"][0].dotted != LDS_SECURITY_OBJECT_OID:
            raise ValueError("signed content type differs")
        signing_time = attrs["signing_time"][0].native if "signing_time" in attrs else None
        signed_bytes = signer["signed_attrs"].untag().dump()
        ds = _signer_cert(signed, signer["sid"])
        lds = LdsSecurityObject.load(content, strict=True)
        if lds["hash_algorithm"]["algorithm"].native != "sha256":
            raise ValueError("digest algorithm is not SHA-256")
        digests = {int(h["data_group_number"].native): bytes(h["data_group_hash_value"].native)
                   for h in lds["data_group_hash_values"]}
        algorithm = signer["signature_algorithm"].signature_algo
        signature = signer["signature"].native
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise PassiveAuthFailed("sod-malformed", f"security object: {exc}") from exc
    if not hmac.compare_digest(hashlib.sha256(content).digest(), message_digest):
        raise PassiveAuthFailed("sod-signature-bad", "the signed digest does not match the security object")
    _verify(ds.public_key(), signature, signed_bytes, algorithm, "sod-signature-bad", "the DS signature")
    csca = _issuer(ds, anchors)
    for cert, what in ((ds, "document signer"), (csca, "country signing CA")):
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            valid = f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}"
            raise PassiveAuthFailed("ds-expired", f"the {what} certificate is not valid now ({valid})")
    try:
        usage = ds.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise PassiveAuthFailed("ds-untrusted", "the document signer may not sign")
    except x509.ExtensionNotFound:
        pass
    return VerifiedSod(digests, ds.subject.rfc4514_string(), signing_time)


def check_files(verified: VerifiedSod, files: Mapping[int, bytes]) -> None:
    """Each file read matches its signed digest; a file the SOD does not list is refused too."""
    for number, body in files.items():
        expected = verified.digests.get(number)
        if expected is None or not hmac.compare_digest(hashlib.sha256(body).digest(), expected):
            raise PassiveAuthFailed("digest-mismatch", f"EF {number:#04x} does not match its signed digest")


def _signer_cert(signed: cms.SignedData, sid: cms.SignerIdentifier) -> x509.Certificate:
    if sid.name != "issuer_and_serial_number":
        raise ValueError("signer not identified by issuer and serial number")
    want = sid.chosen
    for choice in signed["certificates"]:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if cert.issuer == want["issuer"] and cert.serial_number == want["serial_number"].native:
            return x509.load_der_x509_certificate(cert.dump())
    raise ValueError("the signer's certificate is not in the security object")


def _issuer(ds: x509.Certificate, anchors: TrustAnchors) -> x509.Certificate:
    for csca in anchors.cscas:
        if csca.subject != ds.issuer:
            continue
        try:
            ds.verify_directly_issued_by(csca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return csca
    raise PassiveAuthFailed("ds-untrusted", f"no trusted CSCA issued the document signer ({ds.issuer.rfc4514_string()})")


def _verify(key: object, signature: bytes, data: bytes, algorithm: str, code: str, what: str) -> None:
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm == "ecdsa":
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm == "rsassa_pkcs1v15":
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise PassiveAuthFailed("sod-malformed", f"{what}: unsupported algorithm {algorithm}")
    except InvalidSignature as exc:
        raise PassiveAuthFailed(code, f"{what} does not verify") from exc
