"""A site's own flagging policy (site YAML `policy`, overriding nlp/scoring.yaml keys): validated like every
other field and used by the crawl's analysis of that site's listings. Through a real crawl of the B2B fixture."""
from __future__ import annotations

from pathlib import Path

import pytest

from crawlers.siteconfig import SiteConfigErrors, parse_site
from tests.crawl_helpers import open_target, run_crawl_process, site_yaml, stored, truth

B2B = Path(__file__).resolve().parents[2] / "config" / "sites" / "b2b.yaml"
XYLAZINE = "CB-50015"      # an uncontrolled veterinary medicine: flagged only by flag_uncontrolled_medicines


def test_b2b_crawl_with_its_own_policy_does_not_flag_uncontrolled_medicines(tmp_path):
    from crawlers.fixture_sites import start_all
    target = open_target("sqlite", tmp_path)
    fx = start_all(["b2b"])
    try:
        sites = site_yaml("b2b", tmp_path / "sites", policy={"flag_uncontrolled_medicines": False}).parent
        run, _ = run_crawl_process("b2b", target, tmp_path / "var", fx.env(), sites_dir=sites)
        got = stored(target, "b2b")
        rows = truth("b2b")
        xyl = got[f"b2b:{XYLAZINE}"].listing.analysis
        assert xyl.substances[0].canonical == "xylazine"                      # still recorded for the reviewer
        assert not xyl.flagged and xyl.explanation[0].startswith("recorded, not flagged"), xyl.explanation
        for lid, row in rows.items():                                         # every other rule still applies
            if lid != XYLAZINE:
                assert got[f"b2b:{lid}"].listing.analysis.flagged == row["truth"]["flag"], lid
        assert run["counts"]["flagged"] == sum(r["truth"]["flag"] for r in rows.values()) - 1
    finally:
        fx.stop()
        target.close()


@pytest.mark.parametrize("policy, where, reason", [
    ("  flag_uncontrolled_medicine: false\n", "policy.flag_uncontrolled_medicine", "unknown field"),
    ("  flag_uncontrolled_medicines: maybe\n", "policy.flag_uncontrolled_medicines", "valid boolean"),
    ("  table_i_min_signals: -1\n", "policy.table_i_min_signals", "greater than or equal to 0"),
    ("  lawful_products: [caffeine, 3]\n", "policy.lawful_products[1]", "valid string"),
])
def test_bad_policy_is_an_error_naming_file_line_and_field(policy, where, reason):
    text = B2B.read_text(encoding="utf-8")
    line = text.count("\n") + 3
    with pytest.raises(SiteConfigErrors) as exc:
        parse_site(text + "\npolicy:\n" + policy, "b2b.yaml")
    msgs = [str(e) for e in exc.value.errors]
    assert any(m.startswith(f"b2b.yaml:{line}: {where}: ") and reason in m for m in msgs), msgs


def test_policy_overrides_are_only_the_keys_a_site_sets():
    text = B2B.read_text(encoding="utf-8")
    assert parse_site(text, "b2b.yaml").policy_overrides == {}
    site = parse_site(text + "\npolicy:\n  flag_uncontrolled_medicines: false\n", "b2b.yaml")
    assert site.policy_overrides == {"flag_uncontrolled_medicines": False}
