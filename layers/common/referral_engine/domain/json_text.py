"""Reading JSON from outside: any text is either a document or a ValueError, never a crash.

The parsers recurse once per nested array or object, so a body of a few kilobytes of `[[[[...` exceeds
the interpreter's recursion limit: that is refused here as invalid JSON, like any other bad text.
"""

from __future__ import annotations

import json
from typing import Any


class TooDeep(ValueError):
    """JSON nested deeper than the parser can follow."""


def read_json(text: bytes | str, **options: Any) -> Any:
    """`json.loads(text, **options)`; raises ValueError (`TooDeep`, `JSONDecodeError`,
    `UnicodeDecodeError`) for whatever is not a document it can read."""
    try:
        return json.loads(text, **options)
    except RecursionError:
        raise TooDeep("the JSON is nested too deeply") from None
