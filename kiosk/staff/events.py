"""The audit trail as the remote-status API pages it (``GET /api/v1/events``).

Audit details hold no personal data by construction; they are NIK-masked again here, as
everything that leaves the kiosk is. The cursor is the event ID, so a poller that was
away for a day resumes where it stopped (as far as retention kept the rows).
"""

from __future__ import annotations

import json
from typing import Any

from kiosk.journal.store import Store
from kiosk.model import mask_niks_in


class Events:
    def __init__(self, store: Store) -> None:
        self.store = store

    def page(self, since: int, limit: int, category: str = "") -> dict[str, Any]:
        """Audit rows after event ``since`` (an event ID cursor, 0 = the oldest kept), oldest first."""
        sql = "SELECT id, ts, category, event, actor, detail FROM audit WHERE id>?"
        args: list[Any] = [since]
        if category:
            sql += " AND category=?"
            args.append(category)
        rows = self.store.query(sql + " ORDER BY id LIMIT ?", (*args, limit + 1))
        events = []
        for ev_id, ts, cat, event, actor, detail in rows[:limit]:
            try:
                data = json.loads(mask_niks_in(detail))
            except ValueError:
                data = {}
            events.append({"id": ev_id, "ts": round(ts, 3), "category": cat, "event": event, "actor": actor,
                           "detail": data if isinstance(data, dict) else {}})
        return {"events": events, "next_since": events[-1]["id"] if events else since, "more": len(rows) > limit}
