"""Loading pyHanko (PAdES signing and validation) so that it works whatever used asn1crypto first."""

from __future__ import annotations


def load_pyhanko() -> None:
    """Imports the pyHanko that kiosk/printing/signatures.py validates with and hardware_sim signs with (once).

    Importing pyHanko registers its CMS attribute and extension names (``signing_certificate_v2``...) in
    asn1crypto's OID maps, but asn1crypto caches each map's name-to-OID reverse the first time the type is
    used: after a chip's security object was parsed (drivers/passive_auth.py), pyHanko's names would stay
    unknown and signing or validating would fail. So the cached reverses are rebuilt from the maps."""
    import pyhanko.sign.diff_analysis  # noqa: F401
    import pyhanko.sign.validation.dss  # noqa: F401
    import pyhanko_certvalidator  # noqa: F401
    from asn1crypto import core

    todo = [core.ObjectIdentifier]
    while todo:
        oid_type = todo.pop()
        todo.extend(oid_type.__subclasses__())
        if oid_type._map is not None and oid_type._reverse_map is not None:  # noqa: SLF001 - asn1crypto's own cache
            oid_type._reverse_map = {name: oid for oid, name in oid_type._map.items()}  # noqa: SLF001
