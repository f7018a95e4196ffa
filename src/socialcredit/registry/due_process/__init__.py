"""Due process: disputes, listings with notice and grace, repair, overrides, severity, retention, public lists,
the resident's file, notifications."""
