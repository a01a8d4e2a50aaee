"""A SIP worker process: one pjsua2 Endpoint, at most `maxCalls` calls, driven by the supervisor.

Run as `python -m dialer.sip.worker`. The first line on stdin is the `configure` command; events
go out on the original stdout. Everything pjsua2 happens on the main thread (the SIP thread); a
reader thread only decodes commands and queues them.

Object lifetime (notes/pjsua2.md §3): the only references to native `pj.Call` objects live in
`Worker.native`, keyed by pjsua call id. The DISCONNECTED callback removes the entry and destroys
the native object right there, before pjsua can reuse the id. Everything else names calls by our
own call id.
"""

from __future__ import annotations

import faulthandler
import functools
import os
import sys
import threading
import time
import traceback
import wave
from collections.abc import Callable
from dataclasses import dataclass, field

import pjsua2 as pj

from dialer.sip import protocol as p
from dialer.sip.config import NodeConfig, Trunk, node_config_from_dict
from dialer.sip.endpoint import SipLoop, Timer
from dialer.sip.frames import FrameTap, TapPool
from dialer.sip.sipmsg import parse, q850_cause
from dialer.sip.taps import AmdSession, EarlyMediaSession, Verdict

_PJ_ETOOMANY = 70010
# pjsua 2.15's bridge applies connects and disconnects asynchronously on its clock thread, and
# a media port's memory is freed as soon as its object is destroyed. Destroying a port only well
# after its last link went away keeps a late clock tick (the clock may lag under load) off freed
# memory.
_RETIRE_DELAY_S = 1.0
_SAVE_WAIT_S = 2.0


def _wav_finalised(path: str) -> bool:
    try:
        with open(path, "rb") as wav:
            header = wav.read(8)
    except OSError:
        return False
    return len(header) == 8 and int.from_bytes(header[4:8], "little") > 0


@dataclass
class Prompt:
    player: pj.AudioMediaPlayer
    purpose: str
    path: str
    timer: Timer | None = None


@dataclass
class Recording:
    recorder: pj.AudioMediaRecorder
    path: str
    paused: bool = False


@dataclass
class Leg:
    id: str
    role: str  # "customer" | "agent" | "inbound"
    placed_at: float
    amd_wanted: bool = False
    classify_early: bool = False
    pj_id: int = -1
    trying_sent: bool = False
    ringing_codes: set[int] = field(default_factory=set)
    early_media: bool = False
    answered_at: float | None = None
    media_index: int = -1
    partner: str = ""
    local_cause: str = ""
    q850: tuple[int, str] | None = None
    ring_timer: Timer | None = None
    amd: AmdSession | None = None
    amd_started_at: float | None = None
    amd_verdict: str = ""  # the AMD kind once decided
    bridge_after_amd: str = ""  # the leg to bridge to as soon as AMD finds no machine
    early: EarlyMediaSession | None = None
    early_class: str = "none"
    recording: Recording | None = None
    prompts: list[Prompt] = field(default_factory=list)
    after_media: list[Callable[[], None]] = field(default_factory=list)


class _LegCall(pj.Call):  # type: ignore[misc]
    def __init__(self, worker: Worker, account: pj.Account, leg_id: str, call_id: int = -1) -> None:
        super().__init__(account, call_id)
        self.worker = worker
        self.leg_id = leg_id
        self.dead = False

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.worker.guard(lambda: self.worker.on_state(self, prm))

    def onCallTsxState(self, prm: pj.OnCallTsxStateParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.worker.guard(lambda: self.worker.on_tsx(self, prm))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.worker.guard(lambda: self.worker.on_media(self))

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.worker.guard(lambda: self.worker.emit(p.DTMF_RECEIVED, self.leg_id, digit=str(prm.digit)))

    def onCallRedirected(self, prm: pj.OnCallRedirectedParam) -> int:  # noqa: N802 - pjsua2 callback name
        # Carriers may answer 302 with the gateway that will take the call.
        return int(pj.PJSIP_REDIRECT_ACCEPT_REPLACE)


class _Account(pj.Account):  # type: ignore[misc]
    def __init__(self, worker: Worker) -> None:
        super().__init__()
        self.worker = worker

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802 - pjsua2 callback name
        self.worker.guard(lambda: self.worker.reject_incoming(self, prm.callId))


class Worker:
    def __init__(self, out_fd: int, config: NodeConfig) -> None:
        self.out_fd = out_fd
        self.config = config
        self.loop = SipLoop(config.bind_host, config.log_level)
        self.native: dict[int, _LegCall] = {}
        self.legs: dict[str, Leg] = {}
        self.trunks: dict[str, tuple[Trunk, _Account]] = {}
        for trunk in config.trunks:
            self.trunks[trunk.name] = (trunk, self._account(trunk.caller_id, trunk))
        self.local_account = self._account(f"sip:arrears@{config.bind_host}", None)
        self.retiring: dict[object, object] = {}
        self.taps = TapPool(self.loop.max_calls + 2)
        self.loop.idle_hooks.append(self._poll_taps)
        self.loop.hot = lambda: any(
            leg.amd is not None or leg.early is not None for leg in self.legs.values()
        )

    def _account(self, id_uri: str, trunk: Trunk | None) -> _Account:
        account_config = self.loop.account_config(id_uri)
        if trunk is not None and trunk.username:
            credentials = pj.AuthCredInfo("digest", trunk.realm, trunk.username, 0, trunk.password)
            account_config.sipConfig.authCreds.append(credentials)
        account = _Account(self)
        account.create(account_config)
        return account

    # -- plumbing -------------------------------------------------------------------------------

    def emit(self, kind: str, call: str = "", **detail: p.Scalar) -> None:
        event = p.Event(kind=kind, call=call, at=time.time(), detail=detail)
        try:
            os.write(self.out_fd, event.encode())
        except BrokenPipeError:
            self.loop.stopping = True  # the supervisor is gone

    def guard(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def serve(self) -> None:
        threading.Thread(target=self._read_commands, name="commands", daemon=True).start()
        self.emit(p.READY, max_calls=self.loop.max_calls, sip_port=self.loop.sip_port, pid=os.getpid())
        self.loop.run(self.guard)
        self.loop.destroy(self._release_all)

    def _read_commands(self) -> None:
        for line in sys.stdin.buffer:
            if line.strip():
                self.loop.submit(functools.partial(self.handle, p.Command.decode(line)))
        self.loop.submit(self._stop)  # the supervisor is gone

    def _stop(self) -> None:
        self.loop.stopping = True

    def _release_all(self) -> None:
        for leg in self.legs.values():
            leg.prompts.clear()
            leg.recording = None
            leg.amd = None
            leg.early = None
        self.legs.clear()
        self.native.clear()
        self.retiring.clear()
        # The taps stay alive through libDestroy: destroying an AudioMediaPort queues its removal
        # for a bridge clock tick that would touch the freed port (pjproject #4200). The process
        # ends with os._exit right after, so their destructors never run.
        for _, account in self.trunks.values():
            account.shutdown()
        self.local_account.shutdown()
        self.trunks.clear()

    def handle(self, command: p.Command) -> None:
        handlers: dict[str, Callable[[p.Command], None]] = {
            p.ORIGINATE: self._originate,
            p.AGENT_LEG: self._agent_leg,
            p.BRIDGE: self._bridge,
            p.UNBRIDGE: self._unbridge,
            p.PLAY: self._play,
            p.RECORD: self._record,
            p.PAUSE_RECORDING: self._pause_recording,
            p.RESUME_RECORDING: self._resume_recording,
            p.STOP_RECORDING: self._stop_recording,
            p.DTMF: self._dtmf,
            p.HANGUP: self._hangup_command,
            p.STATS: self._stats,
            p.SHUTDOWN: lambda _: self._stop(),
        }
        try:
            handlers[command.op](command)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self.emit(p.COMMAND_FAILED, command.call, op=command.op, error=str(error))

    def _retire(self, media: object, then: Callable[[], None] | None = None) -> None:
        """Destroy a player, recorder or port shortly, on this thread, after its links are gone."""
        token = object()
        self.retiring[token] = media  # the only reference: popping it runs the native destructor

        def destroy() -> None:
            del self.retiring[token]
            if then is not None:
                then()

        self.loop.call_later(_RETIRE_DELAY_S, destroy)

    def _native(self, leg: Leg) -> _LegCall | None:
        """The leg's native call, unless the leg has ended (its pjsua id may already be reused)."""
        if self.legs.get(leg.id) is not leg:
            return None
        return self.native.get(leg.pj_id)

    def _audio(self, leg: Leg) -> pj.AudioMedia | None:
        call = self._native(leg)
        if call is None or leg.media_index < 0:
            return None
        try:
            return call.getAudioMedia(leg.media_index)
        except pj.Error:
            return None  # media already torn down (the call is ending)

    def _when_media(self, leg: Leg, action: Callable[[], None]) -> None:
        if leg.media_index >= 0:
            action()
        else:
            leg.after_media.append(action)

    # -- placing calls --------------------------------------------------------------------------

    def _place(self, leg: Leg, account: _Account, uri: str, headers: list[tuple[str, str]]) -> None:
        call = _LegCall(self, account, leg.id)
        param = pj.CallOpParam(True)
        param.opt.audioCount = 1
        param.opt.videoCount = 0
        for name, value in headers:
            header = pj.SipHeader()
            header.hName = name
            header.hValue = value
            param.txOption.headers.append(header)
        self.legs[leg.id] = leg  # callbacks may fire inside makeCall
        try:
            call.makeCall(uri, param)
        except pj.Error as error:
            self.legs.pop(leg.id, None)
            if error.status == _PJ_ETOOMANY:
                self.emit(p.BACKPRESSURE, leg.id)
            else:
                self.emit(p.HANGUP_EVENT, leg.id, **self._setup_failure(leg, str(error.reason)))
                self.emit(p.SLOT_FREED, leg.id)
            return
        if not call.dead:  # a synchronous failure may already have run the DISCONNECTED path
            leg.pj_id = call.getId()
            self.native[leg.pj_id] = call

    def _setup_failure(self, leg: Leg, reason: str) -> dict[str, p.Scalar]:
        return {
            "role": leg.role,
            "sip_code": 0,
            "reason": f"setup failed: {reason}",
            "hung_up_by": "dialer",
            "cause": "setup_error",
            "answered": False,
            "rang": False,
        }

    def _originate(self, command: p.Command) -> None:
        request = p.Originate(**command.args)
        trunk, account = self.trunks[request.trunk]
        headers = [(trunk.attempt_header, request.attempt_id)]
        if trunk.asserted_identity:
            headers.append(("P-Asserted-Identity", trunk.asserted_identity))
        leg = Leg(
            id=command.call,
            role="customer",
            placed_at=time.monotonic(),
            amd_wanted=request.amd,
            classify_early=request.classify_early_media,
        )
        self._place(leg, account, trunk.uri_for(request.number), headers)
        if command.call in self.legs:
            leg.ring_timer = self.loop.call_later(
                self.config.ring_timeout_s, lambda: self._hangup(leg, "ring_timeout")
            )

    def _agent_leg(self, command: p.Command) -> None:
        request = p.AgentLeg(**command.args)
        leg = Leg(id=command.call, role="agent", placed_at=time.monotonic())
        self._place(leg, self.local_account, request.agent_uri, list(self.config.agent_headers))
        if command.call in self.legs:
            leg.ring_timer = self.loop.call_later(
                self.config.agent_ring_timeout_s, lambda: self._hangup(leg, "agent_no_answer")
            )

    def reject_incoming(self, account: _Account, call_id: int) -> None:
        """Nobody dials a worker; turn stray INVITEs away without letting them hold a slot."""
        leg = Leg(id=f"inbound-{call_id}-{time.monotonic_ns()}", role="inbound", placed_at=time.monotonic())
        call = _LegCall(self, account, leg.id, call_id)
        leg.pj_id = call_id
        self.legs[leg.id] = leg
        self.native[call_id] = call
        param = pj.CallOpParam()
        param.statusCode = 603
        call.hangup(param)

    # -- callbacks --------------------------------------------------------------------------------

    def on_tsx(self, call: _LegCall, prm: pj.OnCallTsxStateParam) -> None:
        leg = self.legs.get(call.leg_id)
        if leg is None or leg.answered_at is not None:
            return  # only call setup matters here; the Reason of a BYE arrives with DISCONNECTED
        tsx = prm.e.body.tsxState.tsx
        if tsx.method == "INVITE" and tsx.statusCode == 100 and not leg.trying_sent:
            leg.trying_sent = True
            self.emit(p.TRYING, leg.id)
        if prm.e.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG:
            self._note_reason(leg, prm.e.body.tsxState.src.rdata.wholeMsg)

    def _note_reason(self, leg: Leg, whole_message: str) -> None:
        if "reason" not in whole_message.lower():
            return
        reason = q850_cause(parse(whole_message))
        if reason is not None:
            leg.q850 = (reason.cause, reason.text)

    def on_state(self, call: _LegCall, prm: pj.OnCallStateParam) -> None:
        leg = self.legs.get(call.leg_id)
        if leg is None:
            return
        info = call.getInfo()
        if info.state == pj.PJSIP_INV_STATE_EARLY:
            code = int(info.lastStatusCode)
            if code in (180, 183) and code not in leg.ringing_codes:
                leg.ringing_codes.add(code)
                self.emit(p.RINGING, leg.id, code=code)
        elif info.state == pj.PJSIP_INV_STATE_CONFIRMED and leg.answered_at is None:
            self._on_answered(leg)
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self._on_disconnected(call, leg, info, prm)

    def on_media(self, call: _LegCall) -> None:
        leg = self.legs.get(call.leg_id)
        if leg is None:
            return
        info = call.getInfo()
        leg.media_index = -1
        for index, media in enumerate(info.media):
            usable = (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD)
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status in usable:
                leg.media_index = index
        if leg.media_index < 0:
            return
        if info.state == pj.PJSIP_INV_STATE_EARLY and not leg.early_media:
            leg.early_media = True
            self.emit(p.EARLY_MEDIA, leg.id)
            if leg.classify_early:
                self._start_early_classifier(leg)
        pending, leg.after_media = leg.after_media, []
        for action in pending:
            self.guard(action)

    def _on_answered(self, leg: Leg) -> None:
        leg.answered_at = time.monotonic()
        if leg.ring_timer is not None:
            leg.ring_timer.cancel()
        if leg.amd_wanted:  # first: the person may start speaking at once
            self._when_media(leg, lambda: self._start_amd(leg))
        self._finish_early_classifier(leg)
        self.emit(p.ANSWERED, leg.id, setup_s=round(leg.answered_at - leg.placed_at, 4))

    def _on_disconnected(self, call: _LegCall, leg: Leg, info: pj.CallInfo, prm: pj.OnCallStateParam) -> None:
        event = prm.e
        if event.type == pj.PJSIP_EVENT_TSX_STATE and event.body.tsxState.type == pj.PJSIP_EVENT_RX_MSG:
            self._note_reason(leg, event.body.tsxState.src.rdata.wholeMsg)
        if leg.ring_timer is not None:
            leg.ring_timer.cancel()
        self._finish_early_classifier(leg)
        leg.bridge_after_amd = ""  # the call is gone: nothing to bridge
        if leg.amd is not None:
            self._stop_amd(leg, leg.amd.finish())
        for prompt in list(leg.prompts):
            self._finish_prompt(leg, prompt, completed=False)
        if leg.recording is not None:
            self._finish_recording(leg)
        partner = self.legs.get(leg.partner)
        if partner is not None:
            partner.partner = ""
            self.loop.call_later(0, lambda: self._hangup(partner, "partner_hangup"))
        detail: dict[str, p.Scalar] = {
            "role": leg.role,
            "sip_code": int(info.lastStatusCode),
            "reason": str(info.lastReason),
            "q850": leg.q850[0] if leg.q850 else None,
            "q850_text": leg.q850[1] if leg.q850 else None,
            "hung_up_by": "dialer" if leg.local_cause else "remote",
            "cause": leg.local_cause or None,
            "answered": leg.answered_at is not None,
            "rang": bool(leg.ringing_codes),
            "early_media": leg.early_media,
            "early_media_class": leg.early_class,
            "connect_s": info.connectDuration.sec + info.connectDuration.msec / 1000,
            "total_s": info.totalDuration.sec + info.totalDuration.msec / 1000,
        }
        # Lifetime rule: unregister and destroy the native call now, while its id is still ours.
        self.native.pop(leg.pj_id, None)
        del self.legs[leg.id]
        call.dead = True
        pj.Call.__swig_destroy__(call)
        if leg.role == "inbound":
            return
        self.emit(p.HANGUP_EVENT, leg.id, **detail)
        if leg.local_cause:
            # pjsua keeps the slot until our CANCEL or BYE transaction completes.
            self.loop.call_later(self.config.drain_grace_s, lambda: self.emit(p.SLOT_FREED, leg.id))
        else:
            self.emit(p.SLOT_FREED, leg.id)

    # -- listeners (AMD, early media) -------------------------------------------------------------

    def _start_amd(self, leg: Leg) -> None:
        audio = self._audio(leg)
        if audio is None or leg.amd is not None or leg.id not in self.legs:
            return
        tap = self.taps.take()
        if tap is None:
            self._amd_decided(leg, Verdict("unknown", 0.0, "no free audio tap"))
            return
        leg.amd = AmdSession.start(tap, self.config.amd_window_s)
        audio.startTransmit(tap)
        leg.amd_started_at = time.monotonic()

    def _stop_amd(self, leg: Leg, verdict: Verdict) -> None:
        session, leg.amd = leg.amd, None
        if session is None:
            return
        self._detach(leg, session.tap)
        self._amd_decided(leg, verdict)

    def _amd_decided(self, leg: Leg, verdict: Verdict) -> None:
        leg.amd_verdict = verdict.kind
        listening_from = leg.amd_started_at if leg.amd_started_at is not None else time.monotonic()
        self.emit(
            p.AMD,
            leg.id,
            verdict=verdict.kind,
            decided_after_s=round(verdict.decided_after_s, 3),
            reason=verdict.reason,
            # How long after the answer the detector started listening: anything said before is lost.
            listening_after_s=round(listening_from - (leg.answered_at or listening_from), 4),
        )
        partner = self.legs.get(leg.bridge_after_amd)
        leg.bridge_after_amd = ""
        if partner is not None and leg.id in self.legs:
            self._bridge_after_amd(leg, partner)

    def _start_early_classifier(self, leg: Leg) -> None:
        audio = self._audio(leg)
        tap = self.taps.take() if audio is not None else None
        if audio is None or tap is None:
            return
        leg.early = EarlyMediaSession(tap)
        audio.startTransmit(tap)

    def _finish_early_classifier(self, leg: Leg) -> None:
        session, leg.early = leg.early, None
        if session is not None:
            leg.early_class = str(session.classify())
            self._detach(leg, session.tap)

    def _detach(self, leg: Leg, tap: FrameTap) -> None:
        audio = self._audio(leg)
        if audio is not None:
            audio.stopTransmit(tap)
        self.taps.give_back(tap)

    def _poll_taps(self) -> None:
        for leg in list(self.legs.values()):
            if leg.amd is not None:
                verdict = leg.amd.poll()
                if verdict is not None:
                    self._stop_amd(leg, verdict)
            if leg.early is not None:
                leg.early.poll()
                if leg.early.full:
                    self._finish_early_classifier(leg)

    # -- bridging, prompts, recordings, DTMF --------------------------------------------------------

    def _pair(self, command: p.Command) -> tuple[Leg, Leg]:
        return self.legs[command.call], self.legs[str(command.args["with"])]

    def _bridge(self, command: p.Command) -> None:
        first, second = self._pair(command)
        if not command.args.get("after_amd"):
            self._connect_when_media(first, second)
        elif first.amd_wanted and not first.amd_verdict:
            # Armed here rather than in the supervisor: the bridge follows the verdict on this
            # thread, without a round trip through two busy processes.
            first.bridge_after_amd = second.id
        else:
            self._bridge_after_amd(first, second)

    def _bridge_after_amd(self, customer: Leg, agent: Leg) -> None:
        if customer.amd_verdict == "machine":
            self.emit(p.COMMAND_FAILED, customer.id, op=p.BRIDGE, error="AMD found a machine")
        else:
            self._connect_when_media(customer, agent)

    def _connect_when_media(self, first: Leg, second: Leg) -> None:
        def connect() -> None:
            if first.media_index < 0 or second.media_index < 0:
                return  # the other leg's media callback will run this again
            if first.partner == second.id or first.id not in self.legs or second.id not in self.legs:
                return
            a, b = self._audio(first), self._audio(second)
            assert a is not None
            assert b is not None
            a.startTransmit(b)
            b.startTransmit(a)
            first.partner, second.partner = second.id, first.id
            for leg, other in ((first, b), (second, a)):
                if leg.recording is not None and not leg.recording.paused:
                    other.startTransmit(leg.recording.recorder)
            self.emit(p.BRIDGED, first.id, with_call=second.id)

        self._when_media(first, connect)
        self._when_media(second, connect)

    def _unbridge(self, command: p.Command) -> None:
        first, second = self._pair(command)
        a, b = self._audio(first), self._audio(second)
        if a is not None and b is not None:
            a.stopTransmit(b)
            b.stopTransmit(a)
        first.partner = second.partner = ""
        self.emit(p.UNBRIDGED, first.id, with_call=second.id)

    def _play(self, command: p.Command) -> None:
        request = p.Play(**command.args)
        leg = self.legs[command.call]

        def start() -> None:
            audio = self._audio(leg)
            if audio is None or leg.id not in self.legs:
                return
            with wave.open(request.path, "rb") as wav:
                duration = wav.getnframes() / wav.getframerate()
            player = pj.AudioMediaPlayer()
            player.createPlayer(request.path, pj.PJMEDIA_FILE_NO_LOOP)
            player.startTransmit(audio)
            if leg.recording is not None and not leg.recording.paused:
                player.startTransmit(leg.recording.recorder)
            # The end of play is timed from the file length on this thread rather than taken from
            # the player's EOF callback, which fires on the bridge clock thread (see notes §5.3).
            prompt = Prompt(player, request.purpose, request.path)
            prompt.timer = self.loop.call_later(
                duration, lambda: self._finish_prompt(leg, prompt, completed=True)
            )
            leg.prompts.append(prompt)

        self._when_media(leg, start)

    def _finish_prompt(self, leg: Leg, prompt: Prompt, completed: bool) -> None:
        if prompt not in leg.prompts:
            return
        leg.prompts.remove(prompt)
        if prompt.timer is not None:
            prompt.timer.cancel()
            prompt.timer = None
        audio = self._audio(leg)
        if audio is not None:
            prompt.player.stopTransmit(audio)
        if leg.recording is not None and not leg.recording.paused:
            prompt.player.stopTransmit(leg.recording.recorder)
        self._retire(prompt.player)
        self.emit(p.PROMPT_DONE, leg.id, purpose=prompt.purpose, completed=completed, path=prompt.path)

    def _sources(self, leg: Leg) -> list[pj.AudioMedia]:
        """Everything the callee says and hears: their leg, the bridged partner, running prompts."""
        sources = [
            self._audio(leg),
            self._audio(self.legs[leg.partner]) if leg.partner in self.legs else None,
        ]
        return [s for s in sources if s is not None] + [prompt.player for prompt in leg.prompts]

    def _record(self, command: p.Command) -> None:
        leg = self.legs[command.call]
        path = str(command.args["path"])

        def start() -> None:
            if leg.recording is not None or leg.id not in self.legs:
                return
            recorder = pj.AudioMediaRecorder()
            recorder.createRecorder(path)
            leg.recording = Recording(recorder, path)
            for source in self._sources(leg):
                source.startTransmit(recorder)
            self.emit(p.RECORDING, leg.id, state="recording", path=path)

        self._when_media(leg, start)

    def _pause_recording(self, command: p.Command) -> None:
        leg = self.legs[command.call]
        if leg.recording is not None and not leg.recording.paused:
            for source in self._sources(leg):
                source.stopTransmit(leg.recording.recorder)
            leg.recording.paused = True
            self.emit(p.RECORDING, leg.id, state="paused", path=leg.recording.path)

    def _resume_recording(self, command: p.Command) -> None:
        leg = self.legs[command.call]
        if leg.recording is not None and leg.recording.paused:
            for source in self._sources(leg):
                source.startTransmit(leg.recording.recorder)
            leg.recording.paused = False
            self.emit(p.RECORDING, leg.id, state="recording", path=leg.recording.path)

    def _stop_recording(self, command: p.Command) -> None:
        leg = self.legs[command.call]
        if leg.recording is not None:
            self._finish_recording(leg)

    def _finish_recording(self, leg: Leg) -> None:
        recording, leg.recording = leg.recording, None
        assert recording is not None
        if not recording.paused:
            for source in self._sources(leg):
                source.stopTransmit(recording.recorder)
        path = recording.path
        self._retire(recording.recorder, then=lambda: self._announce_saved(leg.id, path, time.monotonic()))

    def _announce_saved(self, leg_id: str, path: str, since: float) -> None:
        """Report the recording once pjmedia has written the final WAV header.

        The recorder's port is destroyed by the bridge clock after the asynchronous removal, so
        the header is rewritten a tick or two after the Python object is gone."""
        if _wav_finalised(path) or time.monotonic() - since > _SAVE_WAIT_S:
            self.emit(p.RECORDING, leg_id, state="saved", path=path, complete=_wav_finalised(path))
        else:
            self.loop.call_later(0.02, lambda: self._announce_saved(leg_id, path, since))

    def _dtmf(self, command: p.Command) -> None:
        leg = self.legs[command.call]
        call = self.native[leg.pj_id]
        param = pj.CallSendDtmfParam()
        param.digits = str(command.args["digits"])
        param.method = pj.PJSUA_DTMF_METHOD_RFC2833
        method = "rfc4733"
        try:
            call.sendDtmf(param)
        except pj.Error:
            # The peer did not offer telephone-event; SIP INFO is the fallback.
            param.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
            call.sendDtmf(param)
            method = "sip_info"
        self.emit(p.DTMF_SENT, leg.id, digits=param.digits, method=method)

    def _stats(self, command: p.Command) -> None:
        leg = self.legs[command.call]
        call = self.native[leg.pj_id]
        audio = self._audio(leg)
        if audio is None:
            self.emit(p.STATS_REPORT, leg.id, media=False)
            return
        stat = call.getStreamStat(leg.media_index)
        self.emit(
            p.STATS_REPORT,
            leg.id,
            media=True,
            rx_packets=int(stat.rtcp.rxStat.pkt),
            tx_packets=int(stat.rtcp.txStat.pkt),
            rx_lost=int(stat.rtcp.rxStat.loss),
            rx_level=int(audio.getRxLevel()),
            tx_level=int(audio.getTxLevel()),
        )

    # -- hanging up -------------------------------------------------------------------------------

    def _hangup_command(self, command: p.Command) -> None:
        leg = self.legs.get(command.call)
        if leg is not None:
            self._hangup(leg, str(command.args.get("cause", "command")))

    def _hangup(self, leg: Leg, cause: str) -> None:
        call = self._native(leg)
        if call is None or call.dead or leg.local_cause:
            return
        leg.local_cause = cause
        call.hangup(pj.CallOpParam())


def main() -> None:
    faulthandler.enable()  # a native crash leaves a Python stack on stderr for the supervisor's log
    # Keep the event stream on a private copy of stdout; pjsua's own prints go to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    first = p.Command.decode(sys.stdin.buffer.readline())
    if first.op != p.CONFIGURE:
        raise SystemExit(f"expected {p.CONFIGURE}, got {first.op}")
    Worker(out_fd, node_config_from_dict(first.args)).serve()
    sys.stderr.flush()
    # The command reader thread may still block on stdin; skip interpreter finalisation, which
    # would wait on it. pjsua2 has already been destroyed in order by `serve`.
    os._exit(0)


if __name__ == "__main__":
    main()
