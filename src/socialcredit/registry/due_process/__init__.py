"""Due process: disputes, listings with notice and grace, repair, overrides, severity, retention, public lists,
notifications, the notice before mandatory enrollment, the daily job."""
