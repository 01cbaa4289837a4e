"""Credentials masked wherever text leaves the process: log lines, `config check`, error lines on the terminal,
delivery errors stored for `paperboy digest status`.

One set of rules for every place, because secrets reach output by routes nobody chose: httpx logs each request
URL at INFO, error messages quote the URL that failed, a library quotes a header. `mask_url_credentials` masks
passwords written inside URLs (`http://user:pass@host`, `postgresql://app:secret@db/x`); `mask_secrets` also
masks every credential by its shape (platform tokens, API keys, bearer headers, `api_key=…`), so one that was
never configured here (another install's token) is masked too.
"""

from __future__ import annotations

import re

MASK = "•••"

# scheme://userinfo@ — the userinfo runs to the authority's last "@" (passwords with a raw "@" happen).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s?#]+)@")


def mask_url_credentials(text: str, mask: str = MASK) -> str:
    def masked(m: re.Match[str]) -> str:
        user, colon, _password = m.group("userinfo").partition(":")
        if not colon:
            return m.group(0)  # a user name alone ("postgresql://paperboy@db/x") is no secret, and helps an operator
        return f"{m.group('scheme')}{user}:{mask}@"

    return _URL_USERINFO.sub(masked, text)


_KEYS = r"\w*token|authorization|api[_-]?key|password|passwd|\w*secret"
# Credentials by their shape. A pattern with two groups keeps them ("token=", "Bearer ") so the line still reads.
SECRET_SHAPES = (
    re.compile(r"xox[a-z]-[A-Za-z0-9-]+"),  # Slack bot, user, refresh (xoxe-) … tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),  # Slack app-level tokens
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),  # OpenAI- and Anthropic-style API keys
    # Discord bot tokens: the bot's id in base64 ("MT…" for ids from 1, "OT…" for the 2021 ones from 9), a
    # timestamp, an HMAC
    re.compile(r"\b[MNO][A-Za-z0-9_-]{23,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}"),
    re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}"),  # Authorization header values
    re.compile(r"(?i)\b(bot)(\s+)[A-Za-z0-9._~+/=-]{20,}"),  # Discord's "Bot <token>" header
    # "token=…", "api_key=…", "password:…": always a value. After ": " it may be prose instead ("the bot token:
    # Unauthorized (401)", "Authorization: Bearer …"): a short word of letters alone is left for the reader.
    re.compile(rf"(?i)\b({_KEYS})(\s*=\s*|:)[^\s,;&]+"),
    re.compile(rf"(?i)\b({_KEYS})(\s*:\s+)(?![A-Za-z]{{1,15}}(?:[\s,;&)]|$))[^\s,;&]+"),
)


def mask_secrets(text: str, mask: str = MASK) -> str:
    """Every credential `SECRET_SHAPES` and `mask_url_credentials` know replaced by `mask`."""

    def masked(m: re.Match[str]) -> str:
        return f"{m.group(1)}{m.group(2)}{mask}" if m.lastindex and m.lastindex >= 2 else mask

    for shape in SECRET_SHAPES:
        text = shape.sub(masked, text)
    return mask_url_credentials(text, mask)
