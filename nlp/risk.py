"""Risk score 0-100 and the flagging policy, both configured in nlp/scoring.yaml (package data).

The policy (documented in that file and nlp/README.md) decides `flagged`; the score orders the review
queue. Every factor that contributed is returned as a human-readable explanation line, because a
reviewer must be able to see why a listing was flagged before sending a takedown notice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from index.models import Signal, SubstanceHit
from nlp.datafile import read_yaml

# Shipped inside the package (read through importlib.resources), so an installed wheel scores like a checkout;
# an operator's own weights are a file given as the pipeline's `scoring_path`.
DEFAULT_PATH = resources.files("nlp") / "scoring.yaml"

# Strictest first: the level of a substance is the first that applies.
LEVELS = ("un_controlled", "watch_precursor", "nps", "us_csa", "table_i", "table_ii", "uncontrolled")


@dataclass
class ScoringConfig:
    policy: dict
    base: dict[str, float]
    listing_type_factor: dict[str, float]
    signals: dict[str, float]
    risk_signal_types: frozenset[str]
    signals_cap: float = 30
    extra_substance: float = 3
    extra_substance_cap: float = 9
    flagged_min: int = 60
    watch_precursors: frozenset[str] = field(default_factory=frozenset)
    lawful_products: frozenset[str] = field(default_factory=frozenset)
    rule_marks: dict[str, str] = field(default_factory=dict)
    model_weight: float = 0.0          # points for P(offer) = 1 of the offer classifier (nlp/textcat)
    model_rescue: float = 0.0          # flag a listing with no substance when P(offer) >= this; 0 = never

    @classmethod
    def load(cls, path: str | Path | None = None, policy: dict | None = None) -> "ScoringConfig":
        """Read the scoring config (default nlp/scoring.yaml); `policy` overrides keys of its `policy` section
        (a site's own flagging policy, crawlers/siteconfig/schema.py), each checked against the key's type in the file."""
        p, data = read_yaml(path or DEFAULT_PATH, "scoring config")
        for key in ("policy", "base", "listing_type_factor", "signals"):
            if not isinstance(data.get(key), dict):
                raise ValueError(f"{p}: {key}: missing or not a mapping")
        missing = [lv for lv in LEVELS if lv not in data["base"]]
        if missing:
            raise ValueError(f"{p}: base: missing levels {', '.join(missing)}")
        problems = policy_problems(policy or {}, data["policy"])
        if problems:
            raise ValueError(f"policy override: {'; '.join(problems)}")
        policy = {**data["policy"], **(policy or {})}
        return cls(
            policy=policy,
            base={k: float(v) for k, v in data["base"].items()},
            listing_type_factor={k: float(v) for k, v in data["listing_type_factor"].items()},
            signals={k: float(v) for k, v in data["signals"].items()},
            risk_signal_types=frozenset(data.get("risk_signal_types") or ()),
            signals_cap=float(data.get("signals_cap", 30)),
            extra_substance=float(data.get("extra_substance", 3)),
            extra_substance_cap=float(data.get("extra_substance_cap", 9)),
            flagged_min=int(data.get("flagged_min", 60)),
            watch_precursors=frozenset(str(x) for x in policy.get("watch_precursors") or ()),
            lawful_products=frozenset(str(x) for x in policy.get("lawful_products") or ()),
            rule_marks={str(k): str(v) for k, v in (data.get("rule_marks") or {}).items()},
            **_model_settings(p, data.get("model") or {}),
        )


def _model_settings(path: Path, section: dict) -> dict:
    """The `model` section: weight >= 0, rescue 0 (off) or a probability in (0.5, 1]."""
    weight, rescue = section.get("weight", 0), section.get("rescue_threshold", 0)
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
        raise ValueError(f"{path}: model.weight: expected a number >= 0, got {weight!r}")
    if not isinstance(rescue, (int, float)) or isinstance(rescue, bool) or not (rescue == 0 or 0.5 < rescue <= 1):
        raise ValueError(f"{path}: model.rescue_threshold: expected 0 (off) or a probability in (0.5, 1], got {rescue!r}")
    return {"model_weight": float(weight), "model_rescue": float(rescue)}


def policy_defaults(path: str | Path | None = None) -> dict:
    """The `policy` section of nlp/scoring.yaml: the keys a site may override, with their default values."""
    p, data = read_yaml(path or DEFAULT_PATH, "scoring config")
    if not isinstance(data.get("policy"), dict):
        raise ValueError(f"{p}: policy: missing or not a mapping")
    return data["policy"]


def policy_problems(overrides: dict, defaults: dict) -> list[str]:
    """"key: reason" for each override that is not a policy key or not of the default value's type."""
    out = []
    for key, value in overrides.items():
        if key not in defaults:
            out.append(f"{key}: not a policy key of nlp/scoring.yaml ({', '.join(sorted(defaults))})")
            continue
        want = type(defaults[key])
        if want is list:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif want is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        else:
            ok = isinstance(value, want)
        if not ok:
            kind = {bool: "true or false", int: "a whole number >= 0", list: "a list of lexicon ids"}.get(want, want.__name__)
            out.append(f"{key}: expected {kind}, got {value!r}")
    return out


def control_level(substance_id: str, controls, cfg: ScoringConfig, cls: str = "") -> str:
    """The strictest policy level that applies to one substance."""
    c = set(controls)
    if any(x.startswith(("UN-1961", "UN-1971")) for x in c):
        return "un_controlled"
    if substance_id in cfg.watch_precursors:
        return "watch_precursor"
    if "NPS" in c:
        return "nps"
    if any(x.startswith("US-CSA") for x in c):
        return "us_csa"
    if cls not in ("precursor", "") and ("US List I" in c or "US List II" in c):
        return "us_csa"            # a psychoactive sold as such (GBL) that US law lists as a chemical
    if "UN-1988 Table I" in c or "US List I" in c or "INCB SSL" in c:
        return "table_i"
    if "UN-1988 Table II" in c or "US List II" in c:
        return "table_ii"
    return "uncontrolled"


@dataclass
class Verdict:
    flagged: bool
    risk: int
    explanation: list[str]


def signal_types(signals: list[Signal], cfg: ScoringConfig) -> dict[str, Signal]:
    """Each signal type present, with its first signal. A signal whose rule carries a mark of `rule_marks`
    ("+obfuscated": a contact disguised against platform filters) counts as the mark's type too."""
    out: dict[str, Signal] = {}
    for s in signals:
        out.setdefault(s.type, s)
        for mark, type_ in cfg.rule_marks.items():
            if mark in s.rule:
                out.setdefault(type_, s)
    return out


def score(listing_type: str, substances: list[SubstanceHit], substance_ids: list[str],
          signals: list[Signal], cfg: ScoringConfig, model: tuple[float, str, str] | None = None) -> Verdict:
    """Apply the policy to one listing's analysis parts (substances ordered by importance). `model` is the
    offer classifier's (P(offer), class, version) when it runs (nlp/textcat/component.py)."""
    pol = cfg.policy
    expl: list[str] = []
    first_of = signal_types(signals, cfg)
    sig_types = sorted(first_of)
    risk_sigs = [t for t in sig_types if t in cfg.risk_signal_types]
    n_risk = len(risk_sigs)

    # strictest substance decides the base
    best_level, best_hit, best_sid = "uncontrolled", None, ""
    for hit, sid in zip(substances, substance_ids):
        lv = control_level(sid, hit.controls, cfg, hit.cls)
        if best_hit is None or LEVELS.index(lv) < LEVELS.index(best_level):
            best_level, best_hit, best_sid = lv, hit, sid

    offer = listing_type == "substance_offer"
    flagged, rule = False, ""
    if offer and best_hit is not None:
        if best_level == "un_controlled" and pol.get("flag_un_controlled", True):
            flagged, rule = True, "offer of a substance under UN-1961/1971 control"
        elif best_level == "watch_precursor" and pol.get("flag_watch_precursors", True):
            flagged, rule = True, "fentanyl/nitazene or special-surveillance designer precursor"
        elif best_level == "nps" and pol.get("flag_nps", True):
            flagged, rule = True, "offer of a new psychoactive substance"
        elif best_level == "us_csa" and pol.get("flag_us_csa", True):
            flagged, rule = True, "offer of a US-CSA controlled substance"
        elif best_level == "table_i" and n_risk >= int(pol.get("table_i_min_signals", 1)):
            flagged, rule = True, f"UN-1988 Table I precursor with risk signals ({', '.join(risk_sigs)})"
        elif best_level == "table_ii" and n_risk >= int(pol.get("table_ii_min_signals", 2)):
            flagged, rule = True, f"UN-1988 Table II chemical with risk signals ({', '.join(risk_sigs)})"
        elif (best_level == "uncontrolled" and pol.get("flag_uncontrolled_medicines", False)
              and best_hit.cls not in ("precursor",) and best_sid not in cfg.lawful_products):
            flagged, rule = True, "offer of a medicine or psychoactive not under control (flag_uncontrolled_medicines)"

    if best_hit is None:
        base = 0.0
        expl.append("no substance recognised")
    else:
        base = cfg.base[best_level]
        if best_level == "uncontrolled" and best_sid in cfg.lawful_products:
            base = cfg.base.get("lawful", base)
        ctrl = ", ".join(best_hit.controls) or "no international control"
        expl.append(f"+{base:g} {best_hit.canonical} ({best_hit.cls}; {ctrl}) matched "
                    f"{best_hit.matched!r} in {best_hit.field} via {best_hit.via}")
    factor = cfg.listing_type_factor.get(listing_type, 1.0)
    total = base * factor
    if factor != 1.0 and best_hit is not None:
        expl.append(f"x{factor:g} listing type {listing_type} (not a substance offer)")
    if len(substances) > 1 and offer:
        extra = min(cfg.extra_substance * (len(substances) - 1), cfg.extra_substance_cap)
        total += extra
        expl.append(f"+{extra:g} {len(substances) - 1} more substance(s) offered")
    sig_total = 0.0
    for t in sig_types:
        w = cfg.signals.get(t, 0.0)
        if w:
            sig_total += w
            first = first_of[t]
            expl.append(f"+{w:g} signal {t}: {first.value!r} in {first.field}")
    if sig_total > cfg.signals_cap:
        expl.append(f"signals capped at {cfg.signals_cap:g}")
        sig_total = cfg.signals_cap
    total += sig_total
    if model is not None:
        p_offer, m_cls, m_version = model
        points = cfg.model_weight * p_offer
        total += points
        expl.append(f"+{points:.1f} offer classifier {m_version}: P(offer) {p_offer:.2f}, class {m_cls} "
                    f"(weight {cfg.model_weight:g})")
        if best_hit is None and cfg.model_rescue and p_offer >= cfg.model_rescue:
            flagged, rule = True, (f"the offer classifier reads an offer of a {m_cls} (P {p_offer:.2f} >= "
                                   f"{cfg.model_rescue:g}); no substance recognised: review the title")
    if flagged:
        expl.insert(0, f"FLAGGED: {rule}")
        if best_level != "uncontrolled":
            total = max(total, cfg.flagged_min)
    elif best_hit is not None and not offer:
        expl.insert(0, f"not flagged: {listing_type} is not a substance offer")
    elif best_level in ("table_i", "table_ii") and best_hit is not None:
        need = pol.get("table_i_min_signals" if best_level == "table_i" else "table_ii_min_signals")
        expl.insert(0, f"recorded, not flagged: {best_level.replace('_', ' ')} chemical with "
                       f"{n_risk} risk signal(s) (policy needs {need})")
    elif best_hit is not None and best_sid in cfg.lawful_products:
        expl.insert(0, f"recorded, not flagged: {best_hit.canonical} is sold lawfully in retail (lawful_products)")
    elif best_hit is not None:
        expl.insert(0, f"recorded, not flagged: {best_hit.canonical} is not under the flagged controls")
    return Verdict(flagged, int(max(0, min(100, round(total)))), expl)
