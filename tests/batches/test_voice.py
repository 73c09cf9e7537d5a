"""Voice settings as Retell takes them, and the script's variables."""

import typing

from batches.script import script_for_retell, script_render, script_unknown_variables
from batches.voice import RETELL_LANGUAGES, retell_language, voice_agent_fields


def test_the_languages_are_retell_sdks():
    from retell.types.call_create_phone_call_params import AgentOverrideAgent

    single = typing.get_args(typing.get_type_hints(AgentOverrideAgent)["language"])[0]
    assert RETELL_LANGUAGES == set(typing.get_args(single))


def test_regional_spanish_goes_as_latin_american():
    assert [retell_language(c) for c in ("es-CL", "es-AR", "es-ES", "en-US", "xx-YY")] == [
        "es-419", "es-419", "es-ES", "en-US", None]


def test_agent_fields_use_retells_names_and_leave_pitch_out():
    fields = voice_agent_fields({"voice_id": "default", "speed": 1.5, "pitch": 4, "volume": 0,
                                 "language": "es-CL", "agent_id": "agent-x"})
    assert fields == {"voice_speed": 1.5, "volume": 0, "language": "es-419"}


def test_script_variables():
    text = "Hola {{ name }}, {{nombre}} debe {{monto_total}} de {{sucursal}} y {{otra}}"
    assert script_unknown_variables(text, ["sucursal"]) == ["otra"]
    template = script_for_retell(text)
    assert template == "Hola {{nombre}}, {{nombre}} debe {{monto_total}} de {{sucursal}} y {{otra}}"
    assert script_render(template, {"nombre": "Ana", "monto_total": "10", "sucursal": "C"}) == (
        "Hola Ana, Ana debe 10 de C y {{otra}}")
