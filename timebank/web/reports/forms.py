"""The report filters: a plain GET form, so every view of a report is a bookmarkable URL."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import Optional

from timebank.core.reports import figures
from timebank.web.forms import PeriodForm, category_choices, choices


class ReportForm(PeriodForm):
    """Months of service (whole months), kind of help and, for council viewers, bank."""

    category = SelectField(_l("Kind of help"), coerce=int, validators=[Optional()])
    bank = SelectField(_l("Time bank"), coerce=int, validators=[Optional()])
    neighbourhood = SelectField(_l("Neighbourhood"), coerce=int, validators=[Optional()])

    def offer(self, banks=None) -> ReportForm:
        self.category.choices = category_choices(_l("All kinds of help"))
        self.neighbourhood.choices = choices([(0, _l("All neighbourhoods")),
                                              *figures.areas()])
        self.bank.choices = choices([(0, _l("All banks in the area")),
                                     *[(b.id, b.name) for b in banks or []]])
        return self

    def query(self) -> dict[str, str]:
        """The filters as sent, for the download links (nothing else from the URL)."""
        return {name: str(self[name].raw_data[0]) for name in ("start", "end", "category",
                                                             "bank", "neighbourhood")
                if self[name].raw_data and self[name].raw_data[0] not in ("", None)}
