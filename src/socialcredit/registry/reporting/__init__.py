"""Reporting: a subject's report, the resident's whole file (JSON and a printable page), the dashboard's figures."""
