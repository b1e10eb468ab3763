"""Helpers shared by the tests."""
import re


def whole_word(name: str) -> str:
    """Regex matching ``name`` as a whole word (``'d'`` matches "d must be ..." but not "dtype" or "draws")."""
    return rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])"
