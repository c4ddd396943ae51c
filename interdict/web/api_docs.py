"""OpenAPI declarations of the API's non-JSON answers (CSV, zip, PNG, archived pages), so the document says
what each route really sends."""
from __future__ import annotations

from interdict.web.errors import ErrorBody

_TEXT = {"schema": {"type": "string"}}
_BINARY = {"schema": {"type": "string", "format": "binary"}}

JSON_OR_CSV = {200: {"description": "JSON, or with format=csv a CSV file (UTF-8, header row first)",
                     "content": {"application/json": {}, "text/csv": _TEXT}}}
ZIP = {200: {"description": "A zip archive: the files and a manifest of their SHA-256 hashes",
             "content": {"application/zip": _BINARY}}}
SNAPSHOT = {200: {"description": "The archived page: an inert HTML copy, or with raw=1 the archived bytes as text",
                  "content": {"text/html": _TEXT, "text/plain": _TEXT}}}
PNG = {200: {"description": "The archived screenshot", "content": {"image/png": _BINARY}},
       415: {"model": ErrorBody, "description": "The archived screenshot is not a PNG"}}
