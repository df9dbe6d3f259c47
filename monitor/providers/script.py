"""What a test call says once the line is answered: one short citizen's question from a small rotating set.

Every provider asks the same question for the same attempt (question_for), so the evidence can name it
whichever provider placed the call, and an inspector can see what the unit should have written in its
logbook. The set rotates so a unit cannot learn the test line by its script; each question belongs to a
logbook field (registry logbook_fields codes), the field an entry of it would be filed under.
"""
from __future__ import annotations

from typing import NamedTuple

# Said first on a recorded call, whichever provider places it (TWILIO_RECORD turns recording on for all of them).
RECORDING_NOTICE = (
    "Cuộc gọi này được ghi âm để Văn phòng Ủy ban nhân dân tỉnh theo dõi chất lượng phục vụ của đường dây nóng."
)


class Question(NamedTuple):
    field_code: str  # the logbook field an entry for this question belongs to
    text: str  # what the caller says, in Vietnamese


QUESTIONS = (
    Question("tthc", "Xin chào, cho tôi hỏi, đây có phải là số đường dây nóng để hỏi về thủ tục hành chính không ạ?"),
    Question("tthc", "Xin chào, tôi muốn hỏi thủ tục đăng ký khai sinh cho con, đường dây nóng có phải số này không ạ?"),
    Question("dat-dai", "Dạ xin chào, tôi muốn phản ánh về hồ sơ đất đai chậm trả kết quả, có phải gọi số này không ạ?"),
    Question("tthc", "Xin chào, cho tôi hỏi làm lại căn cước thì liên hệ ở đâu, đường dây nóng là số này phải không ạ?"),
    Question("moi-truong", "Xin chào, xóm tôi rác thải để lâu không ai thu gom, tôi muốn phản ánh thì gọi số này được "
                           "không ạ?"),
    Question("ha-tang", "Dạ xin chào, đường trước nhà tôi bị hư hỏng, ngập nước, tôi muốn báo thì có phải số này không ạ?"),
)


def question_for(attempt_id: int) -> Question:
    """The question asked on this attempt's call (the same for every provider, every time it is asked)."""
    return QUESTIONS[int(attempt_id) % len(QUESTIONS)]
