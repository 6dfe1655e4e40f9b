"""The report of a probe cycle: the table and JSON that `check` prints and /api/status serves."""
