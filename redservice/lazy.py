"""A module imported on first use: ``pd = lazy.module("pandas")`` in a module that only uses pandas
inside its functions lets a process that never calls them (``python -m redservice build``, which
reads the store's settings through approval, quality and scorecard) run without loading it (pandas
with numpy and pyarrow is about 90 MB of a process)."""

from __future__ import annotations

import importlib
from types import ModuleType


class _Lazy(ModuleType):
    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_lazy_module"] = None

    def _load(self) -> ModuleType:
        if self.__dict__["_lazy_module"] is None:
            self.__dict__["_lazy_module"] = importlib.import_module(self.__name__)
        return self.__dict__["_lazy_module"]

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)

    def __dir__(self):
        return dir(self._load())


def module(name: str) -> ModuleType:
    """``name``, imported when one of its attributes is first read."""
    return _Lazy(name)
