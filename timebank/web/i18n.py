"""Languages: which one a page is in, and the switcher visitors use.

Shipped: English (the source), Welsh and Spanish. The language of a page is,
in order: the one the logged-in member saved on their profile; the one a
visitor chose with the switcher (kept in the session); the bank's default
language, if it set one; the best match for the browser's Accept-Language;
English. Catalogues live in
timebank/translations/<lang>/LC_MESSAGES/messages.po (`make translations`).
"""

from __future__ import annotations

import functools

from babel import support
from flask import Flask, g, has_app_context, has_request_context, request, session
from flask_babel import Babel, Domain, force_locale, get_locale
from flask_login import current_user
from sqlalchemy.exc import DBAPIError
from wtforms.i18n import messages_path

from timebank.core import language
from timebank.core.language import DEFAULT, LANGUAGES
from timebank.web.tenancy import current_bank


class _RememberingDomain(Domain):
    """Flask-Babel's message domain, with the catalogue for the locale in force
    remembered beside that locale: a page looks up hundreds of strings, in templates
    and in Python, and Flask-Babel finds the catalogue afresh for each one (a fifth of
    a list page's time). A new locale (force_locale for an e-mail in its reader's
    language, refresh) is a different object, so its catalogue is looked up anew."""

    def get_translations(self):

        state = g.get("_flask_babel") if has_app_context() else None
        locale = getattr(state, "babel_locale", None)
        memo = getattr(state, "timebank_catalogue", None)
        if locale is not None and memo is not None and memo[0] is locale:
            return memo[1]
        found = super().get_translations()
        # Looked up again: finding the locale may have just made Flask-Babel's state.
        state = g.get("_flask_babel") if has_app_context() else None
        if state is not None:
            state.timebank_catalogue = (getattr(state, "babel_locale", None), found)
        return found


babel = Babel()
babel.domain_instance = _RememberingDomain()  # gettext in Python and templates alike


@functools.cache
def _wtforms_catalogue(locale: str):

    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WtformsMessages:
    """WTForms' own messages ("Not a valid choice") in the page's language. Flask-WTF
    reads the catalogue from disk on every request that validates a form (a millisecond
    of a filter page); the catalogue depends only on the locale, so it is loaded once per
    locale and process. Flask-WTF uses whatever ``request.wtforms_translations`` holds."""

    @staticmethod
    def _catalogue():

        return _wtforms_catalogue(str(get_locale() or DEFAULT))

    def ugettext(self, text):
        return self._catalogue().ugettext(text)

    def ungettext(self, singular, plural, n):
        return self._catalogue().ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WtformsMessages()


def select_locale() -> str:
    if not has_request_context():
        return _bank_default()  # commands, e-mails built outside a request
    try:
        if current_user and current_user.is_authenticated:
            saved = getattr(current_user, "language", None)
            if saved in LANGUAGES:
                return saved
    except DBAPIError:  # the database is away: the page saying so is still in their words
        pass
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    try:
        own = bank_language()
    except DBAPIError:
        own = None
    return own or request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT


def bank_language() -> str | None:
    """The current bank's own default language, if it set one."""
    return language.bank_language(current_bank())


def date_locale() -> str:
    """The locale the page's dates are written in (``core.language.date_locale``)."""
    return language.date_locale(current_bank() if has_app_context() else None)


def format_day(value, width: str = "long") -> str:
    """A date as the page's reader writes it, in the current bank's way."""
    return language.format_day(value, current_bank() if has_app_context() else None, width)


def on_paper_for(member, bank_id: int | None):
    """The language a printed sheet is in: a member's own reads like the page they print it
    from; one printed for them (a coordinator's, a helper's) is in their language."""

    own = current_user.is_authenticated and member.id == current_user.id
    return force_locale(str(get_locale()) if own else language.language_of(member, bank_id))


def _bank_default() -> str:
    return bank_language() or DEFAULT


def _translations():
    return babel.domain_instance.get_translations()


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    # {% trans %} blocks collapse their white space, in the catalogue and on the page.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True)

    @app.before_request
    def _wtforms_messages():
        request.wtforms_translations = _WTFORMS_MESSAGES

    @app.context_processor
    def _languages():

        return {"languages": LANGUAGES, "page_lang": str(get_locale() or DEFAULT)}
