"""The ladder definition: the TOML file and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunning.ladder import DEFAULT_LADDER, LadderError, ladder_from_toml

ROOT = Path(__file__).resolve().parents[2]


def test_example_file_is_the_default_ladder() -> None:
    """The documented example file describes exactly the built-in default ladder and profile shifts."""
    ladder = ladder_from_toml((ROOT / "ladder.example.toml").read_text(encoding="utf-8"))
    assert ladder == DEFAULT_LADDER
    assert ladder.profile_shifts == DEFAULT_LADDER.profile_shifts
    assert ladder.profile_intervals == DEFAULT_LADDER.profile_intervals


def test_custom_ladder_changes_offsets() -> None:
    """A custom ladder with a J+5 first reminder is read as written."""
    ladder = ladder_from_toml(
        "min_interval_days = 5\n"
        '[[steps]]\nname = "reminder_1"\noffset_days = 5\n'
        '[[steps]]\nname = "formal_notice"\noffset_days = 20\ntone = "formal"\n'
    )
    assert [(s.name, s.offset_days) for s in ladder.steps] == [("reminder_1", 5), ("formal_notice", 20)]
    assert ladder.min_interval_days == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps = 3", "field 'steps'"),
        ('[[steps]]\nname = "a"\noffset_days = "x"', "steps[1]: field 'offset_days'"),
        ('[[steps]]\nname = "a"\noffset_days = 1\ntone = "angry"', "steps[1]: field 'tone'"),
        ('[[steps]]\nname = "a"\noffset_days = 5\n[[steps]]\nname = "b"\noffset_days = 2', "increase"),
        ('[[steps]]\nname = "a"\noffset_days = 5\n[profiles.vip]\nshift_days = 1', "profiles.vip"),
        ("[[steps]\n", "my.toml"),
    ],
)
def test_bad_ladder_names_the_field(text: str, message: str) -> None:
    """A bad ladder file is refused with a message naming the file and the field."""
    with pytest.raises(LadderError, match=r"my\.toml") as info:
        ladder_from_toml(text, source="my.toml")
    assert message in str(info.value)


def test_profile_shift_keeps_order() -> None:
    """A late payer's ladder moves post-due steps earlier but keeps them strictly increasing."""
    late = DEFAULT_LADDER.for_profile("late_payer")
    offsets = [s.offset_days for s in late.steps]
    assert offsets == [-3, 4, 12, 27]
    assert late.min_interval_days == 5
