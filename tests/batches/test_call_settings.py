"""CallSettings: the one shape of a campaign's call settings, with its defaults (issue 15)."""

import dataclasses

import pytest

from batches.call_settings import CallSettings, validate_call_settings


def test_the_validator_returns_call_settings_read_by_attribute_and_stored_as_json():
    cleaned = validate_call_settings({"max_attempts": 5, "days_of_week": [5, 1]},
                                     default_timezone="America/Santiago", profile="CL")
    assert isinstance(cleaned, CallSettings)
    assert (cleaned.max_attempts, cleaned.max_call_duration, cleaned.ring_timeout) == (5, 600, 60)
    assert (cleaned.days_of_week, cleaned.timezone) == ((1, 5), "America/Santiago")
    stored = cleaned.to_json()
    assert stored["days_of_week"] == [1, 5] and stored["retry_delay_hours"] == "30"
    assert CallSettings.from_json(stored) == cleaned == stored
    with pytest.raises(dataclasses.FrozenInstanceError):
        cleaned.max_attempts = 7


def test_stored_settings_missing_a_key_read_its_default():
    assert CallSettings.from_json({"timezone": "UTC"}) == CallSettings(timezone="UTC")
    assert CallSettings.from_json(None).max_call_duration == CallSettings.max_call_duration
