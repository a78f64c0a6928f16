"""The touchscreen, driven through the Flask test client: GET a page, POST its form with the page's CSRF token."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient


class Screen:
    def __init__(self, client: FlaskClient) -> None:
        self.c = client
        self.token = ""

    def get(self, path: str) -> Any:
        r = self.c.get(path)
        m = re.search(r'name="csrf-token" content="([^"]+)"', r.text)
        if m:
            self.token = m.group(1)
        return r

    def post(self, path: str, **data: Any) -> Any:
        return self.c.post(path, data={**data, "csrf_token": self.token})

    def post_json(self, path: str) -> Any:
        return self.c.post(path, headers={"X-CSRFToken": self.token, "Accept": "application/json"})
