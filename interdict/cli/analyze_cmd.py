"""`interdict analyze --input FILE|-`: the stable JSON Lines contract (issue 3, section 4).

One output line per input line, in order. A line that is not JSON, not an object, or lacks `id` or
both title/description yields {"id": null, "error": "line N: ..."} in its place; the rest proceed.
Input is read line by line and results are written per batch, so memory stays constant on any size.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import BinaryIO, Iterator, Optional

import typer

MAX_LINE_BYTES = 8 * 1024 * 1024   # a longer line is a size bomb: reported, skipped, never held whole


def iter_records(stream: BinaryIO, max_line: int = MAX_LINE_BYTES) -> Iterator[object]:
    """Parsed JSON per line, or a ValueError describing why the line is unusable."""
    while True:
        line = stream.readline(max_line + 1)
        if not line:
            return
        if len(line) > max_line and not line.endswith(b"\n"):
            while True:                       # drain the rest of the oversized line in bounded chunks
                more = stream.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            yield ValueError(f"line longer than {max_line} bytes")
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield ValueError(f"not UTF-8 (byte {exc.start})")
            continue
        if not text.strip():
            yield ValueError("empty line")
            continue
        try:
            yield json.loads(text)
        except json.JSONDecodeError as exc:
            yield ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})")
        except RecursionError:
            yield ValueError("invalid JSON (nested too deeply)")


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze(
        input: str = typer.Option(..., "--input", "-i", help="JSON Lines file of listings, or - for stdin."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write results here instead of stdout."),
        config: Optional[Path] = typer.Option(None, "--config", help="Pipeline config (default: the shipped nlp/nlp.cfg)."),
        batch_size: int = typer.Option(64, "--batch-size", min=1, max=10000,
                                       help="Listings per nlp.pipe batch (results are flushed per batch)."),
    ) -> None:
        """Analyze listings: one JSON line out per JSON line in (id, flagged, risk, listing_type,
        substances, signals, explanation)."""
        from interdict.cli import fail

        if input == "-":
            stream = sys.stdin.buffer
        else:
            try:
                stream = open(input, "rb")
            except OSError as exc:
                raise fail(f"{input}: cannot open ({exc.strerror})")
        try:
            out = open(output, "w", encoding="utf-8") if output else sys.stdout
        except OSError as exc:
            raise fail(f"{output}: cannot write ({exc.strerror})")
        try:
            from nlp.analyze import Analyzer
            analyzer = Analyzer(config_path=config, batch_size=batch_size)
        except (ValueError, OSError) as exc:
            raise fail(str(exc))
        pending = 0
        try:
            for result in analyzer.analyze_records(iter_records(stream)):
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
                pending += 1
                if pending >= batch_size:
                    out.flush()
                    pending = 0
            out.flush()
        except BrokenPipeError:
            sys.stderr.close()
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
            if output:
                out.close()
