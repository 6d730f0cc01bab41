"""Let hypothesis-jsonschema 0.23 (used by schemathesis) run on current Hypothesis.

hypothesis-jsonschema drives ``hypothesis.internal.conjecture.utils.many`` with the old
``while elements.more():`` protocol; Hypothesis 6.1xx replaced it with
``with many(...) as elements: for _ in elements:``. Every JSON object schema then fails with
``AttributeError: 'many' object has no attribute 'more'``. ``install()`` adds ``more()`` on top
of the new protocol (enter on the first call, advance the iterator, exit when it stops). It does
nothing where ``more`` still exists. Remove once hypothesis-jsonschema catches up.
"""

from __future__ import annotations

from typing import Any

from hypothesis.internal.conjecture import utils as cu


def _more(self: Any) -> bool:
    it = getattr(self, "_compat_iter", None)
    if it is None:
        self.__enter__()
        it = self._compat_iter = iter(self)
    try:
        next(it)
        return True
    except StopIteration:
        self.__exit__(None, None, None)
        return False


def install() -> None:
    if not hasattr(cu.many, "more"):
        cu.many.more = _more  # type: ignore[attr-defined]
