"""A TTE validator process that misbehaves, for the kiosk's tests: ``python -m hardware_sim.faulty_tte_worker <fault>``.

It speaks the protocol of ``drivers/worker_process.py`` (announces readiness, reads each request)
and then: ``verdict`` answers a reason the kiosk does not know, ``fields`` a success with the wrong
types, ``bytes`` something that is not a message at all, ``exit`` dies without an answer. A hang is
not simulated here: the tests stop the real validator with SIGSTOP.
"""

from __future__ import annotations

import os
import sys

from drivers.worker_process import read_message, write_message


def main() -> None:
    fault = sys.argv[1]
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    write_message(stdout, {"ready": True})
    while read_message(stdin) is not None:
        if fault == "verdict":
            write_message(stdout, {"why": "looks-fine-to-me"})
        elif fault == "fields":
            write_message(stdout, {"signer": 42, "office": None, "signed_at": "yesterday"})
        elif fault == "bytes":
            stdout.write(b"\xff\xff\xff\xffTraceback (most recent call last):\n")
            stdout.flush()
        else:
            os._exit(3)


if __name__ == "__main__":
    main()
