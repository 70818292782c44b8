"""Connection URLs as they may be shown: the password masked.

Here, not in the PostGIS sink, so that the config (which masks the URL when it is
written to a manifest) does not import the database code.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit, urlunsplit

#: ``password=...`` in a key=value string or a URL's query: plain or single-quoted
#: (libpq allows spaces around ``=`` and quotes values with spaces, ``\'`` escaping);
#: an unquoted value runs on to the next ``key=`` (a password with a space, unquoted, is
#: a broken string the driver may quote back: all of it is masked)
_KEY_VALUE = re.compile(
    r"(password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&']+(?:\s+(?![\w.]+\s*=)[^\s&']+)*)",
    re.IGNORECASE,
)
#: a URL's user info ``scheme://user:password@``, for text urlsplit cannot parse
_USERINFO = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def mask_url(url: str | None) -> str | None:
    """The URL with its password replaced by ``***`` (for logs and manifests).

    Parameters
    ----------
    url : str or None
        A libpq URL (``postgresql://user:pw@host/db``, also ``?password=pw``) or
        key=value string (``host=db password=pw``, ``password = 'p w'``).

    Returns
    -------
    str or None
        The same text with the password masked; ``None`` / empty unchanged.
    """
    if not url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL urlsplit understands (e.g. a broken IPv6 host)
        parts, password = None, None
    if parts is not None and password is not None:
        netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
        url = urlunsplit(parts._replace(netloc=netloc))
    else:
        url = _USERINFO.sub(r"\1***@", url)
    return _KEY_VALUE.sub(r"\1***", url)


def passwords_in(url: str | None) -> list[str]:
    """Every password written in ``url`` (as written, percent-decoded and unquoted)."""
    if not url:
        return []
    found: list[str] = []
    try:
        pw = urlsplit(url).password
    except ValueError:
        pw = None
    if pw is None:
        m = _USERINFO.search(url)
        pw = m.group(0)[len(m.group(1)) : -1] if m else None
    if pw:
        found += [pw, unquote(pw)]
    for m in _KEY_VALUE.finditer(url):
        v = m.group(2)
        found += [v, unquote(v)]
        if v.startswith("'"):
            inner = v[1:-1] if v.endswith("'") and len(v) > 1 else v[1:]
            found += [inner, inner.replace("\\'", "'").replace("\\\\", "\\")]
    return sorted({p for p in found if p}, key=len, reverse=True)


def scrub(text: str, url: str | None) -> str:
    """``text`` (an error message) with every password of ``url`` replaced by ``***``.

    A database driver may echo part of a connection string it cannot parse; this
    keeps the password out of what is printed, whatever the driver said.
    """
    words = set()
    for pw in passwords_in(url):
        text = text.replace(pw, "***")
        words |= {w for w in re.split(r"[\s']+", pw) if len(w) >= 2}
    for w in sorted(words, key=len, reverse=True):  # pieces a parse error quotes back
        text = re.sub(rf"(?<!\w){re.escape(w)}(?!\w)", "***", text)
    return _KEY_VALUE.sub(r"\1***", text)
