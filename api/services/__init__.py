"""Use cases per domain. They take the session, `flush()`, never commit, and raise `AppError`."""
