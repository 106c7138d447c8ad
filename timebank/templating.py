"""Template globals and filters."""

from __future__ import annotations

from flask import Flask

from .models.ledger import format_minutes


def register(app: Flask) -> None:
    app.jinja_env.filters["hours"] = format_minutes

    @app.context_processor
    def _unread():
        from flask_login import current_user

        from .notify import unread_count

        if current_user.is_authenticated:
            return {"unread_count": unread_count(current_user.id)}
        return {"unread_count": 0}

    @app.context_processor
    def _dates():
        from datetime import date

        return {"today_iso": lambda: date.today().isoformat()}
