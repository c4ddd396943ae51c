"""Detection throughput: listings/s on one core for ~1 KB listings, and the ratio to spaCy's tokenizer
alone on the same texts, in the same run. Goals: ratio >= 0.3 and >= 5,000 listings/s per core; below
either, prints where the time goes (cProfile).

    .venv/bin/python benchmarks/nlp_throughput.py [--n 3000] [--repeat 3]

The listings are synthetic but shaped like real ones: drug offers (some obfuscated, some Chinese,
Spanish or Russian), B2B chemical offers with CAS numbers and contacts, and ordinary marketplace
listings, each ~1 KB of title + description.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OFFERS = ["Fentanyl HCl powder", "f3nt@nyl 99%", "Pure Colombian cocaine", "Crystal meth shards", "MDMA crystals 84%",
          "LSD blotters 200ug", "Xanax 2mg bars", "Oxycodone 30mg", "Ketamine S-isomer", "Heroin #4 Afghan",
          "Carfentanil 5g", "4-ANPP high purity", "BMK glycidate CAS 80532-66-7", "PMK ethyl glycidate",
          "Mephedrone 4-MMC", "a-PVP crystal", "2C-B pills", "Etizolam pellets", "Protonitazene powder",
          "卡芬太尼 现货", "Cocaína pura", "Героин оптом", "Acetone 99.5% 200L drum", "Toluene industrial grade",
          "Grapefruit Kush 1/4 oz", "Golden Teacher mushrooms 28g", "GHB 100ml", "Testosterone enanthate 250"]
OTHER = ["Replica watch", "Netflix premium account", "Ice cream maker", "Snow tires 4 pcs", "High speed router",
         "Cooking method ebook", "Fentanyl test strips 10 pack", "Naloxone nasal spray 4mg", "Glass pipe",
         "Digital scale 0.01g", "Passport scan template", "Vintage crystal vase"]
FILLER = ("We ship worldwide with tracking in 5-7 business days. Quality guaranteed, reship if lost. "
          "Please read our terms before ordering. Payment in BTC or XMR only. Contact via Wickr: chemvendor "
          "or Telegram @chem_vendor_bot. Discreet packaging, vacuum sealed, stealth shipping to USA, UK, EU, "
          "Australia. Bulk discounts from 1kg, MOQ 100g. Lab tested purity 99.8% with COA available on request. "
          "Our company has 10 years of experience in pharmaceutical intermediates and fine chemicals. "
          "Delivery time depends on destination; customs clearance 100% guaranteed, we change the name on "
          "the declaration. Samples available. Fast response 24/7, serious buyers only. ")


GOAL_RATIO = 0.3        # pipeline listings/s over the tokenizer's, same texts, same run
GOAL_RATE = 5000        # pipeline listings/s per core


def make_listings(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    out = []
    words = FILLER.split()
    for _ in range(n):
        head = rnd.choice(OFFERS if rnd.random() < 0.7 else OTHER)
        title = f"{rnd.choice(['', '1g ', '5g ', '100g ', '1kg '])}{head} {rnd.choice(['', 'best price', 'in stock', 'USA domestic'])}".strip()
        desc = [head + "."]
        while sum(len(w) + 1 for w in desc) < 1000 - len(title):
            i = rnd.randrange(len(words) - 12)
            desc.append(" ".join(words[i:i + rnd.randint(4, 12)]))
        out.append((title, " ".join(desc)[: 1000 - len(title)]))
    return out


def best_time(fn, repeat: int) -> float:
    """Best CPU time of `repeat` runs: CPU time, not wall time, because the development machine is shared
    and wall time there varies 2x between runs; the best run is the one least disturbed."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def rate(fn, n: int, repeat: int) -> float:
    return n / best_time(fn, repeat)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--legacy", action="store_true",
                    help="also time the pre-issue-13 signal extractors (nlp/_legacy) on the same listings")
    ap.add_argument("--model", action="store_true",
                    help="also time the pipeline with the offer classifier on (nlp/textcat) on the same listings")
    args = ap.parse_args()

    import spacy
    from nlp.analyze import FIELD_SEP, Analyzer

    listings = make_listings(args.n)
    texts = [t + FIELD_SEP + d for t, d in listings]
    avg = sum(len(x) for x in texts) / len(texts)
    tok_nlp = spacy.blank("xx")
    analyzer = Analyzer()
    analyzer.analyze_text(*listings[0])            # warm caches (lexicon index, lru caches)

    def tokenizer_only():
        for _ in tok_nlp.tokenizer.pipe(texts, batch_size=128):
            pass

    def pipeline(a=analyzer):
        docs = (a.make_doc(t, d) for t, d in listings)
        for _ in a.nlp.pipe(docs, batch_size=128):
            pass

    r_tok = rate(tokenizer_only, len(texts), args.repeat)
    r_pipe = rate(pipeline, len(texts), args.repeat)
    ratio = r_pipe / r_tok
    print(f"listings: {len(texts)}, mean size {avg:.0f} chars, best of {args.repeat} runs, one core")
    print(f"spaCy tokenizer alone : {r_tok:10.0f} listings/s")
    print(f"interdict pipeline    : {r_pipe:10.0f} listings/s per core")
    if args.legacy:
        from nlp.pipeline import build_nlp
        legacy = Analyzer(build_nlp(overrides={"components.interdict_signals.legacy": True}))
        legacy.analyze_text(*listings[0])
        r_old = rate(lambda: pipeline(legacy), len(texts), args.repeat)
        print(f"with legacy signals   : {r_old:10.0f} listings/s per core (nlp/_legacy; speed-up {r_pipe / r_old:.2f}x)")
    if args.model:
        from nlp.pipeline import build_nlp
        with_model = Analyzer(build_nlp(overrides={"components.interdict_offer_model.enabled": True}))
        with_model.analyze_text(*listings[0])
        r_model = rate(lambda: pipeline(with_model), len(texts), args.repeat)
        print(f"with offer classifier : {r_model:10.0f} listings/s per core (nlp/textcat; {r_model / r_pipe:.2f}x "
              "the pipeline without it)")
    met = ratio >= GOAL_RATIO and r_pipe >= GOAL_RATE
    print(f"ratio pipeline/tokenizer: {ratio:.2f} (goal >= {GOAL_RATIO}) -> {'OK' if ratio >= GOAL_RATIO else 'BELOW GOAL'}")
    print(f"pipeline listings/s     : {r_pipe:.0f} (goal >= {GOAL_RATE:,}) -> "
          f"{'OK' if r_pipe >= GOAL_RATE else 'BELOW GOAL'}")
    # per component: where a listing's time goes (make_doc = building the Doc). Each component is
    # timed over all docs, best of `repeat` passes (a pass re-runs only that component on the output
    # of the ones before it, which is what it reads).
    docs = [analyzer.make_doc(ti, de) for ti, de in listings]
    parts = [("make_doc",
              best_time(lambda: [analyzer.make_doc(ti, de) for ti, de in listings], args.repeat))]
    for name, proc in analyzer.nlp.pipeline:
        for d in docs:
            proc(d)
        parts.append((name, best_time(lambda: [proc(d) for d in docs], args.repeat)))
    total = sum(p for _, p in parts)
    print(f"per component (best of {args.repeat} passes, CPU us/listing, share):")
    for name, p in parts:
        print(f"  {name:28s} {p / len(docs) * 1e6:8.1f}  {p / total:6.1%}")
    if not met:
        prof = cProfile.Profile()
        prof.enable()
        pipeline()
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
        print("where the time goes (top 15 by own time):")
        print(buf.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
