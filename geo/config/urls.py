"""Connection URLs as they may be shown: the password masked.

Here, not in the PostGIS sink, so that the config (which masks the URL when it is
written to a manifest) does not import the database code.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


def mask_url(url: str | None) -> str | None:
    """The URL with its password replaced by ``***`` (for logs and manifests).

    Parameters
    ----------
    url : str or None
        A libpq URL (``postgresql://user:pw@host/db``) or key=value string
        (``host=db password=pw``).

    Returns
    -------
    str or None
        The same text with the password masked; ``None`` / empty unchanged.
    """
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return re.sub(r"(password=)[^\s&]+", r"\1***", url)
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
