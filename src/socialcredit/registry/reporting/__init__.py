"""Reporting: a subject's report, the operator dashboard's figures."""
