"""Streaming answering-machine detector: 20 ms frames in, one sticky verdict out.

A person answers with a short greeting ("Hello?") and then waits for the caller; a recording
talks on for several seconds, pausing only briefly between sentences, and often ends with a
beep. So the detector segments the audio into words (speech frames by webrtcvad, gated by an
energy threshold above the line's noise floor) and decides:

- machine as soon as a record beep is heard, the greeting runs past `machine_greeting_s`, or it
  holds more than `max_human_words` words;
- human as soon as a short greeting is followed by `human_silence_s` of silence, or a
  medium one by `long_pause_s`;
- unknown if nobody has spoken after `max_initial_silence_s`;
- otherwise at `max_analysis_s`, or at `finish()`, from what was heard by then.

Time is audio time: the number of samples fed. No clock, no threads, no I/O.
"""

from __future__ import annotations

import webrtcvad

from dialer.amd.frames import NoiseFloor, ToneMeter, rms, samples_of
from dialer.amd.verdict import (
    FRAME_BYTES,
    FRAME_SAMPLES,
    FRAME_SECONDS,
    SAMPLE_RATE,
    AmdConfig,
    AmdFeatures,
    AmdVerdict,
    Kind,
)


def _frames(seconds: float) -> int:
    return max(round(seconds / FRAME_SECONDS), 1)


def _seconds(frames: int) -> float:
    return frames * FRAME_SAMPLES / SAMPLE_RATE  # exact for whole frames, unlike frames * 0.02


class AmdDetector:
    """One per answered call. Feed it PCM as it arrives; it answers once and then sticks."""

    def __init__(self, config: AmdConfig) -> None:
        self._config = config
        self._vad = webrtcvad.Vad(config.vad_mode)
        self._tones = ToneMeter(config.beep_low_hz, config.beep_high_hz, config.beep_purity)
        self._noise = NoiseFloor(_frames(config.noise_window_s))
        self._min_word_frames = _frames(config.min_word_s)
        self._word_gap_frames = _frames(config.word_gap_s)
        self._beep_frames = _frames(config.beep_min_s)
        self._max_frames = _frames(config.max_analysis_s)
        self._max_initial_silence_frames = _frames(config.max_initial_silence_s)
        self._human_greeting_frames = _frames(config.human_greeting_s)
        self._human_silence_frames = _frames(config.human_silence_s)
        self._long_pause_frames = _frames(config.long_pause_s)
        self._machine_greeting_frames = _frames(config.machine_greeting_s)
        self._pending = bytearray()
        self._verdict: AmdVerdict | None = None
        self._frame_count = 0
        self._speech_run = 0  # consecutive speech frames
        self._silence_run = 0  # consecutive non-speech frames
        self._in_word = False
        self._words = 0
        self._first_word_start: int | None = None  # frame index
        self._last_speech_end = 0  # frame index just after the last speech frame of a word
        self._tone_run = 0
        self._tone_start_hz = 0.0
        self._beep = False

    @property
    def verdict(self) -> AmdVerdict | None:
        return self._verdict

    def feed(self, pcm: bytes) -> AmdVerdict | None:
        """Add audio (16-bit little-endian mono 8 kHz, any length); the verdict once decided."""
        if self._verdict is not None:
            return self._verdict
        self._pending += pcm
        whole = len(self._pending) - len(self._pending) % FRAME_BYTES
        with memoryview(self._pending) as view:
            for start in range(0, whole, FRAME_BYTES):
                self._verdict = self._step(bytes(view[start : start + FRAME_BYTES]))
                if self._verdict is not None:
                    break
        if self._verdict is None:
            del self._pending[:whole]
        else:
            self._pending.clear()
        return self._verdict

    def finish(self) -> AmdVerdict:
        """Decide now from what was heard (a trailing part-frame is ignored)."""
        if self._verdict is None:
            self._verdict = self._final()
            self._pending.clear()
        return self._verdict

    def features(self) -> AmdFeatures:
        """What has been heard so far."""
        initial = self._frame_count if self._first_word_start is None else self._first_word_start
        return AmdFeatures(
            initial_silence_s=_seconds(initial),
            greeting_s=_seconds(self._greeting_frames()),
            words=self._words,
            after_greeting_silence_s=_seconds(self._pause_frames()),
            beep=self._beep,
        )

    def _step(self, frame: bytes) -> AmdVerdict | None:
        self._frame_count += 1
        self._measure(frame)
        return self._rules()

    def _measure(self, frame: bytes) -> None:
        samples = samples_of(frame)
        loudness = rms(samples)
        floor = self._noise.update(loudness)
        loud = loudness >= max(self._config.min_speech_rms, floor * self._config.speech_over_noise)
        self._track_tone(self._tones.tone_hz(samples) if loud else None)
        # webrtcvad adapts to the line as it goes, so it must see every frame, quiet ones included.
        voiced = self._vad.is_speech(frame, SAMPLE_RATE)
        # Tone frames stay speech frames: a real beep decides "machine" within beep_min_s anyway,
        # and a voice that looks tonal for a moment must not lose its words.
        self._track_words(loud and voiced)

    def _track_tone(self, tone_hz: float | None) -> None:
        if tone_hz is None:
            self._tone_run = 0
        elif self._tone_run and abs(tone_hz - self._tone_start_hz) <= self._config.beep_drift_hz:
            self._tone_run += 1
        else:
            self._tone_run, self._tone_start_hz = 1, tone_hz
        if self._tone_run >= self._beep_frames:
            self._beep = True

    def _track_words(self, speech: bool) -> None:
        if speech:
            self._speech_run += 1
            self._silence_run = 0
        else:
            self._silence_run += 1
            self._speech_run = 0
        if not self._in_word and self._speech_run >= self._min_word_frames:
            self._in_word = True
            self._words += 1
            if self._first_word_start is None:
                self._first_word_start = self._frame_count - self._speech_run
        if self._in_word and speech:
            self._last_speech_end = self._frame_count
        if self._in_word and self._silence_run >= self._word_gap_frames:
            self._in_word = False

    def _greeting_frames(self) -> int:
        if self._first_word_start is None:
            return 0
        end = self._frame_count if self._in_word else self._last_speech_end
        return end - self._first_word_start

    def _pause_frames(self) -> int:
        """Silence since the last word ended (0 while speaking or before anyone spoke)."""
        if self._first_word_start is None or self._in_word:
            return 0
        return self._frame_count - self._last_speech_end

    def _rules(self) -> AmdVerdict | None:
        # Cheap integer tests on every frame; the features are only built for the verdict.
        greeting, pause = self._greeting_frames(), self._pause_frames()
        config = self._config
        if self._beep:
            return self._decide("machine", "beep after {greeting:.1f} s of greeting")
        if greeting >= self._machine_greeting_frames:
            return self._decide(
                "machine", "greeting {greeting:.1f} s > {limit:.1f} s", config.machine_greeting_s
            )
        if self._words > config.max_human_words:
            return self._decide("machine", "{words} words > {limit}", config.max_human_words)
        if pause >= self._human_silence_frames and greeting <= self._human_greeting_frames:
            return self._decide("human", "greeting {greeting:.1f} s then {pause:.1f} s of silence")
        if pause >= self._long_pause_frames:
            return self._decide("human", "greeting {greeting:.1f} s then a {pause:.1f} s pause")
        if self._words == 0 and self._frame_count >= self._max_initial_silence_frames:
            return self._decide("unknown", "no speech in {heard:.1f} s")
        if self._frame_count >= self._max_frames:
            return self._final()
        return None

    def _final(self) -> AmdVerdict:
        """The verdict when time is up: only a greeting that ended counts as a person."""
        if self._words == 0:
            return self._decide("unknown", "no speech in {heard:.1f} s")
        if self._greeting_frames() > self._human_greeting_frames:
            return self._decide("machine", "greeting {greeting:.1f} s and still undecided")
        if self._pause_frames() > 0:
            return self._decide("human", "short greeting {greeting:.1f} s that ended")
        return self._decide("unknown", "still speaking after {greeting:.1f} s")

    def _decide(self, kind: Kind, reason: str, limit: float = 0.0) -> AmdVerdict:
        """The verdict; `reason` may name {greeting}, {pause}, {words}, {heard} and the rule's {limit}."""
        features = self.features()
        text = reason.format(
            greeting=features.greeting_s,
            pause=features.after_greeting_silence_s,
            words=features.words,
            heard=_seconds(self._frame_count),
            limit=limit,
        )
        return AmdVerdict(
            kind=kind, decided_after_s=_seconds(self._frame_count), reason=text, features=features
        )
