"""Server-side images of Plotly figures (PNG, PDF) with kaleido and the system's Chromium.

Nothing is fetched from any network: plotly.js comes from the installed plotly package and MathJax
(which kaleido would otherwise load from a CDN) is switched off. Every failure becomes a
``RenderError`` whose message says, in the viewer's language, what to do — a page shows it and
the CLI prints it; neither shows a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import shutil

from redservice.i18n import t

FORMATS = ("png", "pdf")
TIMEOUT_S = 90  # per image, inside Chromium
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
log = logging.getLogger(__name__)


class RenderError(Exception):
    """An image could not be made; the message is meant for the user."""


def browser_path() -> str | None:
    """The Chromium (or Chrome) kaleido will drive: $BROWSER_PATH when set, else one on the PATH."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.path.isfile(explicit) and os.access(explicit, os.X_OK) else None
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


async def _render(fig_dict: dict, jobs: list[dict], path: str) -> list[bytes]:
    import kaleido

    # one browser for all the images asked for: starting Chromium is most of the time
    async with kaleido.Kaleido(n=1, timeout=TIMEOUT_S, mathjax=False, path=path) as k:
        return [await k.calc_fig(fig_dict, opts=opts) for opts in jobs]


def render(fig, formats=FORMATS, width: int | None = None, height: int | None = None, scale: float = 2,
           lang: str = "zh") -> dict[str, bytes]:
    """{format: bytes} for each of ``formats`` ("png", "pdf"); the size defaults to the figure's
    layout width and height. PNGs are drawn at ``scale``; PDFs at scale 1 (vector, page = figure)."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown image formats {unknown}; use {FORMATS}")
    path = browser_path()
    if path is None:
        raise RenderError(t("render.no_browser", lang))
    try:
        import kaleido  # noqa: F401
    except ImportError as exc:
        raise RenderError(t("render.no_kaleido", lang)) from exc
    for name in ("choreographer", "kaleido", "logistro"):  # their own tracebacks: we log failures below
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.CRITICAL)
    fig_dict = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig)
    layout = fig_dict.get("layout", {})
    w, h = width or layout.get("width") or 1123, height or layout.get("height") or 794
    jobs = [{"format": f, "width": w, "height": h, "scale": scale if f == "png" else 1} for f in formats]
    try:
        # in a thread of its own: the caller may already run an event loop (Streamlit, Jupyter)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            images = pool.submit(asyncio.run, _render(fig_dict, jobs, path)).result(timeout=TIMEOUT_S * 3)
    except Exception as exc:  # Chromium failed to start, crashed, timed out, or plotly.js threw
        log.exception("rendering the figure failed")
        name = type(exc).__name__
        key = "render.timeout" if isinstance(exc, (TimeoutError, concurrent.futures.TimeoutError)) \
            else "render.failed"
        raise RenderError(t(key, lang, browser=path, error=name)) from exc
    return dict(zip(formats, images))
