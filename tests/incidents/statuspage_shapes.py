"""Compare our public status API against Atlassian Statuspage's documented example responses.

The examples live in ``tests/incidents/statuspage_examples/`` (one JSON file per endpoint;
``README.md`` there says where each came from). ``assert_same_shape(example, actual)`` walks
both values together and raises ``AssertionError`` naming the JSON path (``$.incidents[0].id``)
of the first difference. Values are never compared, only their shape:

* Objects: the key sets must be equal. Every key of the example must be in ``actual`` and
  ``actual`` must have no other key. Values are then compared key by key, in example order.
* JSON types must match: string, number (``int`` and ``float`` alike, but never ``bool``),
  boolean, array, object, null.
* Arrays: every element of ``actual`` is compared with the *first* element of the example
  array. If the example array is empty, any array passes. One example element pins one
  element shape, so a list that mixes shapes (e.g. component groups, which carry an extra
  ``components`` key, next to plain components) cannot be checked against one example.
* Null in the example stands for "the value is missing for now", so ``actual`` may be null
  or the type the field has elsewhere in Statuspage's documented shape:

  - null or string for keys ending in ``_at``, ``_for``, ``_until`` and for ``start_date``,
    ``group_id`` and ``description``;
  - null or array for ``affected_components`` (the array's elements are not checked);
  - null or any scalar (string, number, boolean) for every other key.

  A non-null example value never accepts null.

``assert_iso8601_with_offset(value)`` checks a time string: it must parse with
``datetime.fromisoformat`` and carry a UTC offset (``Z`` or ``+hh:mm``); naive times and
dates alone fail. Statuspage writes times both as ``...Z`` and as ``...-06:00``.
"""

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent / "statuspage_examples"

_NULLABLE_STRING_SUFFIXES = ("_at", "_for", "_until")
_NULLABLE_STRING_KEYS = frozenset({"start_date", "group_id", "description"})
_NULLABLE_ARRAY_KEYS = frozenset({"affected_components"})
_SCALAR_TYPES = frozenset({"string", "number", "boolean"})
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def load_example(filename: str) -> Any:
    """The documented example response saved as ``statuspage_examples/<filename>``."""
    return json.loads((EXAMPLES_DIR / filename).read_text(encoding="utf-8"))


def json_type(value: object) -> str:
    """The JSON type name of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before the number check: bool is a subclass of int
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a decoded JSON value: {type(value).__name__}")


def _allowed_for_null(key: str | None) -> frozenset[str]:
    """JSON types accepted where the example holds null under ``key``."""
    if key is not None:
        if key.endswith(_NULLABLE_STRING_SUFFIXES) or key in _NULLABLE_STRING_KEYS:
            return frozenset({"null", "string"})
        if key in _NULLABLE_ARRAY_KEYS:
            return frozenset({"null", "array"})
    return frozenset({"null"}) | _SCALAR_TYPES


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _PLAIN_KEY.match(key) else f"{path}[{json.dumps(key)}]"


def _describe(value: object) -> str:
    """``<type> <value>``, the value shortened, for error messages."""
    try:
        kind = json_type(value)
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        kind, text = type(value).__name__, repr(value)
    if kind == "null":
        return kind
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


def assert_same_shape(
    example: object,
    actual: object,
    path: str = "$",
    *,
    key: str | None = None,
    extra: dict[str, frozenset[str]] | None = None,
) -> None:
    """Raise ``AssertionError`` at the first place ``actual`` is not shaped like ``example``.

    ``key`` is the object key the two values sit under (``None`` at the top and for array
    elements); it picks what a null in the example accepts, see the module docstring.
    ``extra``: keys an object may carry beyond the example's (fields of Statuspage's real
    responses that the documented examples predate), each with the JSON types it may have;
    their contents are checked by the caller.
    """
    extra = extra or {}
    expected_type = json_type(example)
    actual_type = json_type(actual)

    if expected_type == "null":
        allowed = _allowed_for_null(key)
        if actual_type not in allowed:
            raise AssertionError(
                f"{path}: example is null, which here allows {' or '.join(sorted(allowed))}; "
                f"got {_describe(actual)}"
            )
        return

    if actual_type != expected_type:
        raise AssertionError(f"{path}: expected {expected_type}, got {_describe(actual)}")

    if isinstance(example, dict):
        assert isinstance(actual, dict)
        missing = [name for name in example if name not in actual]
        unexpected = [name for name in actual if name not in example and name not in extra]
        for name in actual:
            if name not in example and name in extra and json_type(actual[name]) not in extra[name]:
                raise AssertionError(
                    f"{_child(path, name)}: expected {' or '.join(sorted(extra[name]))}, got "
                    f"{_describe(actual[name])}"
                )
        if missing or unexpected:
            parts = [f"missing {missing}"] if missing else []
            parts += [f"unexpected {unexpected}"] if unexpected else []
            raise AssertionError(f"{path}: keys differ from the example: {', '.join(parts)}")
        for name, example_value in example.items():
            assert_same_shape(
                example_value, actual[name], _child(path, name), key=name, extra=extra
            )
    elif isinstance(example, list):
        assert isinstance(actual, list)
        if not example:
            return
        for index, element in enumerate(actual):
            assert_same_shape(example[0], element, f"{path}[{index}]", extra=extra)


def assert_iso8601_with_offset(value: object, path: str = "$") -> datetime:
    """Check that ``value`` is an ISO 8601 time string with a UTC offset; return it parsed."""
    if not isinstance(value, str):
        raise AssertionError(f"{path}: expected an ISO 8601 time string, got {_describe(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise AssertionError(f"{path}: {value!r} is not ISO 8601 ({error})") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise AssertionError(f"{path}: {value!r} has no UTC offset")
    return parsed
