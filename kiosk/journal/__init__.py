"""The SQLite journal and the owners of what it records (blanks, supplies, attempts, jobs, outbox)."""
