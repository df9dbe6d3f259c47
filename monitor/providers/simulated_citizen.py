"""The simulator's citizen: how a sampled citizen answers an automated survey call, as Twilio-shaped events.

Most pick up and agree, rate mostly well (some badly, a few report being asked for money), and some hang up
half-way; others do not answer, are busy, have a number that no longer exists, let a voicemail answer, decline,
ask never to be called again, or answer without pressing a key. Each answer is a "gather" event with SurveyStep
(the question's key) and Digits or SpeechResult, as the provider's webhooks deliver them.
"""
from __future__ import annotations

import random
from collections.abc import Mapping

# What a citizen does with the call (weights in %).
BEHAVIOURS = {"answers": 62, "hangs_up": 6, "declines": 5, "never_again": 2, "no_keys": 3, "no_answer": 10,
              "busy": 5, "gone": 3, "voicemail": 4}
RATINGS = (5, 5, 5, 4, 4, 4, 4, 3, 3, 2, 1)  # how satisfied, drawn per question
COMMENTS = [
    "Cán bộ hướng dẫn tận tình, tôi rất hài lòng.",
    "Nên rút ngắn thời gian trả kết quả.",
    "Thủ tục còn nhiều giấy tờ, mong đơn giản hơn.",
    "Cổng dịch vụ công lúc tôi nộp hay bị lỗi.",
    "",
]


def _asked(questions: list[Mapping]) -> list[Mapping]:
    consent = [q for q in questions if q["key"] == "consent"] or [{"key": "consent", "kind": "yes_no"}]
    return consent + [q for q in questions if q["key"] != "consent"]


def simulate_survey(attempt: Mapping, *, ring_timeout: int, rng: random.Random) -> tuple[str, list[tuple[float, str, dict]]]:
    """(behaviour, [(seconds after dialling, kind, params)]) for one automated survey call.

    attempt["survey"]["questions"]: the case's questionnaire; attempt["simulate"], when set, the behaviour to play.
    """
    questions = _asked((attempt.get("survey") or {}).get("questions") or [])
    behaviour = attempt.get("simulate") or rng.choices(list(BEHAVIOURS), weights=list(BEHAVIOURS.values()))[0]
    post_dial, ring = rng.uniform(1.5, 4.0), rng.uniform(4.0, 20.0)
    steps: list[tuple[float, str, dict]] = [(0.0, "status", {"CallStatus": "initiated"}),
                                            (post_dial, "status", {"CallStatus": "ringing"})]
    if behaviour == "no_answer":
        steps.append((post_dial + ring_timeout, "status", {"CallStatus": "no-answer", "CallDuration": "0",
                                                            "SipResponseCode": "487"}))
        return behaviour, steps
    if behaviour in ("busy", "gone"):
        status, sip = ("busy", "486") if behaviour == "busy" else ("failed", "404")
        steps[1:] = [(post_dial, "status", {"CallStatus": status, "CallDuration": "0", "SipResponseCode": sip})]
        return behaviour, steps
    at = post_dial + ring
    steps.append((at, "status", {"CallStatus": "in-progress"}))
    steps.append((at + 2.5, "amd", {"AnsweredBy": "machine_end_beep" if behaviour == "voicemail" else "human",
                                    "MachineDetectionDuration": "2400"}))
    at += 14.0  # the introduction
    if behaviour == "voicemail":
        return behaviour, _hang_up(steps, at, post_dial + ring)
    consent = {"answers": "1", "hangs_up": "1", "declines": "2", "never_again": "9", "no_keys": ""}[behaviour]
    steps.append((at, "gather", {"SurveyStep": "consent", "Digits": consent}))
    if consent != "1":
        return behaviour, _hang_up(steps, at + 5, post_dial + ring)
    stop = len(questions) if behaviour == "answers" else rng.randint(2, max(2, len(questions) - 1))
    mood = rng.random()
    for question in questions[1:stop]:
        at += rng.uniform(9, 16)
        params = {"SurveyStep": question["key"]}
        if question["kind"] == "rating":
            rating = rng.choice(RATINGS)
            params["Digits"] = str(rating if mood > 0.1 else min(rating, 2))  # one in ten is unhappy throughout
        elif question["kind"] == "yes_no":
            params["Digits"] = "1" if rng.random() < 0.04 else "2"
        else:
            params.update(Digits="#", SpeechResult=rng.choice(COMMENTS), Confidence=f"{rng.uniform(0.7, 0.95):.2f}")
        steps.append((at, "gather", params))
    return behaviour, _hang_up(steps, at + 6, post_dial + ring)


def _hang_up(steps: list, at: float, answered_at: float) -> list:
    steps.append((at, "status", {"CallStatus": "completed", "CallDuration": str(int(at - answered_at)),
                                 "SipResponseCode": "200"}))
    return steps
