"""Audio the simulated carrier plays, made with espeak-ng and sox at first use and cached under var/.

All files are 8 kHz, 16-bit, mono WAV, the format pjsua plays without resampling on our bridge.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.settings import get_settings

_VERSION = "1"  # bump when the recipes below change, so stale caches are not reused


def var_dir() -> Path:
    return get_settings().data_dir.resolve()


@dataclass(frozen=True)
class CarrierAudio:
    hello: Path  # a person answering: "Hello?" (about 0.6 s)
    greeting: Path  # an answering machine: a long greeting, then a beep
    not_in_service: Path  # a special information tone, then an announcement
    agent: Path  # an agent talking, looped on agent phones


def _speak(text: str, target: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "raw.wav"
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(raw), text], check=True, capture_output=True)
        _to_telephony(raw, target)


def _to_telephony(source: Path, target: Path) -> None:
    subprocess.run(
        ["sox", str(source), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(target)],
        check=True,
        capture_output=True,
    )


def _synth(target: Path, *segments: str) -> None:
    """`segments` like "0.274 sine 913.8" or "0.5 silence"; joined end to end."""
    with tempfile.TemporaryDirectory() as scratch:
        parts = []
        for number, segment in enumerate(segments):
            duration, kind, *rest = segment.split()
            part = Path(scratch) / f"{number}.wav"
            if kind == "silence":
                command = ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(part), "trim", "0", duration]
            else:
                command = [
                    "sox",
                    "-n",
                    "-r",
                    "8000",
                    "-c",
                    "1",
                    "-b",
                    "16",
                    str(part),
                    "synth",
                    duration,
                    kind,
                ]
                command += [*rest, "vol", "0.5"]
            subprocess.run(command, check=True, capture_output=True)
            parts.append(str(part))
        subprocess.run(["sox", *parts, str(target)], check=True, capture_output=True)


def _concat(target: Path, *sources: Path) -> None:
    subprocess.run(["sox", *map(str, sources), str(target)], check=True, capture_output=True)


def _atomic(target: Path, make: Callable[[Path], None]) -> None:
    """Build `target` in a temporary file and rename it, so concurrent processes never see half a file."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".wav")
    os.close(fd)
    try:
        make(Path(temporary))
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def speak_to(text: str, target: Path) -> Path:
    """A cached spoken prompt (also used for the dialer's own prompts in tests and demos)."""
    _atomic(target, lambda path: _speak(text, path))
    return target


def carrier_audio() -> CarrierAudio:
    folder = var_dir() / "carrier-audio" / f"v{_VERSION}"
    hello = speak_to("Hello?", folder / "hello.wav")
    agent = speak_to(
        "Thank you for holding. This is the collections desk, how can I help you today?", folder / "agent.wav"
    )
    greeting = folder / "greeting.wav"

    def make_greeting(path: Path) -> None:
        words = speak_to(
            "Hi, you have reached the voicemail of Jordan Avery. I am not able to take your call right now. "
            "Please leave your name, your number and a short message after the tone, and I will get back "
            "to you as soon as I can.",
            folder / "greeting-words.wav",
        )
        beep = folder / "beep.wav"
        _atomic(beep, lambda target: _synth(target, "0.3 silence", "0.5 sine 1000"))
        _concat(path, words, beep)

    _atomic(greeting, make_greeting)
    not_in_service = folder / "not-in-service.wav"

    def make_not_in_service(path: Path) -> None:
        words = speak_to("The number you have dialed is not in service.", folder / "nis-words.wav")
        tones = folder / "sit.wav"
        _atomic(
            tones,
            lambda target: _synth(
                target, "0.274 sine 913.8", "0.274 sine 1370.6", "0.380 sine 1776.7", "0.2 silence"
            ),
        )
        _concat(path, tones, words)

    _atomic(not_in_service, make_not_in_service)
    return CarrierAudio(hello=hello, greeting=greeting, not_in_service=not_in_service, agent=agent)
