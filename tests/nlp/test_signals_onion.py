"""Onion addresses: v3 checksum verified (rend-spec-v3), v2 kept only at low confidence."""
from __future__ import annotations

import base64
import hashlib

import pytest

from nlp.signals import extract_signals
from nlp.signals.checksums import onion_v3_address, onion_v3_checksum, onion_v3_valid

TORPROJECT = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"   # www.torproject.org
DUCKDUCKGO = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"
GENERATED = onion_v3_address(hashlib.sha256(b"interdict market").digest())


def onions(text):
    return [s for s in extract_signals(text, "description") if s.type == "onion"]


@pytest.mark.parametrize("addr", [TORPROJECT, DUCKDUCKGO, GENERATED])
def test_valid_v3_addresses(addr):
    text = f"Mirror: http://{addr}/market?ref=1 (use Tor)"
    [s] = onions(text)
    assert text[s.start:s.end] == addr and s.value == addr and s.rule == "onion.v3"


def test_uppercase_and_subdomain_are_normalized():
    text = f"visit HTTP://SHOP.{TORPROJECT.upper()}/"
    [s] = onions(text)
    assert s.value == TORPROJECT and text[s.start:s.end] == TORPROJECT.upper()


@pytest.mark.parametrize("addr", [TORPROJECT, DUCKDUCKGO, GENERATED])
@pytest.mark.parametrize("pos", [0, 30, 52, 55])
def test_one_changed_character_fails_the_checksum(addr, pos):
    c = addr[pos]
    bad = addr[:pos] + ("a" if c != "a" else "b") + addr[pos + 1:]
    assert not onion_v3_valid(bad[:56])
    assert onions(f"mirror {bad}") == []


def test_wrong_version_byte_is_rejected():
    pub = hashlib.sha256(b"k").digest()
    raw = pub + onion_v3_checksum(pub, 4) + b"\x04"
    label = base64.b32encode(raw).decode().lower()
    assert onions(f"{label}.onion") == []


def test_v2_is_reported_at_low_confidence_only():
    [s] = onions("old link: http://agorahooawayyfoe.onion/")
    assert s.value == "agorahooawayyfoe.onion" and s.rule == "onion.v2_unverifiable" and s.confidence < 0.5


@pytest.mark.parametrize("bad", [
    TORPROJECT[:40] + ".onion",                      # wrong length
    "x" + TORPROJECT,                                # 57 chars
    TORPROJECT.replace(".onion", ".onionx"),          # not the .onion TLD
    TORPROJECT[:55] + "1.onion",                     # '1' is not base32
])
def test_malformed_onions_are_rejected(bad):
    assert [s for s in onions(bad) if s.rule == "onion.v3"] == []
