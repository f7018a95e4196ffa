"""Domain services shared by every face (CLI, HTTP API, web): ingest, score runs, decisions, reports."""
