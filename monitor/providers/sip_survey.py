"""An automated survey call over SIP: the keypad conversation of monitor/surveys/keypad.py, spoken on an answered
call and answered by the citizen's keys (no SIP stack imported here: sip_provider hands in each key, and the
call's audio is sip_media's).

Once answered, the call plays the recording notice (when recording is on), the introduction and the consent
question, then each question in turn (keypad.next_question) until it ends with its closing words
(keypad.closing) and we hang up. A key answers the question being asked, even while its prompt still plays
(the prompt stops: a citizen who knows the keys need not wait, as with Twilio's Gather); keys pressed during
the recording notice are ignored, so nobody agrees before hearing it. A question left without a key for
KEY_TIMEOUT after its prompt ends gets an empty answer and the call moves on; at the consent that ends the call
(an operator calls back: calls.settle). Each answer is one "gather" event with SurveyStep and Digits, keyed
survey:<Call-ID>:<step> as Twilio's webhooks key theirs, and emitted at once: a hang-up at any point keeps
what was answered.

The open comment (kind "text") is not asked over SIP: nothing here transcribes speech, and inviting words that
would be thrown away misleads the citizen. The call goes on past it and stores no answer for it.
Keys arrive as RFC 2833 telephone-events or SIP INFO (application/dtmf-relay); the stack reports both alike.

The prompts are synthesised (sip_prompt, cached per text) when the call is placed, on the dispatcher's worker,
never on the SIP thread; everything else here runs on the SIP thread.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from monitor.providers import sip_media, sip_prompt
from monitor.providers.base import ProviderConfigError, ProviderRejected
from monitor.providers.script import RECORDING_NOTICE
from monitor.providers.sip_signalling import timestamp
from monitor.surveys import keypad

KEY_TIMEOUT = 8.0  # seconds a question waits for its key once its prompt has been said (Twilio's Gather: 8)
HANG_UP_AFTER = 0.5  # seconds after the closing words before we hang up


def spoken(script: Mapping) -> list[str]:
    """Every sentence the call may say: the introduction, each question asked by keypad, the closing words."""
    prompts = [keypad.prompt(q) for q in keypad.asked(script["questions"]) if q["kind"] != "text"]
    return list(dict.fromkeys([keypad.intro(script["unit_name"]), *prompts, keypad.THANKS, keypad.GOODBYE,
                               keypad.NO_KEY]))


def _asked_by_keys(questions: list[Mapping], question: Mapping | None) -> Mapping | None:
    """The question itself, or the first after it that a key answers (comments are passed over), or None."""
    while question is not None and question["kind"] == "text":
        question = keypad.next_question(questions, question["key"], "")
    return question


class Conversation:
    """One survey call's conversation: built when the call is placed, then driven on the SIP thread by the call's
    ticks (tick) and keys (key). emit(record, params, kind, dedupe_key) hands an event to the sink."""

    def __init__(self, settings, script: Mapping, emit: Callable[[dict, dict, str, str], None],
                 clock: Callable[[], datetime]):
        cache = sip_prompt.prompt_dir(settings.database)
        try:
            self.files = {text: sip_prompt.synthesise(text, cache) for text in spoken(script)}
            self.notice = [sip_prompt.synthesise(RECORDING_NOTICE, cache)] if settings.twilio_record else []
        except ProviderConfigError as exc:  # no voice to speak with (espeak-ng missing): nothing dialled, our side
            raise ProviderRejected("no_prompt", exc.message, our_side=True) from None
        self.lengths = {path: sip_prompt.duration(path) for path in [*self.files.values(), *self.notice]}
        self.questions = script["questions"]
        self.unit_name = script["unit_name"]
        self.emit, self.clock = emit, clock
        self.step: Mapping | None = keypad.next_question(self.questions, None)  # the consent, first
        self.waiting_until: float | None = None  # when the question being asked goes without its key
        # Keys before this are ignored: the recording notice is still to be heard (known once the audio is up).
        self.keys_from = float("inf") if self.notice else 0.0

    def opening(self) -> list[Path]:
        """What the answered call plays first (sip_media schedules it): the notice, the introduction, the consent."""
        return [*self.notice, self.files[keypad.intro(self.unit_name)], self.files[keypad.prompt(self.step)]]

    def tick(self, record: dict, now: float) -> None:
        """Start the consent's wait once the opening is scheduled; give a question its empty answer on time."""
        if self.step is None:
            return
        if self.waiting_until is None:
            audio = record.get("audio")
            if audio is None and not record.get("audio_closed"):
                return  # the media is not up yet: nothing has been said
            self.waiting_until = self._end_of_queue(audio, now) + KEY_TIMEOUT
            noticed = self.notice and audio is not None and audio.due
            self.keys_from = audio.due[0][0] + self.lengths[self.notice[0]] if noticed else 0.0
        if now >= self.waiting_until:
            self._answer(record, "", now)

    def key(self, record: dict, digit: str, now: float) -> None:
        """A key pressed by the citizen: the answer of the question being asked (its prompt stops)."""
        if self.step is None or now < self.keys_from or record.get("answered_at") is None:
            return  # the call over, the notice still playing, or early media before the answer
        audio = record.get("audio")
        if audio is not None:  # barge-in: whatever is playing or queued stops
            audio.players.clear()
            audio.due.clear()
        self._answer(record, digit, now)

    # -- internals

    def _answer(self, record: dict, digits: str, now: float) -> None:
        step = self.step["key"]
        sid = record["sid"]
        self.emit(record, {"CallSid": sid, "SurveyStep": step, "Digits": digits, "Timestamp": timestamp(self.clock()),
                           "CallbackSource": "sip"}, "gather", f"survey:{sid}:{step}")
        self.step = _asked_by_keys(self.questions, keypad.next_question(self.questions, step, digits))
        if self.step is not None:
            self.waiting_until = self._say(record, self.files[keypad.prompt(self.step)], now) + KEY_TIMEOUT
            return
        ends = self._say(record, self.files[keypad.closing(step, digits)], now)
        record["hangup_at"] = min(record["hangup_at"], ends + HANG_UP_AFTER)  # never past the call's cap

    def _say(self, record: dict, path: Path, now: float) -> float:
        """Queue one prompt after what is queued; when it will have been said."""
        audio = record.get("audio")
        at = self._end_of_queue(audio, now) + (sip_media.GAP if audio is not None and audio.due else 0)
        if audio is not None:
            audio.due.append((at, path))
        return at + self.lengths[path]

    def _end_of_queue(self, audio, now: float) -> float:
        if audio is None or not audio.due:
            return now
        at, path = audio.due[-1]
        return max(now, at + self.lengths[path])
