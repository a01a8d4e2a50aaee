"""One simulated-carrier process: a pjsua2 Endpoint that plays the profile of each number it is sent.

Run by the carrier front (`dialer.carrier.front`) as `python -m dialer.carrier.backend HOST SEED`.
It reports on its original stdout: `ready PORT` once listening, then `load N` whenever the number
of calls it holds changes (a call it ended counts until pjsua has had time to free the slot).
The same lifetime rules as the dialer's workers apply (notes/pjsua2.md §3).
"""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import traceback
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pjsua2 as pj

from dialer.carrier.audio import CarrierAudio, carrier_audio
from dialer.carrier.profiles import Behaviour, Profile, behaviour_for
from dialer.sip.endpoint import SipLoop
from dialer.sip.sipmsg import parse, user_part

_HANGS_UP_AFTER_S = 3.0
_MAX_CALL_S = 120.0  # nothing the simulator answers lives longer than this
_SLOT_GRACE_S = 0.3
_RETIRE_DELAY_S = 1.0  # see dialer.sip.worker: media ports outlive their last link by this much
_PICK_UP_PAUSE_S = 0.4


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


@dataclass
class Incoming:
    key: str
    pj_id: int
    behaviour: Behaviour
    answered: bool = False
    ended: bool = False
    media_index: int = -1
    players: list[pj.AudioMediaPlayer] = field(default_factory=list)


class _Call(pj.Call):  # type: ignore[misc]
    def __init__(self, backend: Backend, account: pj.Account, key: str, call_id: int) -> None:
        super().__init__(account, call_id)
        self.backend = backend
        self.key = key

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.backend.guard(lambda: self.backend.on_state(self))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.backend.guard(lambda: self.backend.on_media(self))

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.backend.guard(lambda: self.backend.echo_dtmf(self, str(prm.digit)))


class _Account(pj.Account):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.backend.guard(lambda: self.backend.on_incoming(self, prm))


class Backend:
    def __init__(self, out_fd: int, host: str, seed: int, audio: CarrierAudio) -> None:
        self.out_fd = out_fd
        self.seed = seed
        self.audio = audio
        self.loop = SipLoop(host, log_level=1)
        self.native: dict[int, _Call] = {}
        self.calls: dict[str, Incoming] = {}
        self.draining = 0
        self.sequence = 0
        self.account = _Account(self)
        self.account.create(self.loop.account_config(f"sip:carrier@{host}"))
        # One looping player feeds every agent phone; the bridge duplicates its audio.
        self.agent_voice = pj.AudioMediaPlayer()
        self.agent_voice.createPlayer(str(audio.agent), 0)

    def guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def report(self, line: str) -> None:
        os.write(self.out_fd, (line + "\n").encode())

    def report_load(self) -> None:
        self.report(f"load {len(self.native) + self.draining}")

    def serve(self) -> None:
        threading.Thread(target=self._stop_when_orphaned, name="stdin", daemon=True).start()
        self.report(f"ready {self.loop.sip_port}")
        self.loop.run(self.guard)
        self.loop.destroy(self._release)

    def _stop_when_orphaned(self) -> None:
        sys.stdin.buffer.read()  # returns at EOF: the front has gone away
        self.loop.submit(self._stop)

    def _stop(self) -> None:
        self.loop.stopping = True

    def _release(self) -> None:
        self.calls.clear()
        self.native.clear()
        self.agent_voice = None
        self.account.shutdown()

    def on_incoming(self, account: _Account, prm: pj.OnIncomingCallParam) -> None:
        target = parse(prm.rdata.wholeMsg).request_uri
        self.sequence += 1
        incoming = Incoming(f"c{self.sequence}", prm.callId, behaviour_for(user_part(target), self.seed))
        call = _Call(self, account, incoming.key, prm.callId)
        self.native[prm.callId] = call
        self.calls[incoming.key] = incoming
        self.report_load()
        self.loop.call_later(_MAX_CALL_S, lambda: self._end(incoming, 480))
        profile = incoming.behaviour.profile
        if profile is Profile.AGENT:
            self._answer(incoming, 200)
        elif profile in (Profile.NOT_IN_SERVICE, Profile.UNAVAILABLE_SIT):
            self._answer(incoming, 183)
            final = 404 if profile is Profile.NOT_IN_SERVICE else 480
            delay = incoming.behaviour.ring_s + _wav_seconds(self.audio.not_in_service)
            self.loop.call_later(delay, lambda: self._end(incoming, final))
        elif profile in (Profile.BUSY, Profile.NETWORK_FAILURE):
            self._end(incoming, 486 if profile is Profile.BUSY else 503)  # normally answered by the front
        else:
            self._answer(incoming, 180)
            if profile is not Profile.NO_ANSWER:
                self.loop.call_later(incoming.behaviour.ring_s, lambda: self._answer(incoming, 200))

    def _live(self, incoming: Incoming) -> _Call | None:
        """The call's native object, unless it has ended (its pjsua id may already be reused)."""
        if self.calls.get(incoming.key) is not incoming or incoming.ended:
            return None
        return self.native.get(incoming.pj_id)

    def _answer(self, incoming: Incoming, code: int) -> None:
        call = self._live(incoming)
        if call is None:
            return
        param = pj.CallOpParam()
        param.statusCode = code
        try:
            call.answer(param)
        except pj.Error:
            return  # the caller cancelled meanwhile (PJSIP_ESESSIONTERMINATED)
        if code == 200:
            incoming.answered = True
            if incoming.behaviour.profile is Profile.HUMAN_HANGS_UP:
                self.loop.call_later(_HANGS_UP_AFTER_S, lambda: self._end(incoming, 200))

    def _end(self, incoming: Incoming, code: int) -> None:
        call = self._live(incoming)
        if call is None:
            return
        incoming.ended = True
        param = pj.CallOpParam()
        if not incoming.answered:
            param.statusCode = code
            if code == 404:
                header = pj.SipHeader()
                header.hName = "Reason"
                header.hValue = 'Q.850;cause=1;text="Unallocated number"'
                param.txOption.headers.append(header)
        call.hangup(param)

    def on_media(self, call: _Call) -> None:
        incoming = self.calls.get(call.key)
        if incoming is None:
            return
        info = call.getInfo()
        index = next(
            (
                i
                for i, media in enumerate(info.media)
                if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE
            ),
            -1,
        )
        if index < 0 or incoming.media_index >= 0:
            return
        incoming.media_index = index
        profile = incoming.behaviour.profile
        if profile is Profile.AGENT:
            if self.agent_voice is not None:
                self.agent_voice.startTransmit(call.getAudioMedia(index))
            return
        source = {
            Profile.HUMAN: self.audio.hello,
            Profile.HUMAN_HANGS_UP: self.audio.hello,
            Profile.MACHINE: self.audio.greeting,
            Profile.NOT_IN_SERVICE: self.audio.not_in_service,
            Profile.UNAVAILABLE_SIT: self.audio.not_in_service,
        }.get(profile)
        if source is None:
            return
        if profile in (Profile.HUMAN, Profile.HUMAN_HANGS_UP):
            # People put the phone to their ear before they speak.
            self.loop.call_later(_PICK_UP_PAUSE_S, lambda: self._play(incoming, source))
        else:
            self._play(incoming, source)

    def _play(self, incoming: Incoming, source: Path) -> None:
        call = self._live(incoming)
        if call is None:
            return
        player = pj.AudioMediaPlayer()
        player.createPlayer(str(source), pj.PJMEDIA_FILE_NO_LOOP)
        player.startTransmit(call.getAudioMedia(incoming.media_index))
        incoming.players.append(player)

    def echo_dtmf(self, call: _Call, digit: str) -> None:
        param = pj.CallSendDtmfParam()
        param.digits = digit
        param.method = pj.PJSUA_DTMF_METHOD_RFC2833
        call.sendDtmf(param)

    def on_state(self, call: _Call) -> None:
        info = call.getInfo()
        if info.state != pj.PJSIP_INV_STATE_DISCONNECTED:
            return
        incoming = self.calls.pop(call.key, None)
        self.native.pop(info.id, None)
        pj.Call.__swig_destroy__(call)
        if incoming is None:
            return
        players, incoming.players = incoming.players, []
        # Destroy players a little later, on this thread, once the bridge has dropped the call.
        self.loop.call_later(_RETIRE_DELAY_S, players.clear)
        if incoming.ended:
            self.draining += 1

            def drained() -> None:
                self.draining -= 1
                self.report_load()

            self.loop.call_later(_SLOT_GRACE_S, drained)
        self.report_load()


def main() -> None:
    faulthandler.enable()
    out_fd = os.dup(1)
    os.dup2(2, 1)
    host, seed = sys.argv[1], int(sys.argv[2])
    Backend(out_fd, host, seed, carrier_audio()).serve()
    sys.stderr.flush()
    os._exit(0)  # the stdin watcher thread may still block; pjsua2 is already destroyed


if __name__ == "__main__":
    main()
