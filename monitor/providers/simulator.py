"""The embedded simulator: plausible hotline behaviour per number, sent as Twilio-shaped events.

Each number has its own habit, chosen from a hash of the number (so the demo is stable): most answer after
a few rings, some never answer, are busy, unreachable, hand over to a voicemail or IVR, or an operator tells
the caller to call another number; and some calls are genuinely unclear (a half-heard "alo… dạ…", a person's
voice where detection says machine, a referral whose number is cut off), the calls the rules hold for an
inspector's review. Each call also has a small chance to behave differently. Events go
through the sink — the same ingest path as Twilio's webhooks — with their own Timestamp, so ring and answer
times look real even when SIMULATOR_SPEED compresses the waiting.
"""
from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from email.utils import format_datetime

from monitor.providers.base import ProviderUnavailable
from monitor.providers.script import question_for
from monitor.providers.simulated_citizen import simulate_survey
from monitor.settings import Settings
from registry.clock import utcnow

log = logging.getLogger(__name__)

# A number's habit (weights in %), and what a single call may do instead (VARIATION of the time).
HABITS = {"answered": 57, "no_answer": 9, "busy": 7, "unreachable": 6, "machine": 8, "redirect": 8, "unclear": 5}
VARIATION = 0.12
VARIATION_WEIGHTS = {**HABITS, "route_error": 3}
RING_CYCLE = 5.0  # Vietnamese ringback: about one ring every five seconds
ACCOUNT_SID = "AC" + "51" * 16

DIGITS_VI = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
GREETINGS = [
    "Alo, {unit} xin nghe ạ.",
    "Dạ {unit} nghe đây ạ.",
    "Alo, đường dây nóng {unit}, em nghe.",
    "A lô, dạ em nghe, anh cần gì ạ?",
]
ANSWERS = [
    "Dạ đúng rồi anh, đây là số đường dây nóng, anh cần hỏi thủ tục gì ạ?",
    "Dạ phải, anh cứ nói, em ghi nhận rồi chuyển bộ phận giải quyết cho anh.",
    "Dạ đúng rồi, số {spoken} là đường dây nóng của bên em ạ.",
    "Dạ vâng, anh chờ máy một chút em chuyển máy cho cán bộ phụ trách nhé.",
]
REFERRALS = [
    "Dạ việc này bên em không phụ trách, anh chị vui lòng gọi số {other} để được hỗ trợ.",
    "Dạ đây là {unit}, anh chị vui lòng gọi số {other} để được hỗ trợ.",
    "Số này không còn là đường dây nóng nữa anh, anh gọi qua số {other} nhé.",
    "Dạ cái này anh liên hệ bộ phận một cửa ở xã nhé, bên em không giải quyết.",
    "Anh gọi tổng đài một không hai hai hỏi giúp em nhé.",
]
MACHINES = [
    "Cảm ơn quý khách đã gọi đến {unit}. Hiện không có cán bộ trực, vui lòng để lại lời nhắn sau tiếng bíp.",
    "Kính chào quý khách. Để gặp bộ phận tiếp nhận hồ sơ, vui lòng bấm phím một.",
    "Xin chào, quý khách đã gọi ngoài giờ làm việc. Vui lòng để lại lời nhắn.",
]
# Half-heard calls, as a speech recogniser writes them down on a bad line: (AMD result, greeting, answer).
# Nobody can tell from these alone whether a person answered properly or who was referred where.
UNCLEAR = [
    ("unknown", "alo… dạ… (không nghe rõ)", ""),
    ("unknown", "a… lô… (tiếng ồn)", "dạ… (không nghe rõ) …"),
    ("machine_start", "alo alo", ""),
    ("machine_end_other", "dạ… xin… (không nghe rõ)", ""),
    ("human", "alo {unit}…", "dạ cái này… anh hỏi bên… số… (không nghe rõ)"),
    ("human", "dạ…", "anh gọi… {partial}… (không nghe rõ) hỏi thử xem"),
]
CARRIER = [
    "Thuê bao quý khách vừa gọi tạm thời không liên lạc được, xin quý khách vui lòng gọi lại sau.",
    "Số máy quý khách vừa gọi không có thực, xin quý khách vui lòng kiểm tra lại.",
]


def _unit_float(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / float(16**12)


def _pick(weights: Mapping[str, float], x: float) -> str:
    total = float(sum(weights.values()))
    acc = 0.0
    for name, weight in weights.items():
        acc += weight / total
        if x < acc:
            return name
    return name


def habit(number: str) -> str:
    """What this number usually does (deterministic from the number)."""
    return _pick(HABITS, _unit_float("habit:" + number))


def national(number: str) -> str:
    return "0" + number[3:] if number.startswith("+84") else number


def speak_number(number: str, rng: random.Random | None = None) -> str:
    """Digits read out in Vietnamese in groups, as an operator would ('không hai bảy bảy, ba tám năm một, …')."""
    digits = national(number)
    if len(digits) == 11:
        groups = [digits[:4], digits[4:8], digits[8:]]
    elif len(digits) == 10:
        groups = [digits[:4], digits[4:7], digits[7:]]
    else:
        groups = [digits]
    words = []
    for group in groups:
        spoken = [DIGITS_VI[int(d)] for d in group]
        if rng is not None and rng.random() < 0.3:
            spoken = ["bẩy" if w == "bảy" else w for w in spoken]
        words.append(" ".join(spoken))
    return ", ".join(words)


def other_number(number: str, rng: random.Random) -> str:
    """A plausible different number of the same kind to be referred to."""
    digits = national(number)
    while True:
        if digits.startswith("02") and len(digits) == 11:
            candidate = digits[:6] + "".join(str(rng.randrange(10)) for _ in range(5))
        else:
            candidate = "0277385" + "".join(str(rng.randrange(10)) for _ in range(4))
        if candidate != digits:
            return candidate


def simulate_call(attempt: dict, *, ring_timeout: int, rng: random.Random) -> tuple[str, list[tuple[float, str, dict]]]:
    """(behaviour, [(seconds after dialling, kind, params)]) for one simulated call.

    attempt["simulate"], when set, is the behaviour to play (one of HABITS or route_error); for "unclear",
    attempt["variant"] may pick which of UNCLEAR.
    """
    if attempt.get("purpose") == "survey":  # a sampled citizen, not a hotline
        return simulate_survey(attempt, ring_timeout=ring_timeout, rng=rng)
    number = attempt["number"]
    behaviour = habit(number)
    if rng.random() < VARIATION:
        behaviour = _pick(VARIATION_WEIGHTS, rng.random())
    # The demo's seeded story asks for one behaviour ("unclear", "no_answer") instead of the number's habit.
    behaviour = attempt.get("simulate") or behaviour
    unit = attempt.get("unit_name") or "đường dây nóng"
    rings = 1 + int(_unit_float("rings:" + number) * 6)  # this number's usual number of rings: 1..6
    rings = max(1, min(6, rings + rng.choice((-1, 0, 0, 1))))
    post_dial = rng.uniform(1.5, 4.0)
    steps: list[tuple[float, str, dict]] = [(0.0, "status", {"CallStatus": "initiated"})]

    def answered_call(amd: str, greeting: str, answer: str, ring_seconds: float, talk: float, clear: bool = True):
        answer_at = post_dial + ring_seconds
        steps.append((post_dial, "status", {"CallStatus": "ringing"}))
        steps.append((answer_at, "status", {"CallStatus": "in-progress"}))
        steps.append((answer_at + rng.uniform(1.5, 4.0), "amd", {"AnsweredBy": amd, "MachineDetectionDuration": "2400"}))
        low, high = (0.7, 0.95) if clear else (0.15, 0.45)  # a bad line: the recogniser is unsure of what it heard
        steps.append((answer_at + 4.0, "gather", {"SpeechResult": greeting, "Confidence": f"{rng.uniform(low, high):.2f}", "GatherStep": "greeting"}))
        # The answer step also records the scripted question our caller asked (the demo logs it like a citizen's).
        steps.append((answer_at + 14.0, "gather", {"SpeechResult": answer, "Confidence": f"{rng.uniform(low - 0.1, high - 0.02):.2f}" if answer else "", "GatherStep": "answer",
                                                   "Question": question_for(attempt.get("id") or 0).text}))
        steps.append((answer_at + talk, "status", {"CallStatus": "completed", "CallDuration": str(int(talk)), "SipResponseCode": "200"}))

    ring_seconds = rng.uniform(max(1.0, (rings - 1) * RING_CYCLE + 1), rings * RING_CYCLE)
    if behaviour == "answered":
        template = rng.choice(ANSWERS)
        answer = template.format(spoken=speak_number(number, rng))
        answered_call(rng.choice(["human"] * 6 + ["unknown"]), rng.choice(GREETINGS).format(unit=unit), answer,
                      ring_seconds, rng.uniform(18, 40))
    elif behaviour == "redirect":
        other = rng.choice([other_number(number, rng), other_number(number, rng), "1022"])
        referral = rng.choice(REFERRALS).format(unit=unit, other=speak_number(other, rng))
        answered_call("human", rng.choice(GREETINGS).format(unit=unit), referral, ring_seconds, rng.uniform(18, 30))
    elif behaviour == "machine":
        answered_call(rng.choice(["machine_start", "machine_end_beep", "machine_end_silence"]),
                      rng.choice(MACHINES).format(unit=unit), "", rng.uniform(1, 2 * RING_CYCLE), rng.uniform(20, 35))
    elif behaviour == "unclear":
        amd, greeting, answer = UNCLEAR[attempt["variant"]] if "variant" in attempt else rng.choice(UNCLEAR)
        partial = " ".join(speak_number(other_number(number, rng), rng).split()[:3])
        answered_call(amd, greeting.format(unit=unit), answer.format(partial=partial), ring_seconds, rng.uniform(6, 15),
                      clear=False)
    elif behaviour == "no_answer":
        steps.append((post_dial, "status", {"CallStatus": "ringing"}))
        steps.append((post_dial + ring_timeout, "status", {"CallStatus": "no-answer", "CallDuration": "0", "SipResponseCode": "487"}))
    elif behaviour == "busy":
        steps.append((post_dial, "status", {"CallStatus": "busy", "CallDuration": "0", "SipResponseCode": "486"}))
    elif behaviour == "unreachable":
        if rng.random() < 0.3:  # the carrier picks up to play its announcement
            answered_call("machine_start", rng.choice(CARRIER), "", 0.5, rng.uniform(8, 12))
        else:
            sip = rng.choice(["404", "404", "410"])  # carrier codes that mean the number cannot be reached
            steps.append((post_dial + rng.uniform(0, 3), "status", {"CallStatus": "failed", "CallDuration": "0", "SipResponseCode": sip}))
    else:  # route_error: our route refused the call
        steps.append((rng.uniform(0.5, 2.0), "status", {"CallStatus": "failed", "CallDuration": "0", "SipResponseCode": "503"}))
    steps.sort(key=lambda step: step[0])
    return behaviour, steps


class SimulatorProvider:
    """A Provider that dials nobody: it plays each call's events into the sink, on a timer thread."""

    name = "simulator"
    survey_calls = True  # holds the automated survey's keypad conversation (monitor/surveys/keypad.py)
    dials_real_numbers = False

    def __init__(self, settings: Settings, sink: Callable[[int, dict, str, str], None], *, synchronous: bool = False,
                 clock: Callable[[], datetime] = utcnow, seed: int | None = None):
        self.sink = sink
        self.synchronous = synchronous
        self.clock = clock
        self.speed = settings.simulator_speed
        self.fail_rate = settings.simulator_fail_rate
        self.ring_timeout = settings.ring_timeout
        self.from_number = settings.simulator_from_number
        self._rng = random.Random(seed)
        self._calls: dict[int, dict] = {}
        self.placed: list[tuple[int, str]] = []  # (attempt id, sid) for every call placed: tests count dials
        self._heap: list = []
        self._order = itertools.count()
        self._cv = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._next_prune = 0.0  # monotonic time of the next _prune scan

    # -- Provider interface

    def place_call(self, attempt: dict) -> str:
        if self.fail_rate and self._rng.random() < self.fail_rate:
            raise ProviderUnavailable("Trình mô phỏng: nhà cung cấp tạm thời không phản hồi (lỗi mô phỏng).")
        sid = "CA" + uuid.uuid4().hex
        call_rng = random.Random(f"{attempt['id']}:{attempt['number']}:{self._rng.random()}")
        behaviour, steps = simulate_call(attempt, ring_timeout=self.ring_timeout, rng=call_rng)
        start = self.clock()
        call = {"sid": sid, "attempt_id": attempt["id"], "behaviour": behaviour, "status": "queued",
                "start": start, "final": None, "pending": len(steps)}
        with self._cv:
            self._calls[attempt["id"]] = call
            self.placed.append((attempt["id"], sid))
        events = self._events(attempt, sid, start, steps)
        if self.synchronous:
            for _, item in events:
                self._deliver(item)
            return sid
        now = time.monotonic()
        with self._cv:
            for offset, item in events:
                heapq.heappush(self._heap, (now + offset / self.speed, next(self._order), item))
            self._ensure_thread()
            self._cv.notify()
        return sid

    def find_call(self, attempt: dict) -> dict | None:
        with self._cv:
            call = self._calls.get(attempt["id"])
            if call is None:
                return None
            found = {"sid": call["sid"], "status": call["status"]}
            if call["final"]:
                found.update(call["final"])
            return found

    def close(self, flush: bool = True) -> None:
        """Stop the timer thread; by default play the remaining events at once so no call is left hanging."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if flush:
            while True:
                with self._cv:
                    if not self._heap:
                        break
                    _, _, item = heapq.heappop(self._heap)
                self._deliver(item)

    # -- internals

    def _events(self, attempt, sid, start: datetime, steps):
        base = {"CallSid": sid, "AccountSid": ACCOUNT_SID, "From": self.from_number, "To": attempt["number"],
                "Direction": "outbound-api", "ApiVersion": "2010-04-01"}
        out, sequence = [], 0
        for offset, kind, extra in steps:
            stamp = format_datetime(start + timedelta(seconds=offset), usegmt=True)
            if kind == "status":
                params = {**base, **extra, "SequenceNumber": str(sequence), "Timestamp": stamp,
                          "CallbackSource": "call-progress-events"}
                key = f"{sid}:{sequence}"
                sequence += 1
            elif kind == "amd":
                params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, **extra, "Timestamp": stamp}
                key = f"amd:{sid}"
            else:
                params = {"CallSid": sid, "AccountSid": ACCOUNT_SID, **extra, "Timestamp": stamp}
                # A survey's answers are keyed by question, as the webhooks key them (survey:<sid>:<step>).
                key = (f"survey:{sid}:{extra['SurveyStep']}" if extra.get("SurveyStep")
                       else f"gather:{sid}:{extra.get('GatherStep', '')}")
            out.append((offset, (attempt["id"], params, kind, key)))
        return out

    def _deliver(self, item, tries: int = 3) -> None:
        attempt_id, params, kind, key = item
        with self._cv:
            call = self._calls.get(attempt_id)
            if call is not None:
                call["pending"] -= 1
                if kind == "status" and call["sid"] == params["CallSid"]:
                    call["status"] = params["CallStatus"]
                    if params["CallStatus"] in ("completed", "busy", "no-answer", "failed", "canceled"):
                        call["final"] = {"duration": params.get("CallDuration"), "sip_code": params.get("SipResponseCode"),
                                         "timestamp": params.get("Timestamp")}
        for attempt in range(tries):
            try:
                self.sink(attempt_id, params, kind, key)
                return
            except Exception:  # the database may be busy or the attempt gone: retry, then give up loudly
                log.exception("simulator: delivering %s for attempt %s failed (try %s)", key, attempt_id, attempt + 1)
                if not self.synchronous:
                    time.sleep(0.5)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="call-simulator", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(timeout=timeout)
                if self._stopping:
                    return
                _, _, item = heapq.heappop(self._heap)
            self._deliver(item)
            self._prune()

    def _prune(self) -> None:
        """Forget calls whose events were all delivered long ago (the scheduler runs for months).

        At most once a minute: scanning every remembered call after each event made a long busy run quadratic
        (bench/dispatch.py: 10,000 calls at 200/s fell to 181/s, 5 s late, from this scan alone).
        """
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + 60
        cutoff = self.clock() - timedelta(hours=6)
        with self._cv:
            for attempt_id in [a for a, c in self._calls.items() if c["pending"] <= 0 and c["start"] < cutoff]:
                del self._calls[attempt_id]
