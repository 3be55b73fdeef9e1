"""Running a piece of work in a fresh Python process, so that whatever it allocates is returned to
the system when it ends: the data page's checks and imports (``redservice.datamgmt``) run this way,
and the web server's memory after a 30 MB upload is where it was before.

``call("module:function", *args)`` pickles the arguments to ``python -m redservice.isolation`` on
stdin and reads the result back from stdout. A child can fail in two ways the caller hears about:
the function raised (``ingest.ImportFailed`` crosses back as its kind and parameters; anything else
becomes ``ImportFailed("internal")``), or the process died (killed for memory, a crash):
``ImportFailed("child_died")``. multiprocessing is not used: Streamlit runs each page as the module
``__main__``, which its spawn and forkserver start methods would run again in the child.
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys

from redservice.config import PROJECT_DIR

ENABLED = True  # False: run in this process (tests that inject failures with monkeypatch)


def call(target: str, *args):
    """``target`` ("package.module:function") called with ``args`` in a child process."""
    from redservice.ingest.load import ImportFailed

    module, name = target.split(":")
    if not ENABLED:
        return getattr(importlib.import_module(module), name)(*args)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_DIR), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run([sys.executable, "-m", __name__], input=pickle.dumps((target, args)),
                          capture_output=True, env=env, cwd=os.getcwd())
    try:
        outcome, value = pickle.loads(done.stdout)
    except Exception:
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise ImportFailed("child_died", detail=last[:200]) from None
    if outcome == "failed":
        raise ImportFailed(value[0], **value[1])
    return value


def _main() -> None:
    from redservice.ingest.load import ImportFailed

    target, args = pickle.loads(sys.stdin.buffer.read())
    module, name = target.split(":")
    try:
        result = "ok", getattr(importlib.import_module(module), name)(*args)
    except Exception as exc:  # crosses back as its kind and parameters
        failure = ImportFailed.from_exception(exc)
        result = "failed", (failure.kind, failure.params)
    sys.stdout.buffer.write(pickle.dumps(result))


if __name__ == "__main__":
    _main()
