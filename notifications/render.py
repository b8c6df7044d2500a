"""The jinja2 environment of the email templates: HTML autoescaped, plain text as written."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# Templates ship inside the package (pyproject package-data), so an installed wheel finds them too.
_ENV = Environment(
    loader=PackageLoader("notifications", "templates"),
    # Every value in the HTML part is escaped: station names, causes and emails come from users.
    # The plain-text part is not HTML: escaping it would show `&lt;` to the reader. Anything else escapes.
    autoescape=select_autoescape(
        enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
    ),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render_parts(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(plain text, HTML) of template `name`."""
    text = _ENV.get_template(f"{name}.txt").render(context)
    html = _ENV.get_template(f"{name}.html").render(context)
    return text, html
