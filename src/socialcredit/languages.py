"""The two languages the registry speaks, English and Chinese, as the faces name them: by code (``en``, ``zh``: the
``lang`` of the API, the pages and the command line) and by the tag an answer or a page says its language with
(``Content-Language``, ``<html lang>``). Not in a layer: the faces and the matchmaking site may all import it."""

from __future__ import annotations

__all__ = ["LANGUAGE_TAGS"]

# The language of a text as an answer says it (Content-Language) and a page declares it (<html lang>).
LANGUAGE_TAGS = {"en": "en", "zh": "zh-CN"}
