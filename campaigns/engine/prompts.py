"""The engine's recorded messages: spoken once with espeak-ng, cached under var/ by their text."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dialer.carrier.audio import speak_to, var_dir


def prompt_wav(text: str) -> Path:
    """An 8 kHz mono WAV of `text`; the same text always maps to the same cached file."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return speak_to(text, var_dir() / "engine-prompts" / f"{digest}.wav")
