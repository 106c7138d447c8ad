"""A small local HTTP server that speaks Nominatim's /search and /reverse JSON.

Tests point geopy at it; it can be told to answer normally, with 429 or 503,
to hang past the client's timeout, or to find nothing. It records every request
with its time, so tests can prove cache hits and the rate limit.
"""

from __future__ import annotations

import contextlib
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.support import ThreadedServer


class FakeNominatim(ThreadedServer):
    def __init__(self, places: dict[str, tuple[float, float]] | None = None):
        self.places = {k.casefold(): v for k, v in (places or {}).items()}
        self.mode = "ok"  # ok | 429 | 503 | hang | empty
        self.hang_seconds = 3.0
        self.requests: list[tuple[float, str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                fake.requests.append((time.monotonic(), parts.path, query))
                if fake.mode == "429":
                    return self._send(429, {"error": "Too many requests"})
                if fake.mode == "503":
                    return self._send(503, {"error": "Service unavailable"})
                if fake.mode == "hang":
                    time.sleep(fake.hang_seconds)
                if parts.path.rstrip("/") == "/search":
                    return self._send(200, fake._search(query.get("q", "")))
                if parts.path.rstrip("/") == "/reverse":
                    return self._send(200, fake._reverse(query))
                return self._send(404, {"error": "not found"})

            def _send(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        super().__init__(server)
        self.domain = f"127.0.0.1:{self.port}"

    def _search(self, q: str):
        if self.mode == "empty":
            return []
        hit = self.places.get(" ".join(q.casefold().split()))
        if hit is None:
            return []
        lat, lon = hit
        return [{"place_id": 1, "lat": str(lat), "lon": str(lon), "display_name": q.title(),
                 "boundingbox": [str(lat - 0.001), str(lat + 0.001), str(lon - 0.001),
                                 str(lon + 0.001)], "class": "place", "type": "house",
                 "importance": 0.5}]

    def _reverse(self, query: dict):
        if self.mode == "empty":
            return {"error": "Unable to geocode"}
        lat, lon = float(query["lat"]), float(query["lon"])
        return {"place_id": 2, "lat": str(lat), "lon": str(lon),
                "display_name": f"Near {lat:.4f}, {lon:.4f}", "address": {"road": "Test Road"}}

    def search_count(self) -> int:
        return sum(1 for _, path, _ in self.requests if path.rstrip("/") == "/search")
