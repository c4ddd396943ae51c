"""Unseen NPS names (nlp/nps_grammar.py) and the longest-name rule (nlp/longest.py), through the pipeline."""
from __future__ import annotations

import pytest

from nlp.kb import load_kb
from nlp.nps_grammar import NpsGrammar


def ids(analyzer, title, description=""):
    kb = load_kb()
    by_canon = {s.canonical: sid for sid, s in kb.substances.items()}
    a = analyzer.analyze_text(title, description)
    for h in a.substances:
        text = title if h.field == "title" else description
        assert text[h.start:h.end] == h.matched
    return a, [by_canon[h.canonical] for h in a.substances]


@pytest.mark.parametrize("title, expected", [
    ("4-methyl-pentedrone 5g", ["4-mpd"]),                      # not pentedrone (another legal basis)
    ("4-methyl-pentedrone (4-MPD) crystals", ["4-mpd"]),
    ("New PMK ethyl glycidate 28578-16-7", ["pmk-ethyl-glycidate"]),   # not "new PMK" (the methyl ester)
    ("N-(2-phenylethyl)-4-piperidone 1kg", ["npp"]),            # not 4-piperidone on its own
    ("N-ethylpentedrone NEP 10g", ["n-ethylpentedrone"]),
    ("NEP 10g", ["n-ethylpentedrone"]),
    ("3C-E 10 x 20mg", ["3c-e"]),
    ("3C-P 10mg pellets", ["3c-p"]),
    ("N-ethylhexedrone (hexen) 5g", ["neh"]),
    ("Protonitazene hydrochloride 1g", ["protonitazene"]),
])
def test_the_longest_most_specific_name_wins(analyzer, title, expected):
    a, got = ids(analyzer, title)
    assert got == expected and a.flagged, (got, a.explanation)


@pytest.mark.parametrize("title, family, cls", [
    ("5-MMC 500 gram", "unidentified-nps-cathinone", "stimulant"),
    ("4-fluoro-N-ethylpentedrone 5g", "unidentified-nps-cathinone", "stimulant"),
    ("3-Cl-PVP crystals 10g", "unidentified-nps-cathinone", "stimulant"),
    ("2C-Q 10 x 15mg", "unidentified-nps-phenethylamine", "psychedelic"),
    ("25X-NBOMe blotters", "unidentified-nps-phenethylamine", "psychedelic"),
    ("Pipnitazene 1g", "unidentified-nps-nitazene", "opioid"),
    ("4-Fluoro-crotonylfentanyl 1g", "unidentified-nps-fentanyl", "opioid"),
    ("5-MeO-EPT 1g", "unidentified-nps-tryptamine", "psychedelic"),
    ("1X-LSD 100ug blotter", "unidentified-nps-lysergamide", "psychedelic"),
    ("3-F-PCP 1g", "unidentified-nps-arylcyclohexylamine", "dissociative"),
    ("Zolazolam pellets 2mg x 20", "unidentified-nps-benzodiazepine", "benzodiazepine"),
    ("ADB-HEXINACA 10g", "unidentified-nps-cannabinoid", "cannabinoid"),
    ("3-Br-MPH 20mg x 10", "unidentified-nps-phenidate", "stimulant"),
])
def test_unseen_nps_names_are_reported_by_family_for_review(analyzer, title, family, cls):
    a, got = ids(analyzer, title)
    assert got == [family], (got, a.explanation)
    hit = a.substances[0]
    assert hit.cls == cls and "NPS" in hit.controls and hit.confidence <= 0.5
    assert a.flagged
    assert any("identity for review" in line for line in a.explanation), a.explanation


@pytest.mark.parametrize("title", [
    "Fake Netherlands (Dutch) Driving Licence - High Quality Repica",
    "Do it now: benzene and triazene reference standards catalogue",
    "Nylon rope 20m, pylon markers",
    "Temperature logger 2C-8C for vaccines",
])
def test_ordinary_text_fits_no_grammar_name(analyzer, title):
    a, got = ids(analyzer, title)
    assert not any(g.startswith("unidentified-nps") for g in got), got


def test_grammar_names_known_to_the_knowledge_base_report_their_row(analyzer):
    """Every NPS row whose name the grammar recognises is reported as itself, never as a family guess."""
    kb, grammar = load_kb(), NpsGrammar.load()
    checked = 0
    for sid, sub in kb.substances.items():
        if "NPS" not in sub.controls or sid.startswith("unidentified-nps"):
            continue
        for form in kb.forms_of(sid):
            text = form.text.lower()
            if form.ambiguous or not any(g.start == 0 and g.end == len(text) for g in grammar.find(text)):
                continue
            a, got = ids(analyzer, f"{form.text} 5g")
            assert got[:1] == [sid], (form.text, got)
            checked += 1
    assert checked >= 40


def test_bad_grammar_file_names_file_and_field(tmp_path):
    bad = tmp_path / "g.yaml"
    bad.write_text("families:\n  - id: x\n    cues: [x]\n    patterns: ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"g\.yaml: families\[0\] \(x\): bad regular expression"):
        NpsGrammar.load(bad)
    bad.write_text("families:\n  - id: x\n    cues: [x]\n    patterns: ['{nope}x']\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"families\[0\]\.patterns\[0\]: unknown part \{nope\}"):
        NpsGrammar.load(bad)
    bad.write_text("families:\n  - id: not-a-row\n    cues: [z]\n    patterns: ['zz']\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'not-a-row' is not a row"):
        NpsGrammar.load(bad).check_ids(set(load_kb().substances))


@pytest.mark.parametrize("title, expected", [
    ("盐酸赛拉嗪 1kg", ["xylazine"]),                  # xylazine hydrochloride, not hydrochloric acid
    ("4-哌啶酮盐酸盐一水合物", ["4-piperidone"]),
    ("工业盐酸 31%", ["hydrochloric-acid"]),              # industrial hydrochloric acid stays the acid
])
def test_chinese_salt_names_belong_to_the_substance(analyzer, title, expected):
    assert ids(analyzer, title)[1] == expected
