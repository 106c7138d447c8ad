"""The base of every domain refusal: the web layer shows it beside a form field or as
an error page (``timebank.web.errors``), the commands print it."""

from __future__ import annotations


class Refused(ValueError):
    """A domain rule said no. ``message`` is for the person; ``field`` names the form field
    it belongs beside (None: the top of the form); ``status`` is the HTTP status a page
    answers with when there is no form to show it on."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
