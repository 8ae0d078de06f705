"""Field rules the contracts share, written so that the published JSON Schema says exactly
what the consumer checks (``shared.contracts.json_schema`` turns each into its keywords).

* :class:`Pattern` is a whole-string match over ASCII: Python's ``re.match`` with ``$`` lets
  a trailing newline through and ``\\d`` takes any Unicode digit, which a JSON Schema
  validator in another language (ECMA-262 regular expressions) would read differently.
* :class:`Money` is a decimal string with at most ``places`` decimals: a JSON number would
  lose kopecks on the way (a float), and a third decimal is refused, not rounded away.
* :class:`Int` is a JSON integer: 12 or 12.0, never "12" or 12.5 (marshmallow's default
  takes "12" and truncates 12.5; its ``strict`` refuses 12.0, which JSON Schema calls an
  integer).
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields, validate

INT32_MAX = 2**31 - 1  # the services' Integer columns (a larger id would fail in PostgreSQL)


class Pattern(validate.Regexp):
    """A regular expression the whole value must match (no trailing newline, ASCII only)."""

    def __init__(self, regex: str, error: str) -> None:
        if not (regex.startswith("^") and regex.endswith("$")):
            raise ValueError("a contract pattern is anchored: ^...$")
        super().__init__(regex, flags=re.ASCII, error=error)

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


NUMBER = Pattern(r"^[0-9]{5,20}$", "5 to 20 digits")
SERIAL = Pattern(r"^[0-9]{4,40}$", "4 to 40 digits")
PERIOD = Pattern(r"^[0-9]{4}-(0[1-9]|1[0-2])$", "YYYY-MM")
BRANCH = validate.Length(min=1, max=32)


class Int(fields.Integer):
    """A JSON integer within ``minimum`` .. ``maximum`` (by default 0 .. 2**31-1,
    what the services' columns keep); ``validate`` adds rules to that range."""

    def __init__(self, *, minimum: int = 0, maximum: int = INT32_MAX, **kwargs: Any) -> None:
        more = kwargs.pop("validate", None)
        more = [] if more is None else [more] if callable(more) else list(more)
        super().__init__(strict=True, validate=[validate.Range(min=minimum, max=maximum), *more],
                         **kwargs)

    def _validated(self, value: Any) -> int:
        # 42.0 is the integer 42 to JSON Schema (and so to a validating integrator): take it.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class Money(fields.String):
    """Roubles (or ₽ per kWh) as a JSON string of digits with at most ``places`` decimals,
    e.g. "1418.55"; ``signed`` lets a minus through (an overpayment). Loaded as that string,
    as it travelled (consumers take ``Decimal(value)``)."""

    def __init__(self, places: int = 2, signed: bool = False, **kwargs: Any) -> None:
        self.decimals = places
        self.regex = re.compile(rf"^{'-?' if signed else ''}[0-9]+(\.[0-9]{{1,{places}}})?$",
                                re.ASCII)
        super().__init__(**kwargs)

    def _checked(self, value: Any) -> str:
        if isinstance(value, Decimal):  # a producer's own value, before it is sent
            value = format(value, "f")
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(f"a string of digits with at most {self.decimals} decimals, "
                                  f"e.g. \"1418.55\"")
        return value

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return self._checked(value)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else self._checked(value)
