"""Contact handles vendors move buyers to: messengers, phone numbers, email.

Rules (precision first; a wrong contact links the wrong vendors):
- phone: international numbers only ("+86 138 0013 8000", "0086 ...", "(+1) 555-..."), with a
  known E.164 country code and a plausible length (8-15 digits, exact national length for the
  big codes). Value "+<digits>". A phone is generic: when a WhatsApp/Signal/WeChat/Telegram
  signal covers the same number, only that one is reported.
- keyed contacts: a messenger word followed by its value ("wickr: bigpharma", "微信：abc123",
  "WhatsApp/Telegram: +1 ..."); only separators or other messenger words may stand between.
- telegram: t.me / telegram.me links (always), "telegram: handle" (keyed), and a bare
  @handle ONLY when the closest messenger word within 40 characters before it (or, failing
  that, 20 after it) is a Telegram word. "@handle" alone is as likely Instagram or Twitter.
  Handles are 5-32 chars, start with a letter; value lowercase without "@".
- whatsapp: wa.me / api.whatsapp.com links, chat.whatsapp.com invites, keyed numbers.
- session: a 66-hex Session ID starting "05" is self-identifying; threema: 8 chars [A-Z0-9*]
  after "threema" or in threema.id links; signal: keyed phone or username ("name.42") or
  signal.me links; wechat: keyed ID or phone; wickr: keyed ID.
- email: RFC-ish address, plus "name [at] domain [dot] com" obfuscation.
- disguises (see disguise.py): split, leet or look-alike messenger names ("t e l e g r a m", "sig nal",
  "wh@tsapp"), "(at)"/"[at]"/" @ " before the value, and "t . me / x", "t[.]me/x", "wa(dot)me/..."
  links give the same value as the plain form; the rule gains "+obfuscated" so reviewers see it.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import islice
from typing import Iterable, Iterator

from . import _REGISTRY, Hit, signal
from .context import LETTERS, Words, contains_any, hex_view, lowered, occurrences, per_text
from .disguise import DOT, HANDLE_LOOKALIKES, SLASH, SP, disguised, fold_handle, may_be_disguised, squash, squashed

# --- phone numbers ----------------------------------------------------------------------------

# ITU-T E.164 assigned country calling codes (prefix-free, so at most one matches).
_CC = frozenset("""
1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64
65 66 81 82 84 86 90 91 92 93 94 95 98 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229
230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253
254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291 297 298 299 350 351 352 353
354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 380 381 382 383 385 386 387 389 420
421 423 500 501 502 503 504 505 506 507 508 509 590 591 592 593 594 595 596 597 598 599 670 672
673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692 850 852 853 855 856
880 886 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998
""".split())
# national significant number lengths where they are fixed or narrow (others: 6-12 digits)
_NSN = {
    "1": (10, 10), "7": (10, 10), "86": (10, 11), "44": (9, 10), "91": (10, 10), "33": (9, 9),
    "61": (9, 9), "852": (8, 8), "853": (8, 8), "380": (9, 9), "31": (9, 9), "34": (9, 9),
    "52": (10, 10), "55": (10, 11), "81": (9, 10), "886": (8, 9), "65": (8, 8), "66": (8, 9),
    "84": (9, 10), "63": (10, 10), "90": (10, 10), "48": (9, 9), "32": (8, 9), "27": (9, 9),
    "234": (8, 10), "92": (9, 10), "49": (6, 11), "39": (6, 11),
}

# "+" or "00" not glued to a word; the left-edge lookbehinds sit after the first character so sre
# can skip to candidates quickly
_INTL = re.compile(r"(?:\+(?<![\w+]\+) ?|0(?<![\w+]0)0)\(?\d[\d \-.()\u00a0]{5,24}\d(?!\d)")
_BARE = re.compile(r"\d(?<![\w+]\d)[\d \-.()\u00a0]{6,22}\d(?!\d)")   # only after a messenger word


def e164(digits: str) -> str | None:
    """'+<digits>' when `digits` (country code first) is a plausible international number."""
    if not 8 <= len(digits) <= 15:
        return None
    cc = next((digits[:n] for n in (1, 2, 3) if digits[:n] in _CC), None)
    if cc is None:
        return None
    lo, hi = _NSN.get(cc, (6, 12))
    nsn = digits[len(cc):]
    if not lo <= len(nsn) <= hi or nsn[0] == "0":
        return None
    if cc == "1" and nsn[0] in "01":
        return None            # NANP area codes start 2-9
    if len(set(nsn)) < 3:
        return None            # 0000000 / 1111111 placeholders
    return "+" + digits


_CN_SURFACE = re.compile(r"1[3-9]\d{9}|1[3-9]\d[ -]\d{4}[ -]\d{4}")
# "WhatsApp 2024-05-12" is a date, not +20 240512
_DATE = re.compile(r"(?:19|20)\d\d([-./])[01]?\d\1[0-3]?\d|[0-3]?\d([-./])[01]?\d\2(?:19|20)?\d\d")


def _parse_number(surface: str, bare: bool) -> str | None:
    s = surface.replace("(0)", "")
    digits = re.sub(r"\D", "", s)
    if not digits.isascii():          # fullwidth or Arabic-Indic digits: the same number
        digits = "".join(str(unicodedata.decimal(c)) for c in digits)
    if bare and _CN_SURFACE.fullmatch(s):
        return "+86" + digits      # "13800138000" after "微信"/"WhatsApp" is a Chinese mobile, not +1 380...
    if bare and _DATE.fullmatch(s):
        return None
    if not bare and s.lstrip("( ").startswith("00"):
        digits = digits[2:]
    return e164(digits)


def _intl_matches(text: str) -> Iterator[re.Match]:
    """What `_INTL.finditer(text)` yields: a match starts with "+" or "00", so the regex is only
    tried at those (most listings have a few, glued inside words and numbers)."""
    starts = occurrences(text, "+")
    if "00" in text:                      # "00" glued to a word or a number ("1000") cannot start one
        starts = sorted(starts + [i for i in occurrences(text, "00")
                                  if not i or not (text[i - 1].isalnum() or text[i - 1] in "_+")])
    end = 0
    for i in starts:
        if i >= end and (m := _INTL.match(text, i)):
            yield m
            end = m.end()


def _numbers(text: str, pattern: re.Pattern, pos: int = 0, endpos: int | None = None,
             bare: bool = False, matches: Iterable[re.Match] | None = None) -> Iterator[tuple[int, int, str]]:
    """(start, end, +E164) per number; a run glued to trailing digits ("... 8000 100 pcs") is trimmed."""
    endpos = len(text) if endpos is None else endpos
    for m in (pattern.finditer(text, pos, endpos) if matches is None else matches):
        start, end = m.start(), m.end()
        while True:
            value = _parse_number(text[start:end], bare)
            if value:
                yield start, end, value
                break
            cut = max(text.rfind(" ", start, end), text.rfind("\u00a0", start, end))
            if cut <= start:
                break
            end = cut
            while end > start and not text[end - 1].isdigit():
                end -= 1


@signal("phone", needles=("+", "00"), generic=True)
def find_phones(text: str) -> Iterator[Hit]:
    for start, end, value in _numbers(text, _INTL, matches=_intl_matches(text)):
        yield start, end, value, "phone.intl", 0.8


# --- keyed contacts: "<messenger word> <separators> <value>" -----------------------------------

_TG_WORD = (r"telegram+|telegarm|telgram|tlgrm|tg|телеграмм?|телега|тг|电报|纸飞机|飞机")
_WA_WORD = r"whats\s?app|whatsap+|wats\s?app?|wh?atsapp|wapp|wa|вотсап|ватсап|вацап|ватс ?ап"
_WICKR_WORD = r"wickr(?:\s?me)?"
_SIGNAL_WORD = r"signal(?:\s?(?:messenger|app|private messenger))?"
_THREEMA_WORD = r"threema"
_SESSION_WORD = r"session(?:\s?(?:messenger|app))?"
_WECHAT_WORD = r"we\s?chat|weixin|wx|vx|v信|微信|薇信|威信"
_OTHER_WORD = (r"viber|skype|kik|discord|snapchat|snap|instagram|insta|ig|twitter|facebook|fb|"
               r"icq|jabber|xmpp|line\s?id|email|e-mail|mail|tel|phone|mobile|cell|contact|"
               r"телефон|тел|电话|手机|teléfono|tel[eé]fono|móvil|celular")

_WORDS = {
    "telegram": _TG_WORD, "whatsapp": _WA_WORD, "wickr": _WICKR_WORD,
    "signal_messenger": _SIGNAL_WORD, "threema": _THREEMA_WORD, "session": _SESSION_WORD,
    "wechat": _WECHAT_WORD, "other": _OTHER_WORD,
}


# names vendors disguise ("t e l e g r a m", "wh@tsapp", "sig nal"); a field's disguised forms are only
# looked for where disguise.may_be_disguised says one can be there
_DISGUISABLE = {"telegram": "telegram", "whatsapp": "whatsapp", "wickr": "wickr", "signal_messenger": "signal"}
_ANY_FORM = {k: v if k not in _DISGUISABLE else f"{v}|{disguised(_DISGUISABLE[k])}" for k, v in _WORDS.items()}

_LETTER = LETTERS
# literals that start every match of a messenger word (tests/nlp/test_signals_fastpaths.py checks them):
# on a long field str.find for each beats the regex's character-class scan
_ANCHORS = {"telegram": ("tg", "tlg", "tel", "тг", "тел", "电报", "纸飞机", "飞机"),
            "whatsapp": ("wa", "wha", "вац", "ват", "вот"),
            "wechat": ("we", "wx", "vx", "v信", "微信", "薇信", "威信")}
_KW = {k: Words(v, _ANCHORS.get(k, ())) for k, v in _WORDS.items()}
_KW_ANY_FORM = {k: Words(v, () if k in _DISGUISABLE else _ANCHORS.get(k, ())) for k, v in _ANY_FORM.items()}
_ANY_KW = Words("|".join(f"(?P<{k}>{v})" for k, v in _WORDS.items()))
_ANY_KW_ANY_FORM = Words("|".join(f"(?P<{k}>{v})" for k, v in _ANY_FORM.items()))
_PLAIN_WORD = {k: re.compile(v) for k, v in _WORDS.items()}
_GRAMS = {k: (squash(name), name) for k, name in _DISGUISABLE.items()}


@per_text
def _disguise_kinds(text: str) -> frozenset[str]:
    """Messengers whose name may be disguised in the field (see disguise.may_be_disguised)."""
    return frozenset(k for k, (gram, name) in _GRAMS.items() if may_be_disguised(text, gram, name))


# labels that may sit between a messenger word and its value: "WhatsApp ID:", "微信号：", "Wickr me -"
_LABEL = r"(?:id|ID|no\.?|number|nr|num|#|username|user|name|handle|号|號|帐号|账号|номер|ник|me)"
# "(at)", "[at]" and a spaced "@" stand for "@" before a handle ("tele gram @ xanplug")
_AT = r"@|[\[({]\s?at\s?[\])}]"
_GAP_OK = re.compile(rf"(?:[\s:：=\-–—/|,;&>()\[\]]|{_AT}|{_LABEL}|and|or|и|или|或|"
                     rf"{'|'.join(_ANY_FORM[k] for k in _WORDS if k != 'other')})*\Z", re.I)
_AT_GAP = re.compile(_AT, re.I)
_GAP = 30
_LABEL_NEXT = re.compile(r"[ \t]*[:：]")
# Chinese writes "加微信abc123" with no separator; only unambiguous words get that licence
# ("飞机" is Telegram slang but also just "aeroplane", so it needs "飞机：handle")
_UNSPACED_KEYWORDS = frozenset({"微信", "薇信", "威信", "v信", "电报", "纸飞机"})
MAX_KEYWORDS = 500     # a field repeating "wechat" 500k times is an attack, not 500k contacts


_SEP = re.compile(rf"[:：=\-–—>@]|[\[({{]\s?at\s?[\])}}]|(?<![{_LETTER}]){_LABEL}(?![{_LETTER}])", re.I)


@per_text
def _keyword_cache(text: str) -> dict[str, list[re.Match]]:
    return {}


def _keywords(text: str, kind: str) -> list[re.Match]:
    """The first MAX_KEYWORDS `kind` words of the text, scanned once per text (the keyed handle and
    the keyed number finders of a messenger both start from them)."""
    cache = _keyword_cache(text)
    found = cache.get(kind)
    if found is None:
        words = _KW_ANY_FORM[kind] if kind in _disguise_kinds(text) else _KW[kind]
        found = cache[kind] = list(islice(words.finditer(text, lowered(text)), MAX_KEYWORDS))
    return found


def _obfuscated(kind: str, kw: re.Match, gap: str) -> bool:
    """A disguised messenger name, or "(at)"/"[at]"/a spaced "@" between it and the value."""
    return bool(_AT_GAP.search(gap)) or not _PLAIN_WORD[kind].fullmatch(kw.group().lower())


def _rule(rule: str, obfuscated: bool) -> str:
    return rule + "+obfuscated" if obfuscated else rule


def _keyed(text: str, kind: str, value_re: re.Pattern) -> Iterator[tuple[int, int, re.Match, re.Match, bool]]:
    """(start, end, keyword match, value match, obfuscated) for a handle written right after a `kind` word.

    Only separators, labels ("ID", "号") or other messenger words may stand between. A word value
    also needs an explicit cue, so "Telegram channel" is prose while "Telegram: channel", "TG @channel",
    "Wickr ID channel" and "微信channel" are handles.
    """
    for kw in _keywords(text, kind):
        lo = kw.end()
        m = value_re.search(text, lo, min(len(text), lo + _GAP + 80))
        if m is None or m.start() - lo > _GAP:
            continue
        gap = text[lo:m.start()]
        if "\n" in gap or not _GAP_OK.match(gap):
            continue                       # a value sits on its keyword's line ("telegram: \nemail: ...")
        if _LABEL_NEXT.match(text, m.end()):
            continue                       # "Telegram: email: x" - the word is the next label, not a handle
        if not (m.group().startswith("@") or _SEP.search(gap) or kw.group() in _UNSPACED_KEYWORDS):
            continue
        yield m.start(), m.end(), kw, m, _obfuscated(kind, kw, gap)


def _keyed_numbers(text: str, kind: str) -> Iterator[tuple[int, int, str, bool]]:
    """International numbers, or bare ones that start with a country code, right after a `kind` word
    (start, end, +E164, obfuscated)."""
    for kw in _keywords(text, kind):
        lo, hi = kw.end(), min(len(text), kw.end() + _GAP + 30)
        for pattern, bare in ((_INTL, False), (_BARE, True)):
            hit = next(_numbers(text, pattern, lo, hi, bare), None)
            if hit and hit[0] - lo <= _GAP and "\n" not in text[lo:hit[0]] and _GAP_OK.match(text[lo:hit[0]]):
                yield hit + (_obfuscated(kind, kw, text[lo:hit[0]]),)
                break


# --- telegram ---------------------------------------------------------------------------------

_TG_HANDLE = r"[A-Za-z](?:[A-Za-z0-9]|_(?!_)){3,30}[A-Za-z0-9]"
_TG_LINK = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.)?(?:t|telegram)\.(?:me|dog)/"
    rf"(?:(?:joinchat/|\+)(?P<invite>[A-Za-z0-9_-]{{10,40}})|s/(?P<s>{_TG_HANDLE})|(?P<h>{_TG_HANDLE}))"
    r"(?![A-Za-z0-9_])", re.I)
_TG_RESERVED = frozenset({"joinchat", "addstickers", "share", "proxy", "socks", "addtheme", "setlanguage",
                          "iv", "login", "confirmphone", "contact", "boost", "addlist", "addemoji"})
_AT_HANDLE = re.compile(rf"(?<![A-Za-z0-9._%+\-@])@({_TG_HANDLE})(?![A-Za-z0-9_@])(?!\.[A-Za-z]{{2,}})")
# after a messenger word or in a disguised link a handle may also be written with look-alikes ("xаnplug")
_TG_HANDLE_WIDE = _TG_HANDLE.replace("A-Za-z", "A-Za-z" + HANDLE_LOOKALIKES)
_KEYED_HANDLE = re.compile(rf"@?({_TG_HANDLE_WIDE})(?![\w@])(?!\.[A-Za-z]{{2,}})(?!\s?[\[({{](?i:at)[\])}}])")
# "t . me / name", "t[.]me/name", "t(dot)me/name", "t me/name", "telegram . me / name"; the plain link
# at the same place is _TG_LINK's
_TG_LINK_DISGUISED = re.compile(
    rf"(?<![\w.'’@/-])(?:https?{SP}:{SP}/{SP}/{SP})?(?:t|telegram){DOT}(?P<me>me){SLASH}@?"
    rf"(?P<h>{_TG_HANDLE_WIDE})(?![\w])", re.I)
_ME_SLASH = re.compile(rf"me{SLASH}")       # every disguised link's "me" + slash, found on lowered text
_ME_SLASH_I = re.compile(_ME_SLASH.pattern, re.I)   # where lower() changed the offsets


def _closest_messenger(text: str, low: str, start: int, end: int) -> str | None:
    """Which messenger word is closest before the span (40 chars), else closest after (20 chars)."""
    words = _ANY_KW_ANY_FORM if _disguise_kinds(text) else _ANY_KW
    best = None
    for m in words.finditer(text, low, max(0, start - 40), start):
        best = m.lastgroup
    if best is not None:
        return best
    m = words.search(text, low, end, min(len(text), end + 20))
    return m.lastgroup if m else None


@per_text
def _me_slashes(text: str) -> list[re.Match]:
    """What `_ME_SLASH.finditer(text.lower())` yields: each disguised link has one ("t . me / x",
    "wa[.]me/..."). "me" is everywhere ("some", "time"), a slash is not, so the search starts from
    each "/", "／" and "slash": the only "me" that can end at one is the last within 10 characters before."""
    view = squashed(text)                  # spaces, dots and brackets deleted: "me [/]" is "me/" there
    if b"me/" not in view and b"mesiash" not in view:     # "slash" squashes to "siash" (l reads as i)
        return []
    low = lowered(text)
    if len(low) != len(text):
        return list(islice(_ME_SLASH_I.finditer(text), MAX_KEYWORDS))
    slashes = occurrences(low, "/")
    for other in ("slash", "\uff0f"):
        if other in low:
            slashes = sorted(slashes + occurrences(low, other))
    out: list[re.Match] = []
    end = 0
    for i in slashes:
        j = low.rfind("me", max(end, i - 10), i)
        if j >= 0 and (m := _ME_SLASH.match(low, j)) and m.end() > i:
            out.append(m)
            end = m.end()
            if len(out) == MAX_KEYWORDS:
                break
    return out


def _disguised_links(text: str, pattern: re.Pattern, plain: re.Pattern) -> Iterator[re.Match]:
    """`pattern` matches whose "me" is one _ME_SLASH finds, where `plain` (the undisguised link regex)
    does not match: those are the plain finder's."""
    end = 0
    for anchor in _me_slashes(text):
        if anchor.start() < end:
            continue
        for m in pattern.finditer(text, max(end, anchor.start() - 64), min(len(text), anchor.end() + 80)):
            if m.start("me") == anchor.start():
                if not plain.match(text, m.start()):
                    yield m
                end = m.end()
                break


@signal("telegram", needles=("t.me", "telegram.", "@", "tg", "telegr", "телег", "тг", "电报", "飞机",
                             "tlgrm", "telgram", "telegarm"))
def find_telegram(text: str) -> Iterator[Hit]:
    low = lowered(text)
    links = _TG_LINK.finditer(text) if ("t.me/" in low or "telegram.me/" in low or ".dog/" in low) else ()
    for m in links:
        if m.group("invite"):
            yield m.start(), m.end(), "+" + m.group("invite"), "telegram.invite_link", 0.95
            continue
        handle = (m.group("h") or m.group("s")).lower()
        if handle not in _TG_RESERVED:
            yield m.start(), m.end(), handle, "telegram.link", 0.95
    for m in _disguised_links(text, _TG_LINK_DISGUISED, _TG_LINK):
        if (handle := fold_handle(m.group("h"))) and handle.lower() not in _TG_RESERVED:
            yield m.start(), m.end(), handle.lower(), "telegram.link+obfuscated", 0.9
    for start, end, _kw, m, obf in _keyed(text, "telegram", _KEYED_HANDLE):
        if handle := fold_handle(m.group(1)):
            yield start, end, handle.lower(), _rule("telegram.keyed", obf or not m.group(1).isascii()), 0.9
    if "@" in text:
        # a handle match starts at its "@" and holds no other, so matches are tried at each "@"
        for m in filter(None, (_AT_HANDLE.match(text, i) for i in occurrences(text, "@"))):
            if _closest_messenger(text, low, m.start(), m.end()) == "telegram":
                yield m.start(), m.end(), m.group(1).lower(), "telegram.at_handle_in_context", 0.8
    for start, end, value, obf in _keyed_numbers(text, "telegram"):
        yield start, end, value, _rule("telegram.phone", obf), 0.85


# --- whatsapp ---------------------------------------------------------------------------------

_WA_LINK = re.compile(
    r"(?<![\w.])(?:https?://)?(?:(?:api\.|www\.)?wa\.me/\+?(?P<n1>\d{7,15})"
    r"|(?:api|web)\.whatsapp\.com/send/?\?phone=\+?(?P<n2>\d{7,15})"
    r"|chat\.whatsapp\.com/(?:invite/)?(?P<inv>[A-Za-z0-9]{18,24}))(?![A-Za-z0-9])", re.I)
# "wa . me / 15550109999", "wa[.]me/+1 555 010 9999"
_WA_LINK_DISGUISED = re.compile(
    rf"(?<![\w.'’@/-])(?:https?{SP}:{SP}/{SP}/{SP})?wa{DOT}(?P<me>me){SLASH}"
    r"(?P<n>\+?\d(?:[ .\-]?\d){6,14})(?!\d)", re.I)


@signal("whatsapp", needles=("wa.me", "whatsapp", "whats", "wats", "wapp", "wa", "вотсап", "ватсап", "вацап"))
def find_whatsapp(text: str) -> Iterator[Hit]:
    low = lowered(text)
    links = _WA_LINK.finditer(text) if ("wa.me/" in low or "whatsapp.com/" in low) else ()
    for m in links:
        if m.group("inv"):
            yield m.start(), m.end(), "chat:" + m.group("inv"), "whatsapp.invite_link", 0.95
        elif value := e164(m.group("n1") or m.group("n2")):
            yield m.start(), m.end(), value, "whatsapp.link", 0.95
    for m in _disguised_links(text, _WA_LINK_DISGUISED, _WA_LINK):
        if value := e164(re.sub(r"\D", "", m.group("n"))):
            yield m.start(), m.end(), value, "whatsapp.link+obfuscated", 0.9
    for start, end, value, obf in _keyed_numbers(text, "whatsapp"):
        yield start, end, value, _rule("whatsapp.keyed", obf), 0.9


# --- signal, wickr, threema, session, wechat ----------------------------------------------------

_SIGNAL_USER = re.compile(r"(?<![\w.])@?([A-Za-z][A-Za-z0-9_]{2,31}\.\d{2,9})(?![\w.])")
_SIGNAL_LINK = re.compile(r"(?<![\w.])(?:https?://)?signal\.me/#(?:p/(?P<p>\+?\d{7,15})|(?P<u>eu|u)/"
                          r"(?P<tok>[A-Za-z0-9_\-]{8,120}))", re.I)


@signal("signal_messenger", needles=("signal",))
def find_signal(text: str) -> Iterator[Hit]:
    for m in _SIGNAL_LINK.finditer(text):
        if m.group("p"):
            if value := e164(m.group("p").lstrip("+")):
                yield m.start(), m.end(), value, "signal.link", 0.95
        else:
            yield m.start(), m.end(), "link:" + m.group("tok"), "signal.username_link", 0.9
    for start, end, value, obf in _keyed_numbers(text, "signal_messenger"):
        yield start, end, value, _rule("signal.keyed_phone", obf), 0.85
    for start, end, _kw, m, obf in _keyed(text, "signal_messenger", _SIGNAL_USER):
        yield m.start(1), m.end(1), m.group(1).lower(), _rule("signal.keyed_username", obf), 0.85


_WICKR_ID = re.compile(r"@?([A-Za-z0-9][A-Za-z0-9._-]{3,30}[A-Za-z0-9_])(?![A-Za-z0-9._-]*[A-Za-z0-9_@])"
                       .replace("A-Za-z", "A-Za-z" + HANDLE_LOOKALIKES))   # "xаnplug88": see fold_handle


@signal("wickr", needles=("wickr",))
def find_wickr(text: str) -> Iterator[Hit]:
    for start, end, _kw, m, obf in _keyed(text, "wickr", _WICKR_ID):
        value = fold_handle(m.group(1))
        if value and not _LABEL_WORD.fullmatch(value):
            yield m.start(1), m.end(1), value.lower(), _rule("wickr.keyed", obf or value != m.group(1)), 0.9


_LABEL_WORD = re.compile(rf"{_LABEL}|me|only|contact|please|is|at", re.I)
_THREEMA_ID = re.compile(r"(?<![A-Za-z0-9*])([A-Za-z0-9*][A-Za-z0-9]{7})(?![A-Za-z0-9])")
_THREEMA_LINK = re.compile(r"(?<![\w.])(?:https?://)?threema\.id/([A-Za-z0-9*][A-Za-z0-9]{7})(?![A-Za-z0-9])",
                           re.I)


@signal("threema", needles=("threema",))
def find_threema(text: str) -> Iterator[Hit]:
    for m in _THREEMA_LINK.finditer(text):
        yield m.start(), m.end(), m.group(1).upper(), "threema.link", 0.95
    for start, end, _kw, m, obf in _keyed(text, "threema", _THREEMA_ID):
        ident = m.group(1)
        # IDs are random uppercase+digits; a lowercase word ("threema contact") is prose
        if ident.isupper() or ident.isdigit() or any(c.isdigit() for c in ident):
            yield start, end, ident.upper(), _rule("threema.keyed", obf), 0.85


_SESSION_ID = re.compile(r"(?<![0-9A-Za-z])05[0-9a-fA-F]{64}(?![0-9A-Za-z])")


_HEX66 = b"h" * 66


@signal("session", needles=("05",))
def find_session(text: str) -> Iterator[Hit]:
    if _HEX66 not in hex_view(text):
        return                            # a Session ID is a run of 66 hex digits
    low = lowered(text)
    for m in _SESSION_ID.finditer(text):
        ctx = _KW["session"].search(text, low, max(0, m.start() - 40), m.start())
        yield m.start(), m.end(), m.group().lower(), "session.id", 0.95 if ctx else 0.85


_WECHAT_ID = re.compile(r"(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_-]{5,19})(?![A-Za-z0-9_-])")


@signal("wechat", needles=("wechat", "we chat", "weixin", "wx", "vx", "v信", "微信", "薇信", "威信"))
def find_wechat(text: str) -> Iterator[Hit]:
    seen = set()
    for start, end, value, obf in _keyed_numbers(text, "wechat"):
        seen.add(start)
        yield start, end, value, _rule("wechat.phone", obf), 0.85
    for start, end, _kw, m, obf in _keyed(text, "wechat", _CN_MOBILE_OR_ID):
        if start in seen:
            continue
        if m.group("cn"):
            yield start, end, "+86" + m.group("cn"), _rule("wechat.cn_mobile", obf), 0.85
        elif not _LABEL_WORD.fullmatch(m.group("id")):
            yield start, end, m.group("id").lower(), _rule("wechat.id", obf), 0.85


_CN_MOBILE_OR_ID = re.compile(r"(?<![0-9])(?P<cn>1[3-9]\d{9})(?![0-9])|" + _WECHAT_ID.pattern.replace(
    "([A-Za-z]", "(?P<id>[A-Za-z]", 1))


# --- disguised names the plain needles miss ----------------------------------------------------

def _when_disguised(type_: str, finder, links: bool) -> None:
    """Register `finder` again, run only where its needles miss but a disguised name (or link) may be
    there ("t e l e g r a m: x" has no "telegr"); where the needles hit, the plain entry runs."""
    needles = next(ex.needles for ex in _REGISTRY if ex.find is finder)

    @signal(type_)
    def find_disguised(text: str) -> Iterable[Hit]:
        if ((type_ in _disguise_kinds(text) or links and _me_slashes(text))
                and not contains_any(lowered(text), needles)):
            return finder(text)
        return ()                          # not a generator: this runs for every field


for _type, _finder in (("telegram", find_telegram), ("whatsapp", find_whatsapp), ("wickr", find_wickr),
                       ("signal_messenger", find_signal)):
    _when_disguised(_type, _finder, links=_type in ("telegram", "whatsapp"))


# --- email ------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9_%+\-](?:[A-Za-z0-9._%+\-]{0,62}[A-Za-z0-9_%+\-])?)@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24})(?![A-Za-z0-9-])")
_EMAIL_OBF = re.compile(
    r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9._%+\-]{1,64})\s?[\[({]\s?at\s?[\])}]\s?"
    r"([A-Za-z0-9-]{1,63})\s?(?:[\[({]\s?dot\s?[\])}]|\.)\s?([A-Za-z]{2,24})(?![A-Za-z0-9])", re.I)
_NOT_TLD = frozenset({"png", "jpg", "jpeg", "gif", "webp", "svg", "css", "js", "ico", "bmp"})


_LOCAL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")


def _email_matches(text: str) -> Iterator[re.Match]:
    """What `_EMAIL.finditer(text)` yields, found from each "@". The local part is 1-64 characters of
    a class without "@" and must not follow one of them, so the only possible start for a given
    "@" is the start of the run of local-part characters just before it."""
    end = 0
    for at in occurrences(text, "@"):
        if at < end:
            continue
        start, floor = at, max(end, at - 65)
        while start > floor and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        if start == at or (start > 0 and text[start - 1] in _LOCAL_CHARS):
            continue                 # no local part, or a run too long / reaching into the last match
        if m := _EMAIL.match(text, start):
            yield m
            end = m.end()


# every _EMAIL_OBF match has an opening bracket, optional space, "at" (only ASCII folds to a/t)
_OBF_GATE = re.compile(r"[\[({]\s?at\s?[\])}]", re.I)


@signal("email", needles=("@", "at]", "at)", "at}"))
def find_email(text: str) -> Iterator[Hit]:
    if "@" in text:
        for m in _email_matches(text):
            domain = m.group(2).lower()
            if domain.rsplit(".", 1)[1] not in _NOT_TLD:
                yield m.start(), m.end(), f"{m.group(1).lower()}@{domain}", "email.address", 0.9
    for m in (_EMAIL_OBF.finditer(text) if _OBF_GATE.search(text) else ()):
        yield (m.start(), m.end(), f"{m.group(1).lower()}@{m.group(2).lower()}.{m.group(3).lower()}",
               "email.obfuscated", 0.8)
