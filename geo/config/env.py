"""Environment variables despro reads, named once (light: imports nothing of despro)."""

from __future__ import annotations

#: Folder of the caches kept between runs (raster -> cell mappings) when ``[run] cache_dir``
#: is not set, and the download folder of ``despro fetch``
#: (:meth:`despro.config.settings.Config.cache_path`, :func:`despro.io.fetch.default_cache`).
CACHE_ENV = "DESPRO_CACHE"
