"""The substance knowledge base: shipped data is valid and covers what monitors need; the checker catches bad rows."""
from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.kb import (CLASSES, CONTROL_VOCAB, DEFAULT_PATH, HEADER, KBError, cas_valid, check_kb,
                    load_kb, norm_form)
from tests.shared_data import DAO_TTL

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def form_index(kb):
    """normalized surface form -> set of substance ids."""
    idx: dict[str, set[str]] = {}
    for f in kb.forms:
        idx.setdefault(norm_form(f.text), set()).add(f.substance_id)
    return idx


def ids_for(form_index, text):
    return form_index.get(norm_form(text), set())


# --- the shipped knowledge base -------------------------------------------------------------

def test_shipped_kb_passes_check():
    assert check_kb() == []


def test_coverage_meets_acceptance(kb):
    assert len(kb.substances) >= 400
    assert len(kb.forms) >= 3000
    assert set(CLASSES) <= {s.cls for s in kb.substances.values()}


TABLE_I = {
    "acetic anhydride": "acetic-anhydride", "N-acetylanthranilic acid": "n-acetylanthranilic-acid",
    "APAA": "apaa", "APAAN": "apaan", "MAPA": "mapa", "ANPP": "4-anpp", "NPP": "npp", "4-AP": "4-ap",
    "1-boc-4-AP": "1-boc-4-ap", "norfentanyl": "norfentanyl", "ephedrine": "ephedrine",
    "ergometrine": "ergometrine", "ergotamine": "ergotamine", "isosafrole": "isosafrole",
    "lysergic acid": "lysergic-acid", "3,4-MDP-2-P": "pmk", "PMK glycidate": "pmk-methyl-glycidate",
    "PMK glycidic acid": "pmk-glycidic-acid", "norephedrine": "norephedrine",
    "1-phenyl-2-propanone": "bmk", "phenylacetic acid": "phenylacetic-acid", "piperonal": "piperonal",
    "potassium permanganate": "potassium-permanganate", "pseudoephedrine": "pseudoephedrine",
    "safrole": "safrole",
}
TABLE_II = {
    "acetone": "acetone", "anthranilic acid": "anthranilic-acid", "ethyl ether": "ethyl-ether",
    "hydrochloric acid": "hydrochloric-acid", "methyl ethyl ketone": "mek", "piperidine": "piperidine",
    "sulfuric acid": "sulfuric-acid", "toluene": "toluene",
}


@pytest.mark.parametrize("name,sid", sorted(TABLE_I.items()))
def test_every_1988_table_i_precursor_is_named_and_controlled(kb, form_index, name, sid):
    assert sid in ids_for(form_index, name)
    assert "UN-1988 Table I" in kb.substance(sid).controls


@pytest.mark.parametrize("name,sid", sorted(TABLE_II.items()))
def test_every_1988_table_ii_chemical_is_named_and_controlled(kb, form_index, name, sid):
    assert sid in ids_for(form_index, name)
    assert "UN-1988 Table II" in kb.substance(sid).controls


def test_table_ii_holds_exactly_the_eight_convention_chemicals(kb):
    table_ii = {s.id for s in kb.substances.values() if "UN-1988 Table II" in s.controls}
    assert table_ii == set(TABLE_II.values())


SURVEILLANCE = ["4-AP", "1-boc-4-AP", "norfentanyl", "4-piperidone", "1-boc-4-piperidone", "NPP", "ANPP",
                "phenethyl bromide", "BMK methyl glycidate", "BMK ethyl glycidate", "BMK glycidic acid",
                "PMK ethyl glycidate", "PMK methyl glycidate", "PMK glycidic acid", "APAAN", "MAPA"]


@pytest.mark.parametrize("name", SURVEILLANCE)
def test_special_surveillance_and_designer_precursors_present(kb, form_index, name):
    precursors = [kb.substance(i) for i in ids_for(form_index, name) if kb.substance(i).cls == "precursor"]
    assert len(precursors) == 1, f"{name!r} -> {precursors}"
    assert {"UN-1988 Table I", "INCB SSL"} & set(precursors[0].controls), precursors[0]


DARKNET_NAMES = ["weed", "kush", "hash", "oxy", "roxy", "xanax bars", "bk-MDMA", "methylone", "MXE", "4-FA",
                 "25i", "DMT", "molly", "mdma crystals", "adderall", "ritalin", "modafinil", "valium",
                 "diazepam", "tramadol", "suboxone", "subutex", "codeine", "lean", "GHB", "GBL", "shrooms",
                 "OG Kush", "Girl Scout Cookies"]


@pytest.mark.parametrize("name", DARKNET_NAMES)
def test_common_darknet_names_resolve(form_index, name):
    assert ids_for(form_index, name), f"{name!r} is not a surface form"


@pytest.mark.parametrize("name,sid", [
    ("weed", "cannabis"), ("OG Kush", "cannabis"), ("bk-MDMA", "methylone"), ("MXE", "methoxetamine"),
    ("xanax bars", "alprazolam"), ("roxy", "oxycodone"), ("subutex", "buprenorphine"),
    ("adderall", "amphetamine"), ("ritalin", "methylphenidate"), ("lean", "codeine"),
])
def test_darknet_names_map_to_the_right_substance(form_index, name, sid):
    assert sid in ids_for(form_index, name)


MULTILINGUAL = ["fentanyl", "carfentanil", "heroin", "cocaine", "methamphetamine", "4-anpp", "npp", "4-ap",
                "1-boc-4-ap", "norfentanyl", "bmk", "pmk", "pmk-methyl-glycidate", "bmk-glycidic-acid"]


@pytest.mark.parametrize("sid", MULTILINGUAL)
def test_key_substances_have_chinese_spanish_russian_names(kb, sid):
    langs = {f.lang for f in kb.forms_of(sid) if f.via == "translation"}
    assert {"zh", "es", "ru"} <= langs, f"{sid}: {langs}"


def test_cas_index_maps_numbers_to_substances(kb):
    assert kb.by_cas["125541-22-2"] == "1-boc-4-ap"
    assert kb.by_cas["437-38-7"] == "fentanyl"
    assert kb.by_cas["990-73-8"] == "fentanyl"      # citrate salt maps to the base substance
    assert kb.by_cas["21409-26-7"] == "4-anpp"
    assert all(cas_valid(c) for c in kb.by_cas)


def test_every_row_has_source_and_known_vocabulary(kb):
    for s in kb.substances.values():
        assert s.source
        assert s.cls in CLASSES
        assert set(s.controls) <= set(CONTROL_VOCAB)


def test_slang_that_is_an_ordinary_word_needs_context(form_index, kb):
    ambiguous = {norm_form(f.text) for f in kb.forms if f.ambiguous}
    for word in ["ice", "crystal", "molly", "speed", "coke", "snow", "weed", "acid", "blow", "tina", "hash", "reefer"]:
        assert word in ambiguous, word


def test_load_kb_is_cached_for_the_default_path():
    assert load_kb() is load_kb(DEFAULT_PATH)


# --- CAS check digit --------------------------------------------------------------------------

@pytest.mark.parametrize("cas", ["437-38-7", "125541-22-2", "7664-93-9", "67-64-1", "7732-18-5", "50-00-0",
                                 "2167189-50-4"])
def test_cas_valid_accepts_real_numbers(cas):
    assert cas_valid(cas)


@pytest.mark.parametrize("cas", ["437-38-8", "125541-22-3", "473-38-7", "7664-39-9", "67-64-2"])
def test_cas_valid_rejects_altered_numbers(cas):
    assert not cas_valid(cas)


@pytest.mark.parametrize("cas", ["", "437387", "4-38-7", "12345678-12-3", "437-3-87", "abc-de-f", "437-38-7x"])
def test_cas_valid_rejects_malformed(cas):
    assert not cas_valid(cas)


# --- the checker on small CSVs ----------------------------------------------------------------

def write_csv(tmp_path, rows, header=HEADER):
    path = tmp_path / "substances.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(r)
    return path


def row(id="fentanyl", canonical="fentanyl", cls="opioid", controls="UN-1961 Sch I", cas="437-38-7",
        synonyms="fentanil", slang="", zh="", es="", ru="", ambiguous="", source="test"):
    return [id, canonical, cls, controls, cas, synonyms, slang, zh, es, ru, ambiguous, source]


def test_check_passes_a_clean_file(tmp_path):
    path = write_csv(tmp_path, [row(), row(id="heroin", canonical="heroin", cas="561-27-3", synonyms="")])
    assert check_kb(path) == []
    kb = load_kb(path)
    assert set(kb.substances) == {"fentanyl", "heroin"}
    assert {(f.text, f.via, f.lang) for f in kb.forms_of("fentanyl")} == {
        ("fentanyl", "name", "en"), ("fentanil", "synonym", "en")}


def test_check_names_line_and_field_of_a_bad_cas(tmp_path):
    path = write_csv(tmp_path, [row(), row(id="heroin", canonical="heroin", cas="561-27-4", synonyms="")])
    problems = check_kb(path)
    assert len(problems) == 1
    assert problems[0].startswith("substances.csv:3: cas:")
    assert "561-27-4" in problems[0]


def test_check_rejects_malformed_cas(tmp_path):
    problems = check_kb(write_csv(tmp_path, [row(cas="CAS 437-38-7")]))
    assert problems and problems[0].startswith("substances.csv:2: cas:")


def test_check_flags_a_shared_form_without_marker(tmp_path):
    path = write_csv(tmp_path, [
        row(slang="china white"),
        row(id="heroin", canonical="heroin", cas="561-27-3", synonyms="", slang="China  White"),
    ])
    problems = check_kb(path)
    assert [p.split(":")[1] for p in problems] == ["2", "3"]
    assert all(": ambiguous: 'china white'" in p for p in problems)


def test_check_flags_a_shared_form_marked_in_one_row_only(tmp_path):
    path = write_csv(tmp_path, [
        row(slang="china white", ambiguous="china white"),
        row(id="heroin", canonical="heroin", cas="561-27-3", synonyms="", slang="china white"),
    ])
    problems = check_kb(path)
    assert len(problems) == 1 and problems[0].startswith("substances.csv:3: ambiguous:")


def test_check_accepts_a_shared_form_marked_in_both_rows(tmp_path):
    path = write_csv(tmp_path, [
        row(slang="china white", ambiguous="China White"),
        row(id="heroin", canonical="heroin", cas="561-27-3", synonyms="", slang="china white",
            ambiguous="china white"),
    ])
    assert check_kb(path) == []
    forms = [f for f in load_kb(path).forms if f.text.lower() == "china white"]
    assert len(forms) == 2 and all(f.ambiguous for f in forms)


def test_check_rejects_unknown_class(tmp_path):
    problems = check_kb(write_csv(tmp_path, [row(cls="narcotic")]))
    assert problems == ["substances.csv:2: class: unknown class 'narcotic'"]


def test_check_rejects_unknown_regime(tmp_path):
    problems = check_kb(write_csv(tmp_path, [row(controls="UN-1961 Sch I|EU Annex I")]))
    assert problems == ["substances.csv:2: controls: unknown regime 'EU Annex I'"]


@pytest.mark.parametrize("kwargs,field", [
    ({"id": "Fentanyl Citrate"}, "id"),
    ({"canonical": ""}, "canonical"),
    ({"source": ""}, "source"),
    ({"ambiguous": "ice"}, "ambiguous"),
])
def test_check_rejects_other_bad_fields(tmp_path, kwargs, field):
    problems = check_kb(write_csv(tmp_path, [row(**kwargs)]))
    assert problems and problems[0].startswith(f"substances.csv:2: {field}:"), problems


def test_check_rejects_duplicate_id_and_duplicate_cas(tmp_path):
    problems = check_kb(write_csv(tmp_path, [row(), row(canonical="fentanyl citrate", synonyms="")]))
    assert any(p.startswith("substances.csv:3: id:") for p in problems)
    problems = check_kb(write_csv(tmp_path, [row(), row(id="other", canonical="x", synonyms="")]))
    assert any(p.startswith("substances.csv:3: cas:") and "437-38-7" in p for p in problems)


def test_check_rejects_wrong_header_and_short_rows(tmp_path):
    assert check_kb(write_csv(tmp_path, [row()], header=HEADER[:-1]))[0].startswith("substances.csv:1: header:")
    path = tmp_path / "substances.csv"
    path.write_text(",".join(HEADER) + "\nfentanyl,fentanyl,opioid\n", encoding="utf-8")
    assert check_kb(path)[0].startswith("substances.csv:2: row:")


def test_check_reports_every_problem_not_just_the_first(tmp_path):
    path = write_csv(tmp_path, [row(cls="bad"), row(id="b", canonical="b", cas="50-00-1", synonyms="")])
    problems = check_kb(path)
    assert [p.split(":")[1:3] for p in problems] == [["2", " class"], ["3", " cas"]]


def test_load_kb_raises_kberror_naming_file_line_field(tmp_path):
    path = write_csv(tmp_path, [row(), row(id="heroin", canonical="heroin", cas="561-27-4", synonyms="")])
    with pytest.raises(KBError, match=r"^substances\.csv:3: cas: '561-27-4'"):
        load_kb(path)


def test_missing_file_is_a_problem_not_a_crash(tmp_path):
    problems = check_kb(tmp_path / "nope.csv")
    assert problems and "cannot open" in problems[0]


# --- CLI --------------------------------------------------------------------------------------

def test_cli_lexicon_check_ok_prints_counts():
    from interdict.cli import app
    result = CliRunner().invoke(app, ["lexicon", "check"])
    assert result.exit_code == 0, result.output
    assert "substances:" in result.output and "surface forms:" in result.output and "classes:" in result.output


def test_cli_lexicon_check_fails_on_bad_file(tmp_path):
    from interdict.cli import app
    path = write_csv(tmp_path, [row(cas="437-38-8")])
    result = CliRunner().invoke(app, ["lexicon", "check", "--path", str(path)])
    assert result.exit_code == 1
    assert "substances.csv:2: cas: '437-38-8' fails the CAS check digit" in result.output


def test_cli_lexicon_stats_lists_a_class():
    from interdict.cli import app
    result = CliRunner().invoke(app, ["lexicon", "stats", "--class", "precursor"])
    assert result.exit_code == 0
    ids = [line.split("\t")[0] for line in result.output.splitlines()]
    assert "1-boc-4-ap" in ids and "bmk" in ids and "fentanyl" not in ids


# --- DAO slang import -------------------------------------------------------------------------

def _build_slang():
    spec = importlib.util.spec_from_file_location("build_slang", REPO / "nlp" / "data" / "build_slang.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_dao_parser_reads_individuals_and_slang():
    bs = _build_slang()
    individuals, parents = bs.parse_ttl(DAO_TTL)
    assert "Chiva" in individuals["Heroin"]["slang"]
    assert "Adderall" in individuals["Amphetamine"]["brand"]
    assert "Drug" in bs.ancestors("Non-Pharmaceutical_Fentanyl", parents)
    assert not bs.keep("Addicted") and not bs.keep("x") and bs.keep("tan rock")


def test_shipped_kb_already_contains_the_reviewed_dao_slang():
    bs = _build_slang()
    individuals, parents = bs.parse_ttl(DAO_TTL)
    _, rows = bs.load_rows(DEFAULT_PATH)
    additions, _ = bs.plan(individuals, parents, rows)
    pending = {k: v for k, v in additions.items() if v["synonyms"] or v["slang"]}
    assert pending == {}


def test_shipped_brand_names_are_what_the_package_maps_onto_the_rows():
    """nlp/data/brands.csv is built, never typed: it equals build_brands.py's output from the installed
    drug-named-entity-recognition package (rebuild with `python nlp/data/build_brands.py --write`)."""
    from nlp.data.build_brands import OUT_PATH, build_rows, render
    assert OUT_PATH.read_text(encoding="utf-8") == render(build_rows())


@pytest.mark.parametrize("title, canonical", [
    ("Ralozam 1mg x 30", "alprazolam"), ("Zamadol 50mg x 100", "tramadol"), ("Eucodal 10mg x 20", "oxycodone"),
])
def test_medicine_brands_from_the_package_name_their_generic(title, canonical):
    from nlp.analyze import Analyzer
    a = Analyzer().analyze_text(title)
    assert a.flagged and a.substances[0].canonical == canonical and a.substances[0].via == "synonym"


def test_brand_file_problems_name_file_and_line(tmp_path, monkeypatch):
    import nlp.kb as kbmod
    bad = tmp_path / "brands.csv"
    bad.write_text("brand,id,generic\nralozam,no-such-row,alprazolam\nheroin,morphine,morphine\n", encoding="utf-8")
    monkeypatch.setattr(kbmod, "BRANDS_PATH", bad)
    problems = kbmod.check_kb()
    assert any(p.startswith("brands.csv:2: id: 'no-such-row'") for p in problems), problems
    assert any(p.startswith("brands.csv:3: brand: 'heroin' already names heroin") for p in problems), problems
