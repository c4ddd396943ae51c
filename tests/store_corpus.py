"""Listings for the store tests: small synthetic ones, and a corpus built from real Agora titles.

The Agora dump (tests/data/agora-2014-dev.csv) gives real vendor names and titles with their odd
punctuation, emoji and stars; substances, signals, risk and dates are assigned deterministically so
both backends index exactly the same corpus.
"""
from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta, timezone

from index.models import Analysis, Listing, Signal, SubstanceHit
from index.store import SearchQuery
from tests.shared_data import AGORA_DEV as AGORA
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)

SUBSTANCES = [("fentanyl", "opioid"), ("heroin", "opioid"), ("carfentanil", "opioid"),
              ("cocaine", "stimulant"), ("amphetamine", "stimulant"), ("3-mmc", "stimulant"),
              ("mdma", "entactogen"), ("lsd", "psychedelic"), ("ketamine", "dissociative"),
              ("alprazolam", "benzodiazepine"), ("bmk", "precursor")]
SIGNALS = [("telegram", "@{v}"), ("btc", "bc1q{v}xyz"), ("phone", "+4915123{v}"), ("email", "{v}@example.org")]


def hit(name: str, cls: str) -> SubstanceHit:
    return SubstanceHit(canonical=name, **{"class": cls}, matched=name, field="title", start=0, end=len(name))


def listing(i: int, *, platform: str = "agora", tenant: str = "", title: str | None = None,
            description: str = "", vendor: str | None = None, risk: int = 0, flagged: bool = False,
            substances=(), signals=(), at: datetime = T0, price: float | None = None) -> Listing:
    return Listing(
        platform=platform, tenant=tenant, listing_id=str(i), url=f"http://{platform}.test/item/{i}",
        title=title if title is not None else f"listing {i}", description=description, vendor=vendor,
        price=price, currency="USD" if price is not None else None, fetched_at=at,
        analysis=Analysis(flagged=flagged, risk=risk, substances=[hit(n, c) for n, c in substances],
                          signals=[Signal(type=t, value=v, field="description", start=0, end=1)
                                   for t, v in signals]))


def synthetic(n: int, *, seed: int = 7, platforms=("agora", "silkroad", "evolution")) -> list[Listing]:
    """n small listings with random platforms, substances, signals and risk."""
    rnd = random.Random(seed)
    words = "pure crystal powder pills stealth shipping tested bulk escrow fast worldwide".split()
    out = []
    for i in range(n):
        subs = rnd.sample(SUBSTANCES, rnd.randint(0, 2))
        sigs = [(t, f.format(v=rnd.randint(1, 30))) for t, f in rnd.sample(SIGNALS, rnd.randint(0, 2))]
        risk = rnd.randint(0, 100)
        out.append(listing(i, platform=rnd.choice(platforms), title=" ".join(rnd.choices(words, k=4)),
                           description=" ".join(rnd.choices(words, k=12)), vendor=f"vendor{rnd.randint(1, 40)}",
                           risk=risk, flagged=risk >= 50, substances=subs, signals=sigs,
                           at=T0 + timedelta(hours=rnd.randint(0, 24 * 60)),
                           price=round(rnd.uniform(5, 500), 2)))
    return out


def agora(limit: int | None = None) -> list[Listing]:
    """Real Agora titles and vendors (2014), with deterministic analysis and dates."""
    rnd = random.Random(2014)
    out = []
    with open(AGORA, encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if limit is not None and i >= limit:
                break
            text = (row["title"] + " " + row["subcat"] + " " + row["subsubcat"]).lower()
            subs = [(n, c) for n, c in SUBSTANCES if n in text]
            if not subs and row["cat"] == "Drugs" and rnd.random() < 0.3:
                subs = [rnd.choice(SUBSTANCES)]
            sigs = [(t, f.format(v=rnd.randint(1, 15))) for t, f in rnd.sample(SIGNALS, rnd.randint(0, 2))]
            risk = min(100, 30 * len(subs) + rnd.randint(0, 40))
            platform = rnd.choice(["agora", "agora", "evolution", "chemshop"])
            out.append(listing(
                i, platform=platform, title=row["title"], vendor=row["vendor"],
                description=f"{row['cat']} / {row['subcat']} {row['subsubcat']}. Ships from {row['ships_from']} "
                            f"to {row['ships_to']}.",
                risk=risk, flagged=risk >= 50, substances=subs, signals=sigs,
                at=T0 + timedelta(days=i % 90, minutes=i), price=round(rnd.uniform(1, 900), 2)))
    for j, title in enumerate(TRICKY_TITLES):          # what 2014 lacked: today's NPS and hostile markup
        out.append(listing(100_000 + j, platform="chemshop", title=title, vendor=f"Vendor_{j}",
                           description=title[::-1], risk=60 + j, flagged=True, price=9.99 + j,
                           at=T0 + timedelta(days=j)))
    return out


TRICKY_TITLES = [
    "Fentanyl patches 99.5% pure, e.g. 100mcg ♛♛ USB's stealth",
    "3-MMC crystal 1kg — α-PVP 2C-B 25I-NBOMe 4-FA MDMA·HCl 1P-LSD 5-MeO-DMT",
    "Carfentanil <script>alert(1)</script> <img src=x onerror=alert(1)>",
    "ŞİŞLİ straße ΣΊΣΥΦΟΣ Ωmega 👍🏽 🇩🇪 ©®™ ★☆",
    "Метамфетамин 甲基苯丙胺 मेथाम्फेटामाइन ภาษาไทย don't a_b x:y 1,000.5",
]


def keys(result) -> list[str]:
    """The keys of a search result's hits, in order."""
    return [h.item.key for h in result.hits]


def all_keys(store, **kw) -> set[str]:
    """Every key a query matches, across all pages."""
    return {s.key for s in store.iter_listings(SearchQuery(**kw))}
