"""Render the AMD evaluation set with espeak-ng and sox, cached under var/amd-corpus/<version>/.

Each clip is an 8 kHz mono signed 16-bit WAV. Speech comes from espeak-ng, resampled by sox;
noise beds and beeps are made by `sox synth` in repeatable mode; band-limiting and codecs
(mu-law, GSM 06.10) are sox round trips. Mixing and levels are numpy. The cache is keyed by
`CORPUS_VERSION`, seed and clip index and is filled on demand; files are written atomically so
concurrent runs can share it.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from dialer.amd.corpus_spec import (
    CORPUS_VERSION,
    Beep,
    ClipSpec,
    Codec,
    Line,
    NoiseColour,
    Pause,
    Say,
    Speaker,
    clip_spec,
)
from dialer.amd.verdict import SAMPLE_RATE

SPEECH_DBFS = -20.0  # level of active speech before the clip's gain
NOISE_BED_SECONDS = 30

Signal = npt.NDArray[np.float64]
_RAW = ("-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed", "-b", "16", "-c", "1")
_SOX = ("sox", "-R", "-D", "-V1")  # repeatable random numbers, no dither, errors only
# Carrier-like lines: band-limited to 300-3400 Hz on the way into the codec, decoded back to PCM.
_CODEC_FORMATS: dict[Codec, tuple[str, ...]] = {
    "ulaw": ("-t", "raw", "-r", str(SAMPLE_RATE), "-c", "1", "-e", "u-law"),
    "gsm": ("-t", "gsm"),
}


@dataclass(frozen=True, slots=True)
class Clip:
    spec: ClipSpec
    path: Path

    def pcm(self) -> bytes:
        with wave.open(str(self.path), "rb") as wav:
            return wav.readframes(wav.getnframes())


def default_root() -> Path:
    """var/amd-corpus at the repository root."""
    return Path(__file__).resolve().parents[2] / "var" / "amd-corpus"


def ensure_corpus(count: int, seed: int, root: Path | None = None) -> list[Clip]:
    """Clips 0..count-1 of `seed`, rendering only those not cached yet."""
    directory = (root or default_root()) / CORPUS_VERSION / f"seed-{seed}"
    directory.mkdir(parents=True, exist_ok=True)
    clips = []
    for index in range(count):
        spec = clip_spec(seed, index)
        path = directory / f"{spec.name}.wav"
        if not path.exists():
            _write_wav(path, render(spec))
        clips.append(Clip(spec, path))
    return clips


def render(spec: ClipSpec) -> bytes:
    """The clip as little-endian 16-bit PCM at 8 kHz."""
    pieces = [_render_part(part, spec.speaker) for part in spec.parts]
    clean = np.concatenate(pieces)
    return _through_line(clean, spec.line, spec.seed, spec.index)


def _render_part(part: Pause | Say | Beep, speaker: Speaker) -> Signal:
    if isinstance(part, Pause):
        return np.zeros(round(part.seconds * SAMPLE_RATE))
    if isinstance(part, Say):
        return _at_level(_speak(part.text, speaker), SPEECH_DBFS)
    tone = _synth("sine", part.hz, part.seconds)
    return tone * (_dbfs_to_rms(SPEECH_DBFS) / max(_rms(tone), 1.0))


def _through_line(clean: Signal, line: Line, seed: int, index: int) -> bytes:
    signal = clean
    if line.noise is not None:
        bed = _noise_bed(line.noise)
        start = int(np.random.default_rng([seed, index, 1]).integers(len(bed) - len(signal)))
        noise_rms = _dbfs_to_rms(SPEECH_DBFS - line.snr_db)
        signal = signal + bed[start : start + len(signal)] * noise_rms
    pcm = _to_pcm(signal * 10 ** (line.gain_db / 20))
    if line.codec is None:
        return pcm
    coded = _CODEC_FORMATS[line.codec]
    encoded = _run([*_SOX, *_RAW, "-", *coded, "-", "sinc", "300-3400"], pcm)
    return _run([*_SOX, *coded, "-", *_RAW, "-"], encoded)


def _speak(text: str, speaker: Speaker) -> Signal:
    wav = _run(
        [
            "espeak-ng",
            "-v",
            speaker.voice,
            "-s",
            str(speaker.words_per_minute),
            "-p",
            str(speaker.pitch),
            "-g",
            str(speaker.word_gap),
            "-z",
            "--stdout",
            text,
        ],
        b"",
    )
    return _from_pcm(_run([*_SOX, "-t", "wav", "-", *_RAW, "-"], wav))


@functools.cache
def _noise_bed(colour: NoiseColour) -> Signal:
    bed = _synth(f"{colour}noise", None, NOISE_BED_SECONDS)
    return bed / _rms(bed)


def _synth(kind: str, hz: float | None, seconds: float) -> Signal:
    frequency = () if hz is None else (str(hz),)
    command = [*_SOX, "-n", *_RAW, "-", "synth", str(seconds), kind, *frequency]
    return _from_pcm(_run(command, b""))


def _run(command: Sequence[str], stdin: bytes) -> bytes:
    return subprocess.run(command, input=stdin, capture_output=True, check=True).stdout


def _at_level(signal: Signal, dbfs: float) -> Signal:
    """Scale so that active speech (20 ms frames within 30 dB of the loudest) sits at `dbfs`."""
    frames = signal[: len(signal) // 160 * 160].reshape(-1, 160)
    energy = (frames**2).mean(axis=1)
    active = energy[energy > energy.max() * 1e-3]
    return signal * (_dbfs_to_rms(dbfs) / max(float(np.sqrt(active.mean())), 1.0))


def _rms(signal: Signal) -> float:
    return float(np.sqrt(np.mean(signal**2)))


def _dbfs_to_rms(dbfs: float) -> float:
    return float(32768 * 10 ** (dbfs / 20))


def _from_pcm(pcm: bytes) -> Signal:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _to_pcm(signal: Signal) -> bytes:
    return np.clip(np.round(signal), -32768, 32767).astype("<i2").tobytes()


def _write_wav(path: Path, pcm: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(handle)
    with wave.open(temporary, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
    os.replace(temporary, path)
