"""Value types shared by the core, the drivers' callers and the simulators."""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field

from drivers.base import N_, AdmError

# Province codes (Kemendagri); the first two digits of every NIK and KK number.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "16", "17", "18", "19", "21", "31", "32", "33", "34", "35", "36",
    "51", "52", "53", "61", "62", "63", "64", "65", "71", "72", "73", "74", "75", "76", "81", "82",
    "91", "92", "93", "94", "95", "96", "97",
})
_DIGITS16 = re.compile(r"[0-9]{16}", re.ASCII)
_NIK_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{8}([0-9]{4})(?![0-9])", re.ASCII)


class InvalidNik(AdmError, ValueError):
    """Why a string is not a NIK; ``reason`` is a translation msgid shown to the citizen."""

    code = "invalid-nik"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Nik:
    """A 16-digit Nomor Induk Kependudukan, validated per DOMAIN.md."""

    value: str

    @classmethod
    def parse(cls, text: str) -> Nik:
        s = text.strip().replace(" ", "").replace(".", "")
        if len(s) != 16:
            raise InvalidNik(N_("A NIK has exactly 16 digits."))
        if not _DIGITS16.fullmatch(s):
            raise InvalidNik(N_("A NIK contains digits only."))
        if s[:2] not in PROVINCES:
            raise InvalidNik(N_("The region code in this NIK does not exist."))
        if s[2:4] == "00" or s[4:6] == "00":
            raise InvalidNik(N_("The region code in this NIK does not exist."))
        day, month = int(s[6:8]), int(s[8:10])
        if not (1 <= day <= 31 or 41 <= day <= 71):
            raise InvalidNik(N_("The birth date in this NIK is not valid."))
        if not 1 <= month <= 12:
            raise InvalidNik(N_("The birth date in this NIK is not valid."))
        if s[12:] == "0000":
            raise InvalidNik(N_("The serial number in this NIK is not valid."))
        return cls(s)

    @property
    def female(self) -> bool:
        return int(self.value[6:8]) > 40

    @property
    def masked(self) -> str:
        return mask_nik(self.value)

    def digest(self, key: bytes) -> str:
        """A keyed hash: lets the journal count attempts per NIK without holding the NIK."""
        import hmac
        return hmac.new(key, self.value.encode(), hashlib.sha256).hexdigest()[:32]

    def __str__(self) -> str:  # a NIK printed by accident is masked
        return self.masked

    def __repr__(self) -> str:
        return f"Nik({self.masked!r})"


def mask_nik(nik: str) -> str:
    return nik[:4] + "*" * 8 + nik[12:] if len(nik) == 16 else "*" * len(nik)


def mask_niks_in(text: str) -> str:
    """Masks every 16-digit run in free text (log lines, error details)."""
    return _NIK_IN_TEXT.sub(lambda m: m.group(1) + "********" + m.group(2), text)


class Medium(enum.StrEnum):
    CARD = "card"
    A4 = "a4"


class DocumentKind(enum.StrEnum):
    KTP_EL = "ktp-el"
    KIA = "kia"
    KK = "kk"
    AKTA_KELAHIRAN = "akta-kelahiran"
    AKTA_KEMATIAN = "akta-kematian"
    SURAT_PINDAH = "surat-pindah"
    SURAT_KETERANGAN = "surat-keterangan"  # central's A4 stand-in for a KTP-el that cannot be printed yet

    @property
    def medium(self) -> Medium:
        return Medium.CARD if self in (DocumentKind.KTP_EL, DocumentKind.KIA) else Medium.A4

    @property
    def title(self) -> str:
        """The plain-words name (a translation msgid)."""
        return _TITLES[self]


_TITLES = {
    DocumentKind.KTP_EL: N_("KTP Elektronik"),
    DocumentKind.KIA: N_("Kartu Identitas Anak"),
    DocumentKind.KK: N_("Kartu Keluarga"),
    DocumentKind.AKTA_KELAHIRAN: N_("Akta Kelahiran"),
    DocumentKind.AKTA_KEMATIAN: N_("Akta Kematian"),
    DocumentKind.SURAT_PINDAH: N_("Surat Pindah"),
    DocumentKind.SURAT_KETERANGAN: N_("Surat Keterangan (pengganti KTP-el)"),
}


@dataclass(frozen=True)
class Identity:
    """What the KTP-el face shows; read from the e-KTP chip or sent by central for a card."""

    nik: str
    name: str
    birth_place: str = ""
    birth_date: str = ""  # DD-MM-YYYY as printed
    sex: str = ""  # LAKI-LAKI / PEREMPUAN
    blood_type: str = "-"
    address: str = ""
    rt_rw: str = ""
    village: str = ""  # kelurahan/desa
    district: str = ""  # kecamatan
    regency: str = ""  # kabupaten/kota
    province: str = ""
    religion: str = ""
    marital_status: str = ""
    occupation: str = ""
    nationality: str = "WNI"
    valid_until: str = "SEUMUR HIDUP"
    issue_place: str = ""
    issue_date: str = ""

    def __repr__(self) -> str:
        return f"Identity(nik={mask_nik(self.nik)!r})"


@dataclass
class Document:
    """A document ready to print. Personal data: held in memory only, dropped at session end."""

    id: str
    kind: DocumentKind
    number: str  # document number (KK number, akta number, or the NIK for a KTP-el)
    pages: int = 1
    pdf: bytes | None = None  # A4: the central's signed PDF, printed unchanged
    sha256: str = ""  # A4: checksum central gave; verified before printing
    identity: Identity | None = None  # cards: data to render
    photo: bytes | None = None  # cards: JPEG
    signature: bytes | None = None  # cards: PNG
    chip: dict[int, bytes] | None = None  # KTP-el: central's chip image, EF number -> bytes (EF.SOD signed)

    @property
    def medium(self) -> Medium:
        return self.kind.medium

    def __repr__(self) -> str:
        return f"Document(id={self.id!r}, kind={self.kind.value})"


class JobState(enum.StrEnum):
    PLANNED = "planned"
    SUBMITTED = "submitted"
    PRINTED = "printed"
    FAILED = "failed"


class BlankState(enum.StrEnum):
    STOCK = "stock"
    CONSUMED = "consumed"  # picked for a job in flight
    PRINTED = "printed"
    SPOILED = "spoiled"


@dataclass
class Progress:
    """Per-document progress the UI shows while a session prints."""

    document_id: str
    kind: DocumentKind
    state: str = "queued"  # queued | printing | done | failed
    message: str = ""  # translation msgid when failed


@dataclass
class PrintOutcome:
    reference: str
    printed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
