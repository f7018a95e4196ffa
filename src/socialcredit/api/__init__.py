"""The HTTP service (FastAPI): ``create_app``, one router per area (``routes/``), dependencies, response models."""
