"""Text values: realistic-ish words by column-name hint, with the characters that break naive CSV
handling (commas, doubled quotes, embedded newlines, non-ASCII, emoji), and over-long values."""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable
from random import Random

from . import vocab


def _word(rng: Random) -> str:
    r = rng.random()
    if r < 0.06:
        return rng.choice(vocab.ACCENTED)
    if r < 0.08:
        return rng.choice(vocab.EMOJI)
    return rng.choice(vocab.WORDS)


def free_text(rng: Random, low: int, high: int) -> str:
    words = [_word(rng) for _ in range(rng.randint(low, high))]
    out = words[0].capitalize()
    for word in words[1:]:
        r = rng.random()
        sep = ", " if r < 0.08 else ("\n" if r < 0.11 else " ")
        out += sep + (f'"{word}"' if rng.random() < 0.04 else word)
    return out


def long_text(rng: Random, length: int) -> str:
    """Text of exactly `length` characters (sentences with the usual tricky characters)."""
    sentences = [free_text(rng, 6, 14) + ". " for _ in range(4)]
    parts, size, n = [], 0, 0
    while size < length:  # reuse a few sentences (cheap), numbered so the text does not repeat
        n += 1
        part = f"{n}) {sentences[n % 4]}"
        parts.append(part)
        size += len(part)
    text = "".join(parts)[:length]
    return text[:-1] + "x" if text[-1].isspace() else text


def _person(rng: Random) -> str:
    return f"{rng.choice(vocab.FIRST)} {rng.choice(vocab.LAST)}"


def _email(rng: Random) -> str:
    first, last = rng.choice(vocab.FIRST), rng.choice(vocab.LAST)
    local = re.sub(r"[^a-z]", "", f"{first}.{last}".lower().encode("ascii", "ignore").decode()) or "guest"
    return f"{local}{rng.randrange(1000)}@{rng.choice(vocab.DOMAINS)}"


def _code(rng: Random) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 10)))


def _measure(rng: Random) -> str:
    feet = rng.randint(6, 80)
    r = rng.random()
    if r < 0.5:
        return f"{feet}.{rng.randrange(10)}"
    if r < 0.8:
        return f"{feet}' {rng.randrange(12)}\""
    return f"{feet} ft"


def _guid(rng: Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _clock(rng: Random) -> str:
    return f"{rng.randint(1, 12)}:{rng.choice(('00', '15', '30', '45'))} {rng.choice(('AM', 'PM'))}"


# (pattern on the column name, generator); first match wins.
TEXT_HINTS: tuple[tuple[str, Callable[[Random], str]], ...] = (
    (r"EMAIL", _email),
    (r"PHONE|FAX|CELL", lambda r: f"({r.randint(200, 989)}) {r.randint(200, 999)}-{r.randint(0, 9999):04d}"),
    (r"FIRST_NAME|MIDDLE_NAME", lambda r: r.choice(vocab.FIRST)),
    (r"LAST_NAME", lambda r: r.choice(vocab.LAST)),
    (
        r"CUSTOMER_NAME|CC_SAVED_NAME|EMERGENCY_NAME|LISTED_INDIVIDUAL|^OWNER$|AGENT_NAME|CONTACT_NAME|"
        r"DEALER_NAME|CARDHOLDER",
        _person,
    ),
    (r"CITY", lambda r: r.choice(vocab.CITIES)),
    (r"STATE$|_STATE\b", lambda r: r.choice(vocab.STATES)),
    (r"ZIP", lambda r: f"{r.randrange(100000):05d}"),
    (r"COUNTRY", lambda r: r.choice(vocab.COUNTRIES)),
    (r"HASH", lambda r: f"{r.getrandbits(128):032x}"),
    (r"URL|LINK|WEBSITE|PHOTO|IMAGE|ICON|PDF|^MAP$", lambda r: f"https://{r.choice(vocab.DOMAINS)}/{_code(r).lower()}"),
    (r"TIME_ZONE", lambda r: r.choice(vocab.TIME_ZONES)),
    (r"ARRIVAL_TIME|DEPARTURE_TIME|WAIT_LIST_TIME", _clock),
    (r"DATE|BIRTH", lambda r: (dt.date(1945, 1, 1) + dt.timedelta(days=r.randrange(22000))).isoformat()),
    (r"ASPNET|_USER_ID$|USER$|^TERMS_USER", _guid),
    (
        r"NOTE|DESCRIPTION|_TEXT|TERMS|POLICY|RULES|GUIDE|REASON|INSTRUCTIONS|MISC|DETAILS|AUX|"
        r"PLACEHOLDER|COMPLETION|EQUIPMENT|TICKET|DAYS$|TIMES$|STYLES$|ACCESSORIES$|OPTIONS",
        lambda r: free_text(r, 2, 14),
    ),
    (
        r"LOA|BEAM|DRAFT|LENGTH|WIDTH|HEIGHT|MAST|DISPLACEMENT|OUTPUT|^HP$|CYLINDERS|TIRE|BALL|"
        r"CAPACITY",
        _measure,
    ),
    (
        r"CODE|SKU|NUMBER|_ID$|_NO$|LAST4|TRACKING|BARCODE|SERIAL|REFERENCE|PREFIX|SUFFIX|SYMBOL|"
        r"EXPIRY|KEY|CRYPTOGRAM|RESULTS|INFORMATION",
        _code,
    ),
    (
        r"STATUS|TYPE|METHOD|SOURCE|PREFERENCE|UNIT|GENDER|FUNDING|BRAND|PROVIDER|MAKE|MODEL|"
        r"MANUFACTURER|MOTOR|MEDIUM|DEVICE|ACCOUNT|GROUP|CATEGORY|PAYMENT|FOR$|SERVICES|KIDS|REFERRER",
        lambda r: r.choice(vocab.KINDS),
    ),
    (r"NAME|TITLE", lambda r: free_text(r, 1, 4)),
)
_COMPILED = tuple((re.compile(p), g) for p, g in TEXT_HINTS)


def text_generator(name: str) -> Callable[[Random], str]:
    for pattern, gen in _COMPILED:
        if pattern.search(name):
            return gen
    return lambda r: free_text(r, 1, 6)
