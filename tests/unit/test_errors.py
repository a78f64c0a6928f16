"""One error base: every error class the project defines is an ``AdmError`` with a stable kebab-case code.

The UI picks its screen, the audit rows and the status API name reasons by ``code``: a class
name used as a code changes with a refactor, and a second base lets an error escape the
handlers that know what to tell a citizen.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import drivers
import kiosk
import printer_profiles
from drivers.base import KEBAB, AdmError


def project_errors() -> list[type[BaseException]]:
    found = []
    for package in (kiosk, drivers, printer_profiles):
        names = [package.__name__] + [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
        for name in names:
            if name.endswith(".__main__"):  # runs the command line when imported
                continue
            module = importlib.import_module(name)
            found += [c for _, c in inspect.getmembers(module, inspect.isclass)
                      if issubclass(c, BaseException) and c.__module__ == name]
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


ERRORS = project_errors()


def test_the_project_defines_errors() -> None:
    assert len(ERRORS) > 20


@pytest.mark.parametrize("error", ERRORS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_error_has_the_one_base_and_a_kebab_case_code(error: type[BaseException]) -> None:
    assert issubclass(error, AdmError)
    assert KEBAB.fullmatch(error.code), error.code
    assert error.citizen_message  # a msgid for the citizen, from the catalogue


def test_an_instance_may_narrow_its_code() -> None:
    from drivers.base import DeviceError
    from kiosk.citizen.session import SessionError

    assert DeviceError("media-jam", "card jammed").code == "media-jam"
    assert SessionError("wrong-step", "Please start again.").citizen_message == "Please start again."
