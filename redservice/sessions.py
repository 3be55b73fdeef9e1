"""Closing the sessions Streamlit forgets.

When a browser tab goes away, Streamlit keeps its session for ``server.disconnectedSessionTTL``
seconds (2 minutes) in case the tab reconnects. When that time is up the session is dropped from
its reconnect storage without being shut down (streamlit#12506, still so in the pinned 1.67): its
uploaded files, session state and media stay in the server's memory for as long as it runs. One
30 MB upload on 数据管理 left the server 60–90 MB larger for good.

``install()`` gives the reconnect storage Streamlit's own ``TTLCleanupCache``, which calls a hook
for every entry it lets go (expired or evicted, not when a tab reconnects), and the hook shuts the
session down: ``AppSession.shutdown`` removes its uploaded files and media, stops its script and
clears its caches. The hook then empties the session's state, because a shut-down session can stay
referenced: the runtime's main loop keeps its loop variable (``for active_session_info in …``)
pointing at the last session that was active until another tab connects. Through that state
(widget metadata → a page's ``format_func`` → the page's globals) the last upload's files, the
report and its frames stayed in memory (about 60 MB after one 29 MB upload). After a sweep that let
sessions go, the freed memory is handed back to the system (``gc.collect`` and glibc's
``malloc_trim``), so the server's RSS comes back down instead of staying at its peak. And glibc's
mmap threshold is fixed at 1 MB (``mallopt``): by default it rises to the size of the largest block
freed (up to 32 MB), after which a 29 MB upload, its pickled copy for the check's child process and
the parsed report are carved out of the heap and fragment it, and ``malloc_trim`` gets little
back; with the threshold fixed every such block is its own mapping, returned whole when freed.
Measured with ``python -m redservice.upload_memory`` (docs/import.md).

A sweep on the server's event loop expires entries even when no other tab connects or
disconnects. These are Streamlit internals: if they are not where this module expects them,
``install`` logs a warning and changes nothing (tests/test_sessions.py fails on such a Streamlit).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import threading

_LOG = logging.getLogger(__name__)
_lock = threading.Lock()
_installed_on: set[int] = set()  # id() of the runtimes already done (AppTest makes several)
_released = threading.Event()  # sessions were let go since the last sweep: give memory back


def _forget_state(session) -> None:
    """Empty a shut-down session's state (session_state, widget values and widget metadata), so
    that nothing a page put there outlives the session through a stray reference to it."""
    state = getattr(session, "_session_state", None)
    if state is None:
        return
    state.clear()
    widgets = getattr(state, "_new_widget_state", None)
    for part in (getattr(widgets, "widget_metadata", None), getattr(widgets, "states", None),
                 getattr(state, "_old_state", None)):
        if isinstance(part, dict):
            part.clear()


def _release(info) -> None:
    session = getattr(info, "session", None)
    if session is not None:
        try:
            session.shutdown()
            _forget_state(session)
        except Exception:  # a session half shut down already must not stop the sweep
            _LOG.exception("could not shut down an expired session")
        _released.set()


@functools.cache
def _glibc(name: str, argtypes: tuple):
    """glibc's function ``name`` with its argument types set, or None on another C library."""
    library = ctypes.util.find_library("c")
    try:
        function = getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None
    if function is not None:
        function.argtypes, function.restype = list(argtypes), ctypes.c_int
    return function


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 1 << 20


@functools.lru_cache(maxsize=1)
def fix_mmap_threshold() -> bool:
    """Serve every allocation of 1 MB or more with its own mapping (glibc only; once)."""
    mallopt = _glibc("mallopt", (ctypes.c_int, ctypes.c_int))
    return mallopt is not None and mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


def give_back_memory() -> None:
    """Collect cycles and hand the C heap's free pages back to the system (glibc only)."""
    gc.collect()
    trim = _glibc("malloc_trim", (ctypes.c_size_t,))
    if trim is not None:
        trim(0)


def guard(storage, timer=None):
    """Replace ``storage``'s TTL cache (a ``MemorySessionStorage``) by one that shuts its expired
    sessions down; returns the new cache, or None when the storage is not as expected."""
    from streamlit.runtime.caching.ttl_cache import TTLCache
    from streamlit.runtime.caching.ttl_cleanup_cache import TTLCleanupCache

    cache = getattr(storage, "_cache", None)
    if isinstance(cache, TTLCleanupCache):
        return cache
    if not isinstance(cache, TTLCache):
        return None
    guarded = TTLCleanupCache(maxsize=cache.maxsize, ttl=cache.ttl, timer=timer or cache.timer,
                              on_release=_release)
    for key, value in list(cache.items()):
        guarded[key] = value
    storage._cache = guarded
    return guarded


def install() -> bool:
    """Guard the running server's reconnect storage and sweep it periodically (once per server).
    Returns whether the guard is in place."""
    from streamlit import config
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return False
    fix_mmap_threshold()
    runtime = Runtime.instance()
    with _lock:
        if id(runtime) in _installed_on:
            return True
        from streamlit.runtime.caching.ttl_cache import TTLCache

        storage = getattr(getattr(runtime, "_session_mgr", None), "_session_storage", None)
        try:
            loop = runtime._get_async_objs().eventloop
        except (AttributeError, RuntimeError):
            loop = None
        if loop is None or not isinstance(getattr(storage, "_cache", None), TTLCache):
            _LOG.warning("Streamlit's session storage is not as expected: expired sessions are not shut down")
            return False
        _installed_on.add(id(runtime))
    every = min(30.0, max(1.0, float(config.get_option("server.disconnectedSessionTTL")) / 4))

    def sweep() -> None:  # on the event loop, where Streamlit itself touches the storage
        cache = guard(storage)  # the first sweep puts the guard in place
        if cache is not None:
            cache.expire()
        if _released.is_set():
            _released.clear()
            give_back_memory()
        if not loop.is_closed():
            loop.call_later(every, sweep)

    loop.call_soon_threadsafe(sweep)
    return True
