"""The naive first-loud-run classifier used as the benchmark's yardstick."""

from __future__ import annotations

import pytest

from dialer.amd.baseline import RunLengthBaseline
from tests.dialer.amd.signals import pcm, silence, voice

CASES = {
    "short loud run": (pcm(silence(0.3), voice(0.5), silence(2.0)), ("human", 1.0)),
    "long loud run": (pcm(silence(0.3), voice(3.0)), ("machine", 2.32)),
    "quiet speech": (pcm(silence(0.3), voice(3.0, level_rms=200.0)), ("unknown", 3.3)),
}


@pytest.mark.parametrize(("audio", "expected"), CASES.values(), ids=CASES.keys())
def test_first_loud_run(audio: bytes, expected: tuple[str, float]) -> None:
    baseline = RunLengthBaseline()
    baseline.feed(audio)
    kind, after_s = baseline.finish()
    assert kind == expected[0]
    assert after_s == pytest.approx(expected[1])
