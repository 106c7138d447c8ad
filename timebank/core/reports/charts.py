"""Bar charts drawn on the server as SVG: readable without JavaScript, printable, and
scaled to the page's width. Each stands beside its table, which is its text alternative;
a figure hidden as "fewer than 5" draws no bar. Every piece of text goes in through
``Markup.format``, which escapes it."""

from __future__ import annotations

from markupsafe import Markup

from timebank.core.words import figure

WIDTH = 400  # viewBox units; the chart scales to its container
ROW = 38  # a label line and a bar under it
BAR = 14
LABEL = Markup('<text class="chart-label" x="0" y="{}">{}</text>')
BAR_RECT = Markup('<rect class="chart-bar" x="0" y="{}" width="{}" height="{}"></rect>')
VALUE = Markup('<text class="chart-value" x="{}" y="{}">{}</text>')
HIDDEN = Markup('<text class="chart-value chart-hidden" x="0" y="{}">{}</text>')
SVG = Markup('<svg class="chart" id="{id}" role="img" aria-labelledby="{id}-title" '
             'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
             'xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title>'
             '{body}</svg>')


def bars(table, chart_id: str) -> Markup:
    """One horizontal bar per row of ``table``: the row's label above its bar, the
    figure at the bar's end."""
    if table.chart is None or not table.rows:
        return Markup("")
    values = [row[table.chart] for row in table.rows]
    top = max((v for v in values if isinstance(v, int | float)), default=0) or 1
    room = WIDTH - 90  # keep space for the figure after the longest bar
    parts = []
    for i, (row, value) in enumerate(zip(table.rows, values, strict=True)):
        y = i * ROW
        parts.append(LABEL.format(y + 13, row[0]))
        if isinstance(value, int | float):
            width = round(room * value / top, 1) if value > 0 else 0
            parts.append(BAR_RECT.format(y + 18, width, BAR))
            parts.append(VALUE.format(width + 6, y + 30, figure(value)))
        else:
            parts.append(HIDDEN.format(y + 30, value))
    title = f"{table.title} ({table.unit})" if table.unit else table.title
    return SVG.format(id=chart_id, width=WIDTH, height=len(table.rows) * ROW, title=title,
                      body=Markup("").join(parts))
