"""Reading a text: the command words in English, Welsh and Spanish, and amounts of time.

``read(body)`` returns a ``Command``: what was asked, in which languages its word is
(so the answer can be in the language it was asked in), and its parts. It never
raises: a text it cannot read is ``Command("unknown")``, answered with the help text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

# Each word, written without accents and in capitals, and the languages it belongs to.
# Opt-out words follow the gateways' own (STOP, UNSUBSCRIBE, CANCEL, END, QUIT...).
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "gave": {"en": ("GAVE", "GIVE", "GIVEN"), "cy": ("RHOI", "RHOES", "RHODDAIS"),
             "es": ("DI", "DIO", "DADO")},
    "got": {"en": ("GOT", "RECEIVED", "GET"), "cy": ("CES", "CAEL", "DERBYN", "DERBYNIAIS"),
            "es": ("RECIBI", "RECIBIDO")},
    "yes": {"en": ("YES", "Y", "OK"), "cy": ("IE", "OES", "DO", "CADARNHAU"),
            "es": ("SI", "VALE", "CONFIRMO")},
    "no": {"en": ("NO", "N"), "cy": ("NA", "NAC", "NACOES", "NADDO", "GWRTHOD"),
           "es": ("NO", "RECHAZO")},
    "bal": {"en": ("BAL", "BALANCE"), "cy": ("BALANS", "CYFRIF"), "es": ("SALDO",)},
    "help": {"en": ("HELP", "INFO"), "cy": ("HELP", "CYMORTH"), "es": ("AYUDA", "AYUDO")},
    "stop": {"en": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"),
             "cy": ("STOPIO", "DIWEDD"), "es": ("BAJA", "PARAR", "PARA")},
    "start": {"en": ("START", "UNSTOP"), "cy": ("DECHRAU", "AILDDECHRAU"),
              "es": ("ALTA", "INICIO", "EMPEZAR")},
    "near": {"en": ("NEAR", "NEARBY"), "cy": ("AGOS", "GERLLAW"), "es": ("CERCA",)},
}
TO = {"en": ("TO",), "cy": ("I",), "es": ("A",)}
FROM = {"en": ("FROM",), "cy": ("GAN", "ODDI"), "es": ("DE",)}
# Words that may follow an amount ("2 hours", "2 awr", "2 horas") and are not part of it.
UNITS = ("HOURS", "HOUR", "HRS", "HR", "AWR", "HORAS", "HORA")
SPACED_UNITS = ("H", "M", "MIN", "MINS", "MINUTES", "MUNUD", "MINUTOS")  # "90 m", "1 h"

_VERBS = {word: (verb, languages) for verb, by_language in WORDS.items()
          for language, words in by_language.items() for word in words
          for languages in [tuple(lang for lang, ws in by_language.items() if word in ws)]}


@dataclass
class Command:
    verb: str  # gave, got, yes, no, bal, help, stop, start, near, unknown
    languages: tuple[str, ...] = ()
    minutes: int | None = None  # gave/got: None when the amount could not be read
    amount: str = ""  # as written
    number: int | None = None  # the other member's number
    code: str = ""  # yes/no/help: the code
    what: str = ""  # gave/got: what it was for
    problems: list[str] = field(default_factory=list)


def fold(word: str) -> str:
    """A word as the tables hold it: capitals, no accents ("Sí" → "SI", "Recibí" → "RECIBI")."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper()


_DECIMAL = re.compile(r"^(\d{1,3})(?:[.,](\d{1,2}))?(?:H|HRS?|HOURS?|AWR|HORAS?)?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_H_M = re.compile(r"^(\d{1,2})H(?:RS?)?(\d{1,2})(?:M|MIN|MINS)?$")
_MINUTES = re.compile(r"^(\d{1,4})(?:M|MIN|MINS|MINUTES|MUNUD|MINUTOS)$")


def _digits(word: str) -> bool:
    """Plain ASCII digits ("²" and "٣" are digits to Python, and no member numbers)."""
    return word.isascii() and word.isdigit()


def minutes_of(amount: str) -> int | None:
    """Minutes in "1.5", "1,5", "1h30", "1h 30m", "90m", "1:30", "2 hours"; None if it is
    not an amount of time (the ledger then judges the size: more than 24 h is refused).
    Two bare numbers ("1 5") are no amount: read as 15 h they would move hours nobody
    meant."""
    words = fold(amount).split()
    if len(words) == 2 and words[1] in UNITS:
        words = [words[0]]  # "2 hours"
    if len(words) == 2 and not (words[0].endswith("H") or words[0].endswith("HRS")
                                or words[1] in SPACED_UNITS):
        return None  # "1 5", "1 30": say it as 1.5, 1h30 or 90m
    text = "".join(words)
    if not text.isascii():
        return None
    if m := _CLOCK.match(text):
        hours, mins = int(m.group(1)), int(m.group(2))
        return hours * 60 + mins if mins < 60 else None
    if m := _H_M.match(text):
        hours, mins = int(m.group(1)), int(m.group(2))
        return hours * 60 + mins if mins < 60 else None
    if m := _MINUTES.match(text):
        return int(m.group(1))
    if m := _DECIMAL.match(text):
        whole, part = int(m.group(1)), m.group(2) or ""
        hundredths = whole * 100 + (int(part.ljust(2, "0")) if part else 0)
        minutes, rest = divmod(hundredths * 60, 100)
        return minutes if rest == 0 else None  # 1.33 h is no whole number of minutes
    return None


def read(body: str) -> Command:
    """What a text asks."""
    words = (body or "").split()
    if not words:
        return Command("unknown")
    first = fold(words[0]).strip(".!?,")
    if fold(" ".join(words[:2])) == "YES START":
        return Command("start", ("en",))
    verb, languages = _VERBS.get(first, ("unknown", ()))
    rest = words[1:]
    if verb in ("gave", "got"):
        return _exchange(verb, languages, rest)
    if verb in ("yes", "no"):
        code = rest[0].strip("#.") if rest else ""
        return Command(verb, languages, code=code if _digits(code) and len(code) <= 8 else "")
    if verb == "help" and rest and _digits(rest[0].strip("#.")) and len(rest[0]) <= 8:
        return Command("help", languages, code=rest[0].strip("#."))
    return Command(verb, languages)


def _exchange(verb: str, languages: tuple[str, ...], rest: list[str]) -> Command:
    """``GAVE <amount> TO <number> [what]`` / ``GOT <amount> FROM <number> [what]`` (the
    preposition may be left out: "GAVE 2 1234 gardening")."""
    linking = {fold(w) for table in (TO if verb == "gave" else FROM).values() for w in table}
    command = Command(verb, languages)
    at = next((i for i, w in enumerate(rest) if fold(w) in linking and i > 0), None)
    if at is None:
        # No preposition: "GAVE 2 1234 gardening", the amount and then the number. With
        # more than one bare number after the amount ("GOT 1 30 1234") it is ambiguous.
        numbers = [i for i, w in enumerate(rest) if i > 0 and _digits(w.lstrip("#"))]
        if len(numbers) != 1 or numbers[0] != 1:
            command.problems.append("amount" if len(numbers) > 1 else "number")
            if len(numbers) > 1:
                command.amount = " ".join(rest[:numbers[-1]])
                return command
        amount_words = rest[:1]
        number_at = 1 if numbers == [1] else None
    else:
        amount_words, number_at = rest[:at], at + 1
    command.amount = " ".join(amount_words)
    command.minutes = minutes_of(command.amount) if amount_words else None
    if command.minutes is None and "amount" not in command.problems:
        command.problems.append("amount")
    number = rest[number_at].lstrip("#").rstrip(".,:") if number_at is not None and \
        number_at < len(rest) else ""
    if _digits(number) and len(number) <= 12:
        command.number = int(number)
        command.what = " ".join(rest[number_at + 1:])[:200]
    else:
        command.problems.append("number")
    return command
