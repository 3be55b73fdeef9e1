"""Sessions Streamlit lets go of are shut down (redservice.sessions), and the data page's work runs
in a child process whose failures come back as reasons (redservice.isolation)."""

from __future__ import annotations

import pytest

from redservice import datamgmt, ingest, isolation, sessions


class FakeSession:
    def __init__(self, sid):
        self.id, self.closed = sid, False

    def shutdown(self):
        self.closed = True


class FakeInfo:
    def __init__(self, sid):
        self.session = FakeSession(sid)


def _storage(clock):
    from streamlit.runtime.memory_session_storage import MemorySessionStorage

    storage = MemorySessionStorage(maxsize=2, ttl_seconds=120)
    storage._cache = type(storage._cache)(maxsize=2, ttl=120, timer=lambda: clock[0])
    return storage


def test_expired_and_evicted_sessions_are_shut_down_reconnected_ones_are_not():
    clock = [0.0]
    storage = _storage(clock)
    kept = FakeInfo("kept")
    storage.save(kept)  # saved before the guard: carried over
    cache = sessions.guard(storage)
    assert cache is not None and sessions.guard(storage) is cache  # once
    back, gone = FakeInfo("back"), FakeInfo("gone")
    storage.save(back)
    storage.delete("back")  # the tab reconnected: its session goes on
    clock[0] = 60
    storage.save(gone)
    clock[0] = 121  # "kept" expired, "gone" not yet
    cache.expire()
    assert kept.session.closed and not back.session.closed and not gone.session.closed
    assert storage.get("kept") is None and storage.get("gone") is gone
    extra = [FakeInfo(f"x{i}") for i in range(3)]
    for info in extra:  # more than maxsize: the least recently used is evicted and shut down
        storage.save(info)
    assert gone.session.closed or extra[0].session.closed


def test_a_released_session_keeps_nothing_a_page_put_in_its_state(monkeypatch):
    """The runtime's loop variable keeps the last active session referenced after it went away:
    what its page left in session_state and in widget metadata (a format_func closing over the
    page's globals, which hold the uploads) must be released all the same."""
    import gc
    import weakref

    from streamlit.runtime.state.common import WidgetMetadata
    from streamlit.runtime.state.session_state import SessionState

    class Globals(dict):  # a page's globals: the uploaded files, the report
        pass

    page = Globals(uploads=bytearray(1 << 20))
    alive = weakref.ref(page)
    state = SessionState()
    state["data_batch"] = Globals(rows=page)
    fmt = lambda value, page=page: str(value)  # as a page's format_func
    state._new_widget_state.set_widget_metadata(
        WidgetMetadata(id="table", deserializer=fmt, serializer=fmt, value_type="string_value"))
    stray = FakeInfo("last")  # what the runtime's loop still points at
    stray.session._session_state = state
    del page, fmt
    trims = []
    monkeypatch.setattr(sessions, "give_back_memory", lambda: trims.append(1))
    sessions._release(stray)
    gc.collect()
    assert stray.session.closed and alive() is None
    assert sessions._released.is_set()  # the next sweep gives the memory back
    sessions._released.clear()


def test_memory_is_given_back():
    sessions.give_back_memory()  # glibc: malloc_trim; elsewhere only gc (must not raise)
    import platform

    assert sessions.fix_mmap_threshold() is (platform.libc_ver()[0] == "glibc")


def test_a_storage_of_another_shape_is_left_alone():
    class Other:
        _cache = {}

    assert sessions.guard(Other()) is None
    assert sessions.install() is False  # no server running here


def _dies():
    import os

    os._exit(9)


def _fails():
    raise OSError(28, "No space left on device")


def test_a_child_that_dies_or_fails_is_a_reason(monkeypatch):
    import pathlib

    monkeypatch.setattr(isolation, "ENABLED", True)
    monkeypatch.setenv("PYTHONPATH", str(pathlib.Path(__file__).parent))  # the child imports this file
    with pytest.raises(ingest.ImportFailed) as died:
        isolation.call("test_sessions:_dies")
    assert died.value.kind == "child_died" and "现有数据没有任何改动" in died.value.message()
    with pytest.raises(ingest.ImportFailed) as failed:
        isolation.call("test_sessions:_fails")
    assert failed.value.kind == "no_space"


def test_the_session_keeps_the_report_not_the_rows(demo_copy):
    """2,000 rows of 5,000-character unknown unit names: what the page keeps is the report, its
    quotes bounded, and the rejected rows as one finished workbook."""
    import pickle

    from hostile import long_value_rows

    batch = datamgmt.check(demo_copy, [("long.csv", long_value_rows(2000, 5000))], lang="en")
    assert batch.rejected == 2000 and not batch.states and not batch.sources and not batch.archives
    assert all(not r.rejected_rows for r in batch.reports) and list(batch.rejected_workbooks) == ["en"]
    assert max(len(v) for e in batch.reports[0].errors for v in e.params.values() if isinstance(v, str)) <= 51
    assert len(pickle.dumps(batch)) < 2_000_000  # 30 MB uploaded
    assert datamgmt.rejected_workbook(batch, "en")[:2] == b"PK"

