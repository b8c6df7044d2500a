"""The account configuration keys: type, default, bounds (SPEC section 10). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ConfigType = Literal["number", "boolean", "string"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class ConfigKey:
    key: str
    type: ConfigType
    default: object
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    max_length: int = 500
    integer: bool = False
    pattern: re.Pattern[str] | None = None
    description: str = ""

    def check(self, value: object) -> str | None:
        """The problem with `value` for this key, or None when it is acceptable."""
        if self.type == "boolean":
            return None if isinstance(value, bool) else "must be true or false"
        if self.type == "number":
            return self._check_number(value)
        if not isinstance(value, str):
            return "must be a string"
        if len(value) > self.max_length:
            return f"must be at most {self.max_length} characters"
        if self.pattern is not None and not self.pattern.match(value):
            return f"is not a valid {self.description or 'value'}"
        return None

    def _check_number(self, value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        if self.integer and value != int(value):
            return "must be a whole number"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g}"
        return None


CONFIG_KEYS: dict[str, ConfigKey] = {
    k.key: k
    for k in (
        ConfigKey("ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES", "number", 10, minimum=0, maximum=10080),
        ConfigKey("ESCALATE_UNESTIMATED_AFTER_MINUTES", "number", 30, minimum=0, maximum=10080),
        ConfigKey("ESCALATE_ON_ESTIMATE_EXPIRY", "boolean", True),
        ConfigKey("ESCALATION_REPEAT_MINUTES", "number", 0, minimum=0, maximum=10080),
        ConfigKey("DAILY_SUMMARY_HOUR", "number", 7, minimum=0, maximum=23, integer=True),
        ConfigKey(
            "EMAIL_FROM",
            "string",
            None,
            required=True,
            max_length=254,
            pattern=_EMAIL,
            description="email address",
        ),
        ConfigKey(
            "DASHBOARD_URL",
            "string",
            None,
            max_length=500,
            pattern=re.compile(r"^https?://\S+$"),
            description="http(s) URL",
        ),
    )
}
