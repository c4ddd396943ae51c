"""Streamed file downloads: every export (CSV, JSON, zip, STIX, MISP) leaves through `attachment`."""
from __future__ import annotations

from typing import IO, Iterable

from fastapi.responses import StreamingResponse


def attachment(chunks: Iterable, media_type: str, filename: str) -> StreamingResponse:
    """A download named `filename`, sent as the chunks come (nothing held in memory)."""
    return StreamingResponse(chunks, media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def zip_attachment(fh: IO[bytes], filename: str) -> StreamingResponse:
    """A zip built in a temporary file, read out in 64 KiB chunks and closed (deleted) when sent."""
    def chunks():
        try:
            while chunk := fh.read(1 << 16):
                yield chunk
        finally:
            fh.close()
    return attachment(chunks(), "application/zip", filename)
