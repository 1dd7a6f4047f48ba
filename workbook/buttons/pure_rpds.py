"""The part of ``rpds`` (rpds-py) that ``referencing`` and ``jsonschema`` use, in plain Python.

rpds-py is compiled (Rust), and the buttons' bundle (:mod:`workbook.buttons.bundle`) must run
in a Python that has nothing installed: LibreOffice's own, or Pyodide.  The bundle carries
this module as ``rpds`` only for such a Python; wherever rpds-py is installed it comes first
on ``sys.path`` and is used instead.  The maps are immutable copies (a plan's schema has a few
dozen entries, so copying on insert costs nothing); ``tests/test_lite.py`` checks that
``jsonschema`` reports the same errors on plans with this module as with rpds-py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class HashTrieMap(Mapping):
    """An immutable mapping; every change returns a new map."""

    __slots__ = ("_data",)

    def __init__(self, value: Mapping | Iterable = (), **kwds: Any):
        self._data = dict(value, **kwds)

    @classmethod
    def convert(cls, value: Mapping | Iterable) -> HashTrieMap:
        return value if isinstance(value, HashTrieMap) else cls(value)

    @classmethod
    def fromkeys(cls, keys: Iterable, value: Any = None) -> HashTrieMap:
        return cls(dict.fromkeys(keys, value))

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"HashTrieMap({self._data!r})"

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def insert(self, key: Any, val: Any) -> HashTrieMap:
        return HashTrieMap({**self._data, key: val})

    def remove(self, key: Any) -> HashTrieMap:
        if key not in self._data:
            raise KeyError(key)
        return self.discard(key)

    def discard(self, key: Any) -> HashTrieMap:
        return HashTrieMap({k: v for k, v in self._data.items() if k != key})

    def update(self, *args: Mapping | Iterable) -> HashTrieMap:
        data = dict(self._data)
        for arg in args:
            data.update(arg)
        return HashTrieMap(data)


class HashTrieSet(frozenset):
    """An immutable set; every change returns a new set."""

    def insert(self, value: Any) -> HashTrieSet:
        return HashTrieSet(self | {value})

    def discard(self, value: Any) -> HashTrieSet:
        return HashTrieSet(self - {value})

    def remove(self, value: Any) -> HashTrieSet:
        if value not in self:
            raise KeyError(value)
        return self.discard(value)

    def update(self, *args: Iterable) -> HashTrieSet:
        return HashTrieSet(self.union(*args))


class List:
    """An immutable singly linked list (only the front changes)."""

    __slots__ = ("_items",)

    def __init__(self, value: Iterable = (), *more: Any):
        self._items = (value, *more) if more else tuple(value)

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, List) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"List({list(self._items)!r})"

    @property
    def first(self) -> Any:
        return self._items[0]

    @property
    def rest(self) -> List:
        return List(self._items[1:])

    def push_front(self, value: Any) -> List:
        return List((value, *self._items))

    def drop_first(self) -> List:
        return self.rest
