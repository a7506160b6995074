"""The pages' main choices (a task, a target, an algorithm and its settings, a column) kept in the session as plain
values: Streamlit forgets a widget's value when its page is left, and a refresh starts a new session. A page starts
a widget from what was chosen there last (`last_choice`, `last_index`) and records what is chosen now (`remember`);
the workspace keeps the choices with the rest of the work."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import streamlit as st

CHOICES_KEY = "page_choices"  # by widget key: texts, numbers, true/false
T = TypeVar("T")


def choices() -> dict[str, Any]:
    return st.session_state.setdefault(CHOICES_KEY, {})


def last_choice(key: str, default: T, allowed: Callable[[Any], bool]) -> T:
    """What was chosen last in the widget `key` where it is still `allowed`, else `default`."""
    chosen = choices().get(key, default)
    return chosen if allowed(chosen) else default


def last_index(key: str, options: Sequence[Any], default: Any = None) -> int:
    """Where a selectbox or radio `key` over `options` starts: the option chosen there last where it is still
    offered, else `default` where offered, else the first."""
    offered = list(options)
    for wanted in (choices().get(key), default):
        if wanted is not None and wanted in offered:
            return offered.index(wanted)
    return 0


def remember(key: str, value: T) -> T:
    """Record what is chosen in the widget `key` now; returns it."""
    choices()[key] = value
    return value
