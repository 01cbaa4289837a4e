"""Credentials written inside URLs (`http://user:pass@host`, `postgresql://app:secret@db/x`) masked wherever
text leaves the process: log lines, `config check`, error lines on the terminal.

One function for every place, because such URLs reach output by routes nobody chose: httpx logs each request
URL at INFO, and error messages quote the URL that failed.
"""

from __future__ import annotations

import re

MASK = "•••"

# scheme://userinfo@ — the userinfo runs to the authority's last "@" (passwords with a raw "@" happen).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s?#]+)@")


def _masked(m: re.Match[str]) -> str:
    user, colon, _password = m.group("userinfo").partition(":")
    if not colon:
        return m.group(0)  # a user name alone ("postgresql://paperboy@db/x") is no secret, and helps an operator
    return f"{m.group('scheme')}{user}:{MASK}@"


def mask_url_credentials(text: str) -> str:
    return _URL_USERINFO.sub(_masked, text)
