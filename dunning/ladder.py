"""The reminder ladder: ordered steps with offsets from the due date, tones and channels, shifted by profile."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from dunning.states import ClientProfile


class Tone(StrEnum):
    """How firm a step sounds."""

    INFORMATIVE = "informative"
    FRIENDLY = "friendly"
    FIRM = "firm"
    FORMAL = "formal"


class Channel(StrEnum):
    """How a step reaches the client."""

    EMAIL = "email"
    EMAIL_AND_LETTER = "email+letter"
    REGISTERED_LETTER = "registered_letter"
    PHONE = "phone"


@dataclass(frozen=True)
class Step:
    """One rung of the ladder: `offset_days` from the due date (negative = before it)."""

    name: str
    offset_days: int
    tone: Tone
    channel: Channel


PRE_REMINDER = "pre_reminder"
REMINDER_1 = "reminder_1"
REMINDER_2 = "reminder_2"
FORMAL_NOTICE = "formal_notice"


@dataclass(frozen=True)
class Ladder:
    """The ordered steps, and the minimum number of days between two steps sent to the same invoice."""

    steps: tuple[Step, ...]
    min_interval_days: int = 7
    profile_shifts: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    profile_intervals: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if not self.steps:
            raise LadderError("a ladder needs at least one step")
        if len(set(names)) != len(names):
            raise LadderError(f"step names must be unique, got {names}")
        offsets = [s.offset_days for s in self.steps]
        if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
            raise LadderError(f"step offsets must increase strictly, got {offsets}")
        if self.min_interval_days < 0:
            raise LadderError("min_interval_days must be >= 0")

    def index(self, name: str) -> int:
        """Position of the step called `name`."""
        for i, step in enumerate(self.steps):
            if step.name == name:
                return i
        raise KeyError(name)

    def step(self, name: str) -> Step:
        """The step called `name`."""
        return self.steps[self.index(name)]

    def for_profile(self, profile: str) -> Ladder:
        """The ladder as it applies to a client of `profile`: later steps after the due date move by the shift."""
        shift = self.profile_shifts.get(profile, 0)
        interval = self.profile_intervals.get(profile, self.min_interval_days)
        if shift == 0 and interval == self.min_interval_days:
            return self
        steps = tuple(
            replace(s, offset_days=max(1, s.offset_days + shift)) if s.offset_days > 0 else s for s in self.steps
        )
        # Keep offsets strictly increasing after shifting (a large negative shift could collapse them).
        fixed: list[Step] = []
        for s in steps:
            if fixed and s.offset_days <= fixed[-1].offset_days:
                s = replace(s, offset_days=fixed[-1].offset_days + 1)
            fixed.append(s)
        return Ladder(tuple(fixed), interval, self.profile_shifts, self.profile_intervals)


class LadderError(ValueError):
    """A ladder definition is invalid."""


# --- channel and tone of a step (issue 11 §2: calls and channels) ---------------------------------------------------

#: The step whose built-in templates a tone uses when a step has no templates of its own (a custom ladder's
#: `reminder_3` with tone "firm" is worded as reminder_2); a step with templates keeps them whatever its tone.
TONE_TEMPLATES = {
    Tone.INFORMATIVE: PRE_REMINDER,
    Tone.FRIENDLY: REMINDER_1,
    Tone.FIRM: REMINDER_2,
    Tone.FORMAL: FORMAL_NOTICE,
}
#: Channels that post a letter (the PDF the owner prints or sends by registered mail), and those that send an e-mail.
LETTER_CHANNELS = frozenset({Channel.REGISTERED_LETTER, Channel.EMAIL_AND_LETTER})
EMAIL_CHANNELS = frozenset({Channel.EMAIL, Channel.EMAIL_AND_LETTER, Channel.REGISTERED_LETTER})


def first_overdue_step(ladder: Ladder) -> Step | None:
    """The first step after the due date (the one a key account gets by phone), None when every step is before."""
    return next((s for s in ladder.steps if s.offset_days > 0), None)


def step_channel(ladder: Ladder, step: str, profile: str) -> Channel:
    """How the step called `step` reaches a client of `profile`: the step's channel, except that the first overdue
    step of a key account is a phone call (a good client is called before any reminder is written). A name that is
    not a step of the ladder (a draft outside it: thanks, penalty claim...) is an e-mail."""
    try:
        found = ladder.step(step)
    except KeyError:
        return Channel.EMAIL
    if profile == ClientProfile.KEY_ACCOUNT.value:
        first = first_overdue_step(ladder)
        if first is not None and first.name == found.name:
            return Channel.PHONE
    return found.channel


def step_tone(ladder: Ladder, step: str) -> Tone | None:
    """The tone of the step called `step` (None for a name outside the ladder)."""
    try:
        return ladder.step(step).tone
    except KeyError:
        return None


DEFAULT_STEPS = (
    Step(PRE_REMINDER, -3, Tone.INFORMATIVE, Channel.EMAIL),
    Step(REMINDER_1, 7, Tone.FRIENDLY, Channel.EMAIL),
    Step(REMINDER_2, 15, Tone.FIRM, Channel.EMAIL_AND_LETTER),
    Step(FORMAL_NOTICE, 30, Tone.FORMAL, Channel.REGISTERED_LETTER),
)

#: Days added to each post-due step: loyal clients are chased later, repeat late payers sooner.
DEFAULT_PROFILE_SHIFTS = {
    ClientProfile.LOYAL.value: 5,
    ClientProfile.LATE_PAYER.value: -3,
    ClientProfile.IN_DIFFICULTY.value: 3,
}
DEFAULT_PROFILE_INTERVALS = {
    ClientProfile.LOYAL.value: 10,
    ClientProfile.LATE_PAYER.value: 5,
}

DEFAULT_LADDER = Ladder(DEFAULT_STEPS, 7, DEFAULT_PROFILE_SHIFTS, DEFAULT_PROFILE_INTERVALS)


def ladder_from_toml(text: str, *, source: str = "ladder.toml") -> Ladder:
    """Parse a ladder definition (see README, "Configuring the ladder"); errors name the source and the field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LadderError(f"{source}: {exc}") from None
    return ladder_from_mapping(data, source=source)


def ladder_from_mapping(data: dict[str, Any], *, source: str = "ladder") -> Ladder:
    """Build a ladder from parsed TOML data."""
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LadderError(f"{source}: field 'steps' must be a non-empty array of tables ([[steps]])")
    steps = []
    for i, raw in enumerate(raw_steps, start=1):
        where = f"{source}: steps[{i}]"
        if not isinstance(raw, dict):
            raise LadderError(f"{where}: must be a table")
        name = raw.get("name")
        if not isinstance(name, str) or not name.isidentifier():
            raise LadderError(f"{where}: field 'name' must be an identifier such as reminder_1")
        offset = raw.get("offset_days")
        if not isinstance(offset, int) or isinstance(offset, bool):
            raise LadderError(f"{where}: field 'offset_days' must be an integer (days from the due date)")
        try:
            tone = Tone(raw.get("tone", "friendly"))
        except ValueError:
            raise LadderError(f"{where}: field 'tone' must be one of {[t.value for t in Tone]}") from None
        try:
            channel = Channel(raw.get("channel", "email"))
        except ValueError:
            raise LadderError(f"{where}: field 'channel' must be one of {[c.value for c in Channel]}") from None
        steps.append(Step(name, offset, tone, channel))
    interval = data.get("min_interval_days", 7)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 0:
        raise LadderError(f"{source}: field 'min_interval_days' must be a non-negative integer")
    shifts = dict(DEFAULT_PROFILE_SHIFTS)
    intervals = dict(DEFAULT_PROFILE_INTERVALS)
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise LadderError(f"{source}: field 'profiles' must be a table")
    for pname, pdata in profiles.items():
        if pname not in {p.value for p in ClientProfile}:
            raise LadderError(
                f"{source}: profiles.{pname}: unknown profile, expected one of {[p.value for p in ClientProfile]}"
            )
        if not isinstance(pdata, dict):
            raise LadderError(f"{source}: profiles.{pname}: must be a table")
        if "shift_days" in pdata:
            if not isinstance(pdata["shift_days"], int):
                raise LadderError(f"{source}: profiles.{pname}.shift_days must be an integer")
            shifts[pname] = pdata["shift_days"]
        if "min_interval_days" in pdata:
            if not isinstance(pdata["min_interval_days"], int) or pdata["min_interval_days"] < 0:
                raise LadderError(f"{source}: profiles.{pname}.min_interval_days must be a non-negative integer")
            intervals[pname] = pdata["min_interval_days"]
    try:
        return Ladder(tuple(steps), interval, shifts, intervals)
    except LadderError as exc:
        raise LadderError(f"{source}: {exc}") from None
