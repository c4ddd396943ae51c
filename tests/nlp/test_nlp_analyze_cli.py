"""The stable `interdict analyze` contract an external harness relies on: JSON Lines in, one line out
per line in, in order, errors in place, streaming (output before the input ends)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "interdict.cli.__main__"] if (ROOT / "interdict/cli/__main__.py").exists() \
    else [str(ROOT / ".venv/bin/interdict")]
KEYS = {"id", "flagged", "risk", "listing_type", "substances", "signals", "explanation"}
SUB_KEYS = {"canonical", "class", "cas", "controls", "matched", "field", "start", "end", "via"}
SIG_KEYS = {"type", "value", "field", "start", "end"}


def run(lines: list[str], *args: str) -> list[dict]:
    p = subprocess.run(CLI + ["analyze", "--input", "-", *args], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    return [json.loads(x) for x in p.stdout.splitlines()]


def test_contract_shape_order_and_offsets():
    recs = [
        {"id": "a1", "title": "F3NT@NYL powder 1kg", "description": "Wickr: chemboss. Stealth shipping.",
         "url": "http://x/1", "platform": "p", "vendor": "v", "price": 10, "ships_from": "CN", "ships_to": "US"},
        {"id": 2, "title": "Ice cream maker"},
        {"id": "a3", "description": "CAS 125541-22-2 in stock, 100% customs clearance"},
    ]
    out = run([json.dumps(r) for r in recs])
    assert [o["id"] for o in out] == ["a1", 2, "a3"]
    for o in out:
        assert KEYS <= set(o)
        assert isinstance(o["flagged"], bool) and 0 <= o["risk"] <= 100 and isinstance(o["explanation"], list)
        assert o["listing_type"] in ("substance_offer", "information", "paraphernalia", "harm_reduction", "other")
        for s in o["substances"]:
            assert SUB_KEYS <= set(s)
            assert s["via"] in ("name", "synonym", "slang", "cas", "fuzzy", "translation")
        for s in o["signals"]:
            assert SIG_KEYS <= set(s)
    first = out[0]
    assert first["flagged"] and first["substances"][0]["canonical"] == "fentanyl"
    s = first["substances"][0]
    assert recs[0]["title"][s["start"]:s["end"]] == s["matched"] and s["matched"].startswith("F3NT@NYL")
    for sig in first["signals"]:
        src = recs[0][sig["field"]]
        assert 0 <= sig["start"] < sig["end"] <= len(src)
    assert {"wickr", "stealth_shipping"} <= {sig["type"] for sig in first["signals"]}
    assert not out[1]["flagged"] and out[1]["substances"] == []
    assert out[2]["substances"][0]["via"] == "cas" and out[2]["flagged"]
    assert out[2]["substances"][0]["field"] == "description"


def test_malformed_lines_yield_errors_in_place_and_the_rest_proceed():
    lines = [
        json.dumps({"id": 1, "title": "10g cocaine"}),
        "{not json",
        json.dumps({"title": "no id"}),
        json.dumps({"id": 4}),
        json.dumps([1, 2]),
        "",
        json.dumps({"id": 7, "title": 42}),
        json.dumps({"id": 8, "title": "5g MDMA crystals"}),
    ]
    out = run(lines)
    assert len(out) == len(lines)
    assert out[0]["id"] == 1 and out[0]["flagged"]
    for n in (2, 3, 4, 5, 6, 7):
        o = out[n - 1]
        assert o["id"] is None and o["error"].startswith(f"line {n}: "), o
    assert "id" in out[2]["error"] and "title" in out[3]["error"] and "'title'" in out[6]["error"]
    assert out[7]["id"] == 8 and out[7]["flagged"]


def test_invalid_utf8_is_an_error_line(tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_bytes(b'{"id": 1, "title": "5g ketamine"}\n{"id": 2, "title": "\xff\xfe"}\n')
    p = subprocess.run(CLI + ["analyze", "--input", str(f)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert out[0]["id"] == 1 and out[1] == {"id": None, "error": out[1]["error"]}
    assert out[1]["error"].startswith("line 2: ")


def test_missing_input_file_is_one_line_error(tmp_path):
    p = subprocess.run(CLI + ["analyze", "--input", str(tmp_path / "nope.jsonl")],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert p.returncode != 0 and "nope.jsonl" in p.stderr and "Traceback" not in p.stderr


def test_streams_output_before_input_ends():
    """Constant memory means streaming: the first results arrive while we are still writing input."""
    proc = subprocess.Popen(CLI + ["analyze", "--input", "-", "--batch-size", "16"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    line = (json.dumps({"id": 0, "title": "10g cocaine", "description": "uncut " * 50}) + "\n").encode()
    got: list[bytes] = []
    first = threading.Event()

    def drain():
        for out_line in proc.stdout:
            got.append(out_line)
            first.set()
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc.stdin.write(line * 64)
    proc.stdin.flush()
    assert first.wait(timeout=120), "no output before the input was complete"
    assert json.loads(got[0])["id"] == 0
    for _ in range(20):
        proc.stdin.write(line * 100)
    proc.stdin.close()
    proc.wait(timeout=240)
    reader.join(timeout=30)
    assert proc.returncode == 0
    assert len(got) == 64 + 2000
