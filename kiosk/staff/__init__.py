"""Staff: maintenance for technicians, accounts and tokens, the status snapshot, telemetry, diagnostics."""
