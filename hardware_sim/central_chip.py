"""What the simulated central sends for a KTP-el's chip: every EF as the card stores it, EF.SOD signed.

The kiosk writes these bytes to the blank unchanged (kiosk/printing/personalise.py), so the
digests central signed are the digests any reader checks. docs/central-api.yaml, CardData.chip.
"""

from __future__ import annotations

import base64

from hardware_sim.chip_pki import ChipPki
from hardware_sim.ektp_card import chip_image, demo_fingerprints
from kiosk.model import Identity


def card_chip_data(identity: Identity, photo: bytes, signature: bytes, pki: ChipPki) -> dict[str, str]:
    """``{"01": base64, ..., "1D": base64}``: the chip image, EF numbers as two hex digits."""
    files = chip_image(identity, photo, signature, demo_fingerprints(identity.nik), pki)
    return {f"{sfi:02X}": base64.b64encode(body).decode() for sfi, body in sorted(files.items())}
