"""`interdict analyze` and lone surrogates (issue 10): JSON may escape half a UTF-16 pair ("\\ud800"); such a
record is an error line naming the line and the field, and every other record is analyzed, in order."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_lone_surrogates_are_error_lines_and_the_rest_proceed(tmp_path):
    lines = [
        json.dumps({"id": 1, "title": "10g cocaine"}),
        '{"id": 2, "title": "fentanyl \\ud800 powder"}',                     # a high half alone
        '{"id": 3, "title": "ok", "description": "5g MDMA \\udfff"}',         # a low half alone
        '{"id": "x\\udc00", "title": "ketamine 5g"}',                         # in the id itself
        '{"id": 5, "title": "pure \\ud83d\\ude00 heroin 10g"}',               # a real pair: an emoji, fine
        json.dumps({"id": 6, "title": "5g MDMA crystals"}),
    ]
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="ascii")
    p = subprocess.run([sys.executable, "-m", "interdict.cli", "analyze", "--input", str(f)], capture_output=True,
                       text=True, encoding="utf-8", timeout=180, cwd=ROOT)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    out = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(out) == len(lines)
    assert [o["id"] for o in out] == [1, None, None, None, 5, 6]
    assert out[1] == {"id": None, "error": "line 2: field 'title': lone surrogate \\ud800 at offset 9 "
                                           "(not valid Unicode text)"}
    assert out[2]["error"].startswith("line 3: field 'description': lone surrogate \\udfff")
    assert out[3]["error"].startswith("line 4: field 'id': lone surrogate \\udc00")
    assert out[0]["flagged"] and out[5]["flagged"]
    assert out[4]["flagged"] and out[4]["substances"][0]["canonical"] == "heroin"
    hit = out[4]["substances"][0]
    assert "pure \U0001F600 heroin 10g"[hit["start"]:hit["end"]].lower() == "heroin"
