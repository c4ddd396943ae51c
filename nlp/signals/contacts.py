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
- phone numbers: nlp/signals/phones.py; email: nlp/signals/email.py.
- disguises (see disguise.py): split, leet or look-alike messenger names ("t e l e g r a m", "sig nal",
  "wh@tsapp"), "(at)"/"[at]"/" @ " before the value, and "t . me / x", "t[.]me/x", "wa(dot)me/..."
  links give the same value as the plain form; the rule gains "+obfuscated" so reviewers see it.
"""
from __future__ import annotations

import re
from itertools import islice
from typing import Iterable, Iterator

from . import Hit, finders, signal
from .phones import _BARE, _INTL, _numbers, e164
from .windows import LETTERS, Words, contains_any, hex_view, lowered, occurrences, per_text
from .disguise import DOT, HANDLE_LOOKALIKES, SLASH, SP, disguised, fold_handle, may_be_disguised, squash, squashed

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
    needles = next(ex.needles for ex in finders.get_all().values() if ex.find is finder)

    @signal(type_, name=f"{type_}.disguised")
    def find_disguised(text: str) -> Iterable[Hit]:
        if ((type_ in _disguise_kinds(text) or links and _me_slashes(text))
                and not contains_any(lowered(text), needles)):
            return finder(text)
        return ()                          # not a generator: this runs for every field


for _type, _finder in (("telegram", find_telegram), ("whatsapp", find_whatsapp), ("wickr", find_wickr),
                       ("signal_messenger", find_signal)):
    _when_disguised(_type, _finder, links=_type in ("telegram", "whatsapp"))
