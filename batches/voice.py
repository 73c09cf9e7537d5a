"""Voice settings as Retell takes them: its languages and the ranges of its agent override."""

from __future__ import annotations

# retell-sdk's AgentOverrideAgent.language (tests/batches/test_voice.py keeps them equal).
RETELL_LANGUAGES = frozenset((
    "en-US", "en-IN", "en-GB", "en-AU", "en-NZ", "de-DE", "es-ES", "es-419", "hi-IN", "fr-FR",
    "fr-CA", "ja-JP", "pt-PT", "pt-BR", "zh-CN", "ru-RU", "it-IT", "ko-KR", "nl-NL", "nl-BE",
    "pl-PL", "tr-TR", "vi-VN", "ro-RO", "bg-BG", "ca-ES", "th-TH", "da-DK", "fi-FI", "el-GR",
    "hu-HU", "id-ID", "no-NO", "sk-SK", "sv-SE", "lt-LT", "lv-LV", "cs-CZ", "ms-MY", "af-ZA",
    "ar-SA", "az-AZ", "bs-BA", "cy-GB", "fa-IR", "fil-PH", "gl-ES", "he-IL", "hr-HR", "hy-AM",
    "is-IS", "kk-KZ", "kn-IN", "mk-MK", "mr-IN", "ne-NP", "sl-SI", "sr-RS", "sw-KE", "ta-IN",
    "ur-IN", "yue-CN", "uk-UA",
))
# Retell's docstrings: voice_speed [0.5, 2], volume [0, 2]. Pitch is the frontend's -10..10;
# Retell has no pitch control, so it is kept but never sent.
VOICE_LIMITS = {"speed": (0.5, 2.0), "pitch": (-10, 10), "volume": (0.0, 2.0)}
VOICE_NOT_APPLIED = frozenset({"pitch"})
# voice_id "" or "default": the agent's own voice.
DEFAULT_VOICE_IDS = frozenset({"", "default"})


def retell_language(code: str) -> str | None:
    """The Retell language for ``code``: itself, "es-419" for a Latin American Spanish
    (es-CL, es-AR, es-MX...: Retell has one for the region), None when Retell has none."""
    if code in RETELL_LANGUAGES:
        return code
    language, _, region = code.partition("-")
    if language.lower() == "es" and len(region) == 2 and region.isalpha():
        return "es-419"
    return None


def voice_agent_fields(voice_settings: dict) -> dict:
    """The agent_override.agent fields of these (cleaned) voice settings."""
    fields = {}
    voice_id = voice_settings.get("voice_id") or ""
    if voice_id not in DEFAULT_VOICE_IDS:
        fields["voice_id"] = voice_id
    if "speed" in voice_settings:
        fields["voice_speed"] = voice_settings["speed"]
    if "volume" in voice_settings:
        fields["volume"] = voice_settings["volume"]
    language = retell_language(voice_settings.get("language") or "")
    if language:
        fields["language"] = language
    return fields


def voice_applied(voice_settings: dict) -> dict[str, bool]:
    """For each setting, whether it reaches the call (pitch never does)."""
    return {key: key not in VOICE_NOT_APPLIED for key in voice_settings}
