"""A stand-in for alsa-utils' ``amixer``, for the headset driver's tests: there is no sound card here.

It answers the two calls ``drivers.audio.AlsaHeadsetJack`` makes, in amixer's own output format
(``controls`` and ``cget iface=CARD,name='...'``), from a state file a test writes: ``on``, ``off``,
``hang`` (a wedged sound driver: it never answers) or ``nojack`` (a card without jack detection).
``python -m hardware_sim.amixer --state FILE -c CARD controls|cget ID``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

CONTROLS = """numid=14,iface=CARD,name='Front Mic Jack'
numid=18,iface=CARD,name='Headphone Jack'
numid=17,iface=CARD,name='Line Out Jack'
"""
CGET = """numid=18,iface=CARD,name='Headphone Jack'
  ; type=BOOLEAN,access=r-------,values=1
  : values={value}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("-c", dest="card", default="0")
    ap.add_argument("command", choices=("controls", "cget"))
    ap.add_argument("identifier", nargs="?")
    args = ap.parse_args(argv)
    state = args.state.read_text().strip()
    if state == "hang":
        time.sleep(3600)
    if args.command == "controls":
        print(CONTROLS if state != "nojack" else "numid=14,iface=CARD,name='Front Mic Jack'")
        return 0
    if state == "nojack" or args.identifier != "iface=CARD,name='Headphone Jack'":
        print(f"amixer: Cannot find the given element from control hw:{args.card}", file=sys.stderr)
        return 1
    print(CGET.format(value=state))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
