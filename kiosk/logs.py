"""Logging that cannot leak a NIK: every record passes a filter that masks 16-digit runs."""

from __future__ import annotations

import logging

from kiosk.model import mask_niks_in


class MaskNiks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask_niks_in(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


def setup_logging(level: int = logging.INFO) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskNiks())
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("werkzeug", "httpx", "escpos"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
