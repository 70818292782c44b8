"""Ookla speed tests: how sure are we that a place meets a download-speed threshold?

Ookla's open tiles give per tile the mean download speed and the number of tests
(and devices); the engine keeps the *test-weighted* mean per cell and village
(``download_mbps``, an intensive variable weighted by ``speedtest_tests``). A mean
of 12 Mbps from 3 tests says much less than one from 300.

Model (documented assumption, ``[selection.speed]``): single tests in a place are
lognormal, ``ln(speed) ~ Normal(mu, sigma^2)`` with a known spread ``sigma``
(``log_sd``, default 1.0: a typical test lies within x/÷ e = 2.7 of the median,
usual for fixed-broadband plans from 5 to 100 Mbps). The place's true mean speed
is ``exp(mu + sigma^2 / 2)``; with a flat prior on ``mu``, ``n`` tests and the
observed mean ``m`` (plug-in ``mu_hat = ln m - sigma^2 / 2``, standard error
``sigma / sqrt(n)``), the posterior probability that the true mean meets ``T`` is

    P(mean >= T) = Phi( sqrt(n) * ln(m / T) / sigma )

and the 95 % interval of the mean is ``m x/÷ exp(1.96 sigma / sqrt(n))``. Tests from
one device are correlated, so ``effective_n = "devices"`` uses the device count
as ``n`` (more cautious). Places with fewer than ``min_tests`` tests are flagged;
places with no tests get no probability (unknown, never a pass).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import ndtr

from despro.config.settings import Config, SpeedConfig

DEFAULT_THRESHOLD_MBPS = 10.0


def threshold_mbps(config: Config, speed: SpeedConfig | None = None) -> float:
    """The speed threshold (Mbps): ``selection.speed.threshold_mbps``, else the
    threshold of the rule on ``download_mbps`` (X1), else 10 Mbps."""
    speed = speed or config.selection.speed
    if speed.threshold_mbps is not None:
        return float(speed.threshold_mbps)
    for r in config.criteria.rules:
        if r.variable == "download_mbps" and r.op in (">=", ">"):
            return float(r.threshold)
    return DEFAULT_THRESHOLD_MBPS


def p_meets(mean_mbps: ArrayLike, n: ArrayLike, threshold: float, log_sd: float) -> np.ndarray:
    """Probability (0-1) that the true mean download speed is >= ``threshold`` Mbps.

    NaN where the mean is unknown or there are no tests.
    """
    m = np.asarray(mean_mbps, float)
    n = np.asarray(n, float)
    ok = (m > 0) & (n > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.sqrt(n) * np.log(m / threshold) / log_sd
    return np.where(ok, ndtr(z), np.nan)


def speed_uncertainty(frame: pd.DataFrame, threshold: float, speed: SpeedConfig) -> pd.DataFrame:
    """Per row (village or cell): mean, tests, 95 % interval, probability, few-tests flag.

    Parameters
    ----------
    frame : DataFrame
        With ``download_mbps`` and ``speedtest_tests`` (and ``speedtest_devices`` when
        ``speed.effective_n == "devices"``).
    threshold : float
        Mbps.
    speed : SpeedConfig

    Returns
    -------
    DataFrame with ``download_mbps, speed_n`` (tests or devices), ``download_ci95_low_mbps,
    download_ci95_high_mbps, p_download_meets`` (0-1, NaN unknown) and ``few_speed_tests``.
    """
    col = "speedtest_devices" if speed.effective_n == "devices" else "speedtest_tests"
    m = (
        frame["download_mbps"].to_numpy(float)
        if "download_mbps" in frame
        else np.full(len(frame), np.nan)
    )
    n = frame[col].to_numpy(float) if col in frame else np.full(len(frame), np.nan)
    has = (n > 0) & (m > 0)
    # a cell with a sliver of one test has a huge interval: inf, not a warning
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        half = np.exp(1.96 * speed.log_sd / np.sqrt(np.where(has, n, np.nan)))
    return pd.DataFrame(
        {
            "download_mbps": m,
            "speed_n": n,
            "download_ci95_low_mbps": np.where(has, m / half, np.nan),
            "download_ci95_high_mbps": np.where(has, m * half, np.nan),
            "p_download_meets": p_meets(m, n, threshold, speed.log_sd),
            "few_speed_tests": ~(np.nan_to_num(n) >= speed.min_tests),
        },
        index=frame.index,
    )
