"""A campaign's script: the ``{{variables}}`` it may use, checked when it is set, and its
text for Retell, which substitutes the call's dynamic variables in it."""

from __future__ import annotations

import re

# What calls.services.dynamic_variables sends for every call; each custom column is added.
SCRIPT_VARIABLES = (
    "nombre", "empresa", "RUT", "monto_total", "fecha_vencimiento", "fecha_limite",
    "fecha_maxima", "cuotas_adeudadas",
)
# The frontend's own example scripts say {{name}}: it is the debtor's name.
SCRIPT_ALIASES = {"name": "nombre"}
_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def script_variables(text: str) -> list[str]:
    """The variable names of ``text``, in order of first use."""
    return list(dict.fromkeys(_VARIABLE.findall(text or "")))


def script_unknown_variables(text: str, custom_columns) -> list[str]:
    """The variables of ``text`` that no call will carry."""
    known = {*SCRIPT_VARIABLES, *SCRIPT_ALIASES, *custom_columns}
    return [name for name in script_variables(text) if name not in known]


def script_for_retell(text: str) -> str:
    """Every ``{{ variable }}`` written as Retell reads it, aliases by their sent name."""
    return _VARIABLE.sub(
        lambda m: "{{" + SCRIPT_ALIASES.get(m.group(1), m.group(1)) + "}}", text or "")


def script_render(template: str, values: dict[str, str]) -> str:
    """``template`` (as script_for_retell gives it) with the call's values filled in."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), template)
