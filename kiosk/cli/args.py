"""Turns the command line's common options into a validated ``Config``."""

from __future__ import annotations

import argparse

from kiosk.config import Config, load


def config_from_args(args: argparse.Namespace, sim: str | None = None) -> Config:
    overrides: dict[str, object] = {}
    mode = sim if sim is not None else getattr(args, "sim", None)
    if mode:
        overrides["sim.mode"] = mode
    if getattr(args, "host", None):
        overrides["ui.host"] = args.host
    if getattr(args, "port", None):
        overrides["ui.port"] = args.port
    return load(args.config, overrides=overrides)
