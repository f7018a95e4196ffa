"""Records: ingest of subjects and records from sources, record versions (corrections, withdrawals), consent."""
