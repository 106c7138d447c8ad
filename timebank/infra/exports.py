"""Downloads: CSV written safely for spreadsheets and streamed in chunks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from flask import Response, stream_with_context

CHUNK = 16384


def csv_safe(value):
    """Stop spreadsheet programs from running member text as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    """The header and rows as CSV text, every cell quoted and formula-safe, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
        if buffer.tell() > CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(chunks: Iterable[str], filename: str) -> Response:
    """Stream ``chunks`` as a CSV download (the request context stays open while it runs)."""
    return Response(stream_with_context(iter(chunks)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
