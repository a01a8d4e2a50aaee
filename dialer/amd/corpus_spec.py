"""What each clip of the generated AMD evaluation set contains (pure: no audio, no I/O).

A clip is a script of parts (pauses, sentences spoken by espeak-ng, beeps) plus the line it
passes through (level, background noise, carrier band-limiting and codec). Every choice comes
from a random generator seeded with (seed, index), so clip `index` of a given seed is the same
whatever the number of clips asked for, and different seeds give disjoint draws: the detector is
tuned on `TUNING_SEED` and reported on `EVALUATION_SEED`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

# Bump when the generator or the phrase lists change, so cached clips are not reused.
CORPUS_VERSION = "v1"

TUNING_SEED = 1
EVALUATION_SEED = 2
TEST_SUITE_SEED = 3

_T = TypeVar("_T")

Label = Literal["human", "machine"]
NoiseColour = Literal["white", "pink", "brown"]
Codec = Literal["ulaw", "gsm"]

# espeak-ng voices (language dialects) and voice variants; every pair is a different speaker.
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbcwmd")
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "Andy", "Annie", "anika", "belinda", "max", "steph", "john",
)  # fmt: skip

NAMES = ("Maria", "Tom Baker", "Priya", "Jorge Alvarez", "Linda", "Kevin O'Brien", "Aisha", "Sam Lee")

HUMAN_GREETINGS = (
    "Hello?",
    "Hello?",
    "Hello.",
    "Hi.",
    "Yes?",
    "Yeah, hello?",
    "Hello, who's this?",
    "Hi, who's calling?",
    "This is {name}.",
    "{name} speaking.",
    "Hello, this is {name}.",
)
HUMAN_FOLLOW_UPS = ("Hello?", "Hello? Anyone there?", "Hello?", "Who is this?")

MACHINE_OPENERS = (
    "Hi, you've reached {name}.",
    "Hello, you have reached the voicemail of {name}.",
    "Hey, it's {name}.",
    "Hi, this is {name}.",
    "The person you are calling, {name}, is not available.",
    "Thank you for calling.",
)
MACHINE_MIDDLES = (
    "I can't take your call right now.",
    "I'm away from the phone at the moment.",
    "Sorry I missed you.",
    "I'm either on the other line or away from my desk.",
)
MACHINE_CLOSINGS = (
    "Please leave a message after the tone.",
    "Leave your name and number and I'll call you back.",
    "Please leave a message and I will get back to you as soon as I can.",
    "Leave a message.",
)
# Short machine greetings are the honest hard case: a human could say as much.
MACHINE_SHORT = ("Please leave a message after the tone.", "{name}, leave a message.")


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True)
class Beep:
    hz: float
    seconds: float


Part = Pause | Say | Beep


@dataclass(frozen=True, slots=True)
class Speaker:
    voice: str  # espeak-ng voice name, with "+variant"
    words_per_minute: int
    pitch: int  # espeak-ng pitch, 0..99
    word_gap: int  # extra pause between words, espeak-ng units of 10 ms


@dataclass(frozen=True, slots=True)
class Line:
    gain_db: float  # applied to the whole clip; speech is first normalised to SPEECH_DBFS
    noise: NoiseColour | None
    snr_db: float  # speech over background noise; meaningless without noise
    codec: Codec | None  # None: wideband-ish 8 kHz PCM; otherwise band-limited then this codec


@dataclass(frozen=True, slots=True)
class ClipSpec:
    seed: int
    index: int
    label: Label
    speaker: Speaker
    parts: tuple[Part, ...]
    line: Line

    @property
    def name(self) -> str:
        return f"{self.index:04d}-{self.label}"


def clip_spec(seed: int, index: int) -> ClipSpec:
    """The clip `index` of the set drawn with `seed`; even indexes are humans, odd machines."""
    rng = np.random.default_rng([seed, index])
    label: Label = "human" if index % 2 == 0 else "machine"
    speaker = Speaker(
        voice=f"{_pick(rng, VOICES)}+{_pick(rng, VARIANTS)}",
        words_per_minute=int(rng.integers(130, 200)),
        pitch=int(rng.integers(20, 80)),
        word_gap=int(rng.choice([0, 0, 0, 1, 2])),
    )
    name = _pick(rng, NAMES)
    parts = _human_parts(rng, name) if label == "human" else _machine_parts(rng, name)
    line = Line(
        gain_db=round(float(rng.uniform(-18.0, 4.0)), 1),
        noise=_pick(rng, ("white", "pink", "brown")) if rng.random() < 0.7 else None,
        snr_db=round(float(rng.uniform(6.0, 35.0)), 1),
        codec=_pick(rng, ("ulaw", "gsm")) if rng.random() < 0.6 else None,
    )
    return ClipSpec(seed=seed, index=index, label=label, speaker=speaker, parts=parts, line=line)


def _human_parts(rng: np.random.Generator, name: str) -> tuple[Part, ...]:
    # Most people speak within a second of picking up; a few wait longer.
    initial = rng.uniform(0.1, 0.9) if rng.random() < 0.85 else rng.uniform(0.9, 2.5)
    parts: list[Part] = [
        Pause(_round(initial)),
        Say(_pick(rng, HUMAN_GREETINGS).format(name=name)),
        Pause(_round(rng.uniform(1.2, 3.0))),
    ]
    if rng.random() < 0.5:
        parts += [Say(_pick(rng, HUMAN_FOLLOW_UPS)), Pause(_round(rng.uniform(1.0, 2.0)))]
    return tuple(parts)


def _machine_parts(rng: np.random.Generator, name: str) -> tuple[Part, ...]:
    initial = rng.uniform(0.1, 1.2) if rng.random() < 0.85 else rng.uniform(1.2, 2.5)
    if rng.random() < 0.1:
        greeting = _pick(rng, MACHINE_SHORT).format(name=name)
    else:
        sentences = [_pick(rng, MACHINE_OPENERS).format(name=name)]
        if rng.random() < 0.7:
            sentences.append(_pick(rng, MACHINE_MIDDLES))
        sentences.append(_pick(rng, MACHINE_CLOSINGS))
        greeting = " ".join(sentences)
    parts: list[Part] = [Pause(_round(initial)), Say(greeting)]
    if rng.random() < 0.85:
        hz = float(rng.choice([440.0, 850.0, 1000.0, 1400.0, round(float(rng.uniform(400, 2000)))]))
        parts += [Pause(_round(rng.uniform(0.2, 1.0))), Beep(hz, _round(rng.uniform(0.25, 1.0)))]
        if rng.random() < 0.2:
            parts += [Pause(0.1), Beep(hz, _round(rng.uniform(0.15, 0.3)))]
    parts.append(Pause(_round(rng.uniform(1.0, 2.0))))
    return tuple(parts)


def _pick(rng: np.random.Generator, options: tuple[_T, ...]) -> _T:
    return options[int(rng.integers(len(options)))]


def _round(seconds: float) -> float:
    return round(float(seconds), 2)
