"""Schemathesis against docs/status-api.yaml: generated requests, every response checked against the document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from kiosk.services import Kiosk
from kiosk.staff.tokens import Tokens
from ui.api import create_status_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "status-api.yaml"


@pytest.fixture
def token(kiosk: Kiosk) -> str:
    return Tokens(kiosk.store).create("schemathesis", scope="operate")  # the commands too


def test_status_api_conforms_to_its_openapi_document(kiosk: Kiosk, token: str) -> None:
    """Every operation: generated (also invalid) parameters, with and without the token; each
    response must match the document (status code, content type, body schema, 401 without
    auth, 405 for other methods, never a 5xx)."""
    for i in range(30):  # enough events for paging to matter
        kiosk.store.audit("device", "status", name="card_printer", state="online" if i % 2 else "userError")
    schema = schemathesis.openapi.from_path(DOC)
    schema.app = create_status_app(kiosk)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/api/v1/status", "/api/v1/events", "/metrics", "/api/v1/mode",
                                              "/api/v1/diagnostics", "/api/v1/lockouts/kiosk",
                                              "/api/v1/settings/blanks-low"}
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

        check()
