"""Contact signals: messengers, E.164 phone numbers and email, with the context rules they need."""
from __future__ import annotations

import pytest

from nlp.signals import extract_signals
from nlp.signals.contacts import e164


def sigs(text, type_=None):
    out = extract_signals(text, "description")
    for s in out:
        assert 0 <= s.start < s.end <= len(text)
    return [s for s in out if type_ is None or s.type == type_]


def surfaces(text, type_):
    return [(text[s.start:s.end], s.value) for s in sigs(text, type_)]


# --- phone --------------------------------------------------------------------------------------

@pytest.mark.parametrize("surface,value", [
    ("+86 138 0013 8000", "+8613800138000"),
    ("+1 (415) 555-2671", "+14155552671"),
    ("0086-21-5555-8888", "+862155558888"),
    ("+44 (0) 7700 900123", "+447700900123"),
    ("+7 916 123-45-67", "+79161234567"),
    ("+31.6.12345678", "+31612345678"),
    ("+852 6123 4567", "+85261234567"),
])
def test_international_numbers_normalize_to_e164(surface, value):
    text = f"Call us: {surface}, 24/7"
    assert surfaces(text, "phone") == [(surface, value)]


def test_number_glued_to_a_trailing_quantity_is_trimmed():
    text = "tel +86 138 0013 8000 100 pcs"
    assert surfaces(text, "phone") == [("+86 138 0013 8000", "+8613800138000")]


@pytest.mark.parametrize("bad", [
    "+1 555 12",                 # too short
    "+999 1234 5678",            # unassigned country code
    "+8613800138000123",         # 16 digits in one run: longer than E.164 allows
    "+1 055 123 4567",           # NANP area codes start 2-9
    "+86 000 0000 0000",         # placeholder
    "138 0013 8000",             # no country code
    "Price +100 000 USD",
    "item 000123",
])
def test_implausible_numbers_are_rejected(bad):
    assert sigs(bad, "phone") == []


def test_e164_lengths():
    assert e164("8613800138000") == "+8613800138000"
    assert e164("861380013800") == "+861380013800"       # 10-digit Chinese landline form
    assert e164("86138001380001") is None                  # 12-digit NSN
    assert e164("1415555267") is None                      # NANP needs 10 after the 1
    assert e164("1234567890123456") is None                # > 15 digits


# --- whatsapp -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,surface,value", [
    ("WhatsApp: +86 138 0013 8000", "+86 138 0013 8000", "+8613800138000"),
    ("whatsapp 8613800138000 any time", "8613800138000", "+8613800138000"),
    ("Whats App No. +44 7700 900123", "+44 7700 900123", "+447700900123"),
    ("WA +7 916 123 45 67", "+7 916 123 45 67", "+79161234567"),
    ("вотсап +7 916 123 45 67", "+7 916 123 45 67", "+79161234567"),
    ("order via https://wa.me/8613800138000 now", "https://wa.me/8613800138000", "+8613800138000"),
    ("api.whatsapp.com/send?phone=14155552671", "api.whatsapp.com/send?phone=14155552671", "+14155552671"),
])
def test_whatsapp(text, surface, value):
    assert surfaces(text, "whatsapp") == [(surface, value)]
    assert sigs(text, "phone") == []          # one number = one signal: the specific type wins


@pytest.mark.parametrize("text", [
    "wa.me/123",                                       # too short
    "WhatsApp: +999 1234 5678",                         # unassigned country code
    "whatsapp group coming soon",
    "away +86 138 0013 8000",                           # "wa" inside a word is not WhatsApp
])
def test_whatsapp_invalid(text):
    assert sigs(text, "whatsapp") == []


def test_number_shared_by_two_messengers_is_reported_for_both():
    text = "WhatsApp/Telegram: +86 138 0013 8000"
    assert sorted(s.type for s in sigs(text)) == ["telegram", "whatsapp"]


# --- telegram -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,surface,value", [
    ("join https://t.me/Pharma_Direct for updates", "https://t.me/Pharma_Direct", "pharma_direct"),
    ("telegram.me/chemshop24", "telegram.me/chemshop24", "chemshop24"),
    ("Telegram: @RC_Vendor", "@RC_Vendor", "rc_vendor"),
    ("TG: chem_supplier", "chem_supplier", "chem_supplier"),
    ("contact me on telegram, my handle is @rcvendor2024", "@rcvendor2024", "rcvendor2024"),
    ("@rcvendor2024 on Telegram", "@rcvendor2024", "rcvendor2024"),
    ("电报：@fentchem", "@fentchem", "fentchem"),
    ("телеграм @himik_shop", "@himik_shop", "himik_shop"),
    ("飞机：chem_vendor", "chem_vendor", "chem_vendor"),
    ("Telegram +44 7700 900123", "+44 7700 900123", "+447700900123"),
])
def test_telegram(text, surface, value):
    assert surfaces(text, "telegram") == [(surface, value)]


def test_telegram_invite_link_keeps_its_case():
    text = "private group t.me/joinchat/AAAAAEk9Xw3abcdefghij"
    [s] = sigs(text, "telegram")
    assert s.value == "+AAAAAEk9Xw3abcdefghij"


@pytest.mark.parametrize("text", [
    "@rcvendor2024",                                  # a bare @handle: could be any network
    "follow us on Instagram @rcvendor2024",           # closest messenger word is not Telegram
    "Telegram or Instagram: @rcvendor2024",           # ditto
    "mail sales@rcvendor.com (telegram soon)",        # an email is not a handle
    "Telegram channel updates daily",                 # prose, not a handle
    "t.me/abc",                                        # 3 chars: Telegram handles are 5-32
    "t.me/joinchat",                                   # reserved path, no handle
    "Telegram: @bad__handle",                         # double underscore is not allowed
    "飞机 tickets cheap",                               # "飞机" (aeroplane) needs "飞机：handle"
])
def test_telegram_invalid_or_out_of_context(text):
    assert sigs(text, "telegram") == []


# --- wickr, signal, threema, session, wechat ---------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("Wickr: BigPharma99", "bigpharma99"),
    ("wickr me - rc.vendor_eu", "rc.vendor_eu"),
    ("Wickr ID bigpharma", "bigpharma"),
])
def test_wickr(text, value):
    [s] = sigs(text, "wickr")
    assert s.value == value and text[s.start:s.end].lower() == value


@pytest.mark.parametrize("text", ["wickr only", "Wickr: ab", "we use wickr and pgp"])
def test_wickr_invalid(text):
    assert sigs(text, "wickr") == []


@pytest.mark.parametrize("text,value", [
    ("Signal: +44 7700 900123", "+447700900123"),
    ("signal messenger +1 415 555 2671", "+14155552671"),
    ("Signal username: vendor_eu.42", "vendor_eu.42"),
    ("https://signal.me/#p/+14155552671", "+14155552671"),
])
def test_signal_messenger(text, value):
    assert [s.value for s in sigs(text, "signal_messenger")] == [value]


@pytest.mark.parametrize("text", [
    "strong signal, 5 bars",
    "Signal: +999 1234 5678",
    "signal strength +3 dB",
    "Signal username: vendor_eu",             # usernames carry a numeric discriminator
])
def test_signal_messenger_invalid(text):
    assert sigs(text, "signal_messenger") == []


@pytest.mark.parametrize("text,value", [
    ("Threema: ABCD1234", "ABCD1234"),
    ("threema id 7XK2M9QP", "7XK2M9QP"),
    ("https://threema.id/ECHOECHO", "ECHOECHO"),
    ("threema.id/*GATEWAY", "*GATEWAY"),
])
def test_threema(text, value):
    assert [s.value for s in sigs(text, "threema")] == [value]


@pytest.mark.parametrize("text", [
    "Threema: ABC1234",          # 7 chars
    "Threema: ABCD12345",        # 9 chars
    "threema: ABCD-1234",        # dash is not in the alphabet
    "threema contact",           # prose
    "ABCD1234",                  # no threema context
])
def test_threema_invalid(text):
    assert sigs(text, "threema") == []


SESSION_ID = "05" + "a1b2c3d4e5f60718293a4b5c6d7e8f90" * 2


def test_session_id():
    text = f"Session ID: {SESSION_ID.upper()}"
    [s] = sigs(text, "session")
    assert s.value == SESSION_ID and text[s.start:s.end] == SESSION_ID.upper() and s.confidence == 0.95
    [bare] = sigs(SESSION_ID, "session")
    assert bare.confidence < 0.95


@pytest.mark.parametrize("bad", [
    "06" + SESSION_ID[2:],           # Session IDs start with 05
    SESSION_ID[:-1],                 # 65 hex
    SESSION_ID + "f",                # 67 hex
    SESSION_ID[:-1] + "g",           # not hex
])
def test_session_id_invalid(bad):
    assert sigs(f"session {bad}", "session") == []


@pytest.mark.parametrize("text,value", [
    ("WeChat: pharma_vendor88", "pharma_vendor88"),
    ("加微信abc1234详谈", "abc1234"),
    ("微信号：chem-sales-01", "chem-sales-01"),
    ("微信：13800138000", "+8613800138000"),
    ("wechat +86 138 0013 8000", "+8613800138000"),
])
def test_wechat(text, value):
    assert [s.value for s in sigs(text, "wechat")] == [value]


@pytest.mark.parametrize("text", [
    "WeChat: abc",                   # WeChat IDs are 6-20 chars
    "WeChat: 1abcdefg",              # and start with a letter
    "we chat about quality",         # prose
    "pharma_vendor88",               # no WeChat context
])
def test_wechat_invalid(text):
    assert sigs(text, "wechat") == []


# --- email --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,surface,value", [
    ("mail Sales@Chem-Supply.com.cn today", "Sales@Chem-Supply.com.cn", "sales@chem-supply.com.cn"),
    ("<vendor.eu+orders@protonmail.com>", "vendor.eu+orders@protonmail.com", "vendor.eu+orders@protonmail.com"),
    ("contact: sales [at] pharmachem [dot] com", "sales [at] pharmachem [dot] com", "sales@pharmachem.com"),
    ("email rc_shop(at)tutanota.com", "rc_shop(at)tutanota.com", "rc_shop@tutanota.com"),
])
def test_email(text, surface, value):
    assert surfaces(text, "email") == [(surface, value)]


@pytest.mark.parametrize("text", [
    "logo@2x.png",                   # an image name
    "user@localhost",                # no TLD
    "@handle.",                      # no local part
    "a@b.c",                         # 1-letter TLD
    "price 10@5usd",
])
def test_email_invalid(text):
    assert sigs(text, "email") == []


def test_labelled_contact_lines_from_the_crawler():
    """The spider appends structured contacts as "label: value" lines; an empty label takes nothing."""
    text = ("Acetone drums.\n\nwhatsapp: +86 513 8559 3020\ntelegram: \nwickr: \n"
            "email: sales@hr-solvents.example\nwechat: hr_solvents")
    got = {(s.type, s.value) for s in sigs(text)}
    assert got == {("whatsapp", "+8651385593020"), ("email", "sales@hr-solvents.example"),
                   ("wechat", "hr_solvents")}
