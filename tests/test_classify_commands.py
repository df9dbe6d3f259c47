"""`monitor classify` (the rules on JSON lines) and `monitor reclassify` (the rules again over stored attempts)."""
import json
from datetime import datetime, timezone

import pytest

from monitor import attempts
from monitor.attempts import create_attempt, finish, get_attempt, review_outcome
from monitor.attempts.outcomes import RULES_VERSION, classify
from monitor.disputes import decide_dispute, open_dispute
from registry.clock import iso

from .conftest import make_editor
from .corpus import measure

NOW = datetime(2025, 6, 10, 2, 0, tzinfo=timezone.utc)  # 09:00 in Đồng Tháp, Tuesday 10 June
REDIRECT = "dạ cái này bên em không phụ trách anh gọi số 0277 3851 999 bên phòng tư pháp họ hướng dẫn cho"
PERSON = "alo dạ sở y tế em nghe anh cần hỏi gì ạ"


def invoke(runner, *args, **kwargs):
    return runner.invoke(args=["monitor", *args], **kwargs)


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


# -- monitor classify


def test_classify_writes_one_result_per_corpus_line_as_classify_gives_it(runner, tmp_path):
    rows = [row for row in measure.load() if row["file"] == "redirected.jsonl"]
    result = invoke(runner, "classify", str(measure.HERE / "redirected.jsonl"))
    assert result.exit_code == 0, result.output
    out = lines(result.output)
    assert len(out) == len(rows)
    for row, got in zip(rows, out):
        found = measure.rules(row)
        assert got == {"outcome": found.outcome, "review": not found.certain, "reason": found.detail,
                       "basis": found.basis}
        assert isinstance(got["review"], bool) and got["reason"]


def test_classify_reads_standard_input_and_names_each_bad_line_then_exits_1(runner):
    good = {"transcript": REDIRECT, "registered": "0277 3851 234", "call_status": "completed", "answered_by": "human"}
    text = "\n".join([
        json.dumps(good, ensure_ascii=False),
        "{không phải json",
        "",
        json.dumps({**good, "call_status": "ringing"}),
        json.dumps(["a", "list"]),
        json.dumps({"transcript": "alo"}),
        json.dumps({**good, "sip_code": "abc"}),
        json.dumps({**good, "transcript": PERSON, "sip_code": 200}),
    ]) + "\n"
    result = invoke(runner, "classify", "-", input=text.encode("utf-8") + b"\xff\xfe\n")
    assert result.exit_code == 1
    out = lines(result.output)
    assert [item.get("line") for item in out] == [None, 2, 4, 5, 6, 7, None, 9]
    expected = classify({**good, "sip_code": None}, good["registered"])
    assert out[0]["outcome"] == expected.outcome and out[0]["review"] == (not expected.certain)
    assert out[1]["error"].startswith("Dòng 2: Không đọc được JSON")
    assert "ringing" in out[2]["error"] and "completed" in out[2]["error"]
    assert out[3]["error"] == "Dòng 5: Mỗi dòng phải là một đối tượng JSON."
    assert out[4]["error"] == "Dòng 6: Thiếu trường: registered, call_status, answered_by."
    assert "abc" in out[5]["error"]
    assert out[6]["outcome"] in ("answered", "machine") and out[6]["basis"]
    assert out[7]["error"] == "Dòng 9: Dòng không phải văn bản UTF-8."
    assert "6 dòng không hợp lệ." in result.output


def test_classify_a_missing_file_says_so(runner, tmp_path):
    result = invoke(runner, "classify", str(tmp_path / "khong-co.jsonl"))
    assert result.exit_code == 2 and "khong-co.jsonl" in result.output


# -- monitor reclassify


def ended(db, unit_id, outcome, transcript, *, planned=NOW, answered_by="human", call_status="completed"):
    """An attempt that an earlier version of the rules ended with `outcome` on this transcript."""
    number = db.execute("SELECT number FROM hotlines WHERE unit_id = ?", [unit_id]).fetchone()[0]
    attempt_id = create_attempt(db, unit_id=unit_id, number=number, planned_at=planned, band="office", now=planned)
    db.execute("UPDATE attempts SET state = 'dialing', state_rank = ?, dial_requested_at = ? WHERE id = ?",
               [attempts.RANK["dialing"], iso(planned), attempt_id])
    fields = dict(transcript=transcript, answered_by=answered_by) if call_status else {}
    assert finish(db, attempt_id, outcome, "Theo quy tắc cũ.", planned, call_status=call_status, **fields)
    return attempt_id


def expected_for(db, attempt_id):
    row = get_attempt(db, attempt_id)
    return classify(row, row["number"])


def retests(db, attempt_id):
    return db.execute("SELECT COUNT(*) FROM attempts WHERE plan_key = ?", [f"retest:{attempt_id}"]).fetchone()[0]


def history(db, attempt_id):
    return db.execute_returning_dicts("SELECT * FROM outcome_reviews WHERE attempt_id = ? ORDER BY id", [attempt_id])


def test_reclassify_records_each_change_with_the_rule_version_and_reruns_the_follow_ups(runner, db, units):
    attempt_id = ended(db, units["SYT"], "answered", REDIRECT)
    found = expected_for(db, attempt_id)
    assert (found.outcome, found.certain) != ("answered", True)  # the old reading is not what the rules say now
    result = invoke(runner, "reclassify", "--from", "2025-06-10", "--to", "2025-06-10")
    assert result.exit_code == 0, result.output
    row = get_attempt(db, attempt_id)
    assert (row["outcome"], row["outcome_certain"], row["outcome_basis"]) == (found.outcome, int(found.certain), found.basis)
    assert row["outcome_detail"] == found.detail and row["original_outcome"] is None
    [change] = history(db, attempt_id)
    assert change["user_id"] is None and change["old_outcome"] == "answered" and change["new_outcome"] == found.outcome
    assert f"quy tắc phiên bản {RULES_VERSION}" in change["reason"]
    # a counted failure plans its retest; a held call plans none until an inspector decides
    assert retests(db, attempt_id) == (1 if found.certain and found.outcome == "redirected" else 0)
    assert f"Quy tắc phiên bản {RULES_VERSION}: đã đọc 1 lần gọi" in result.output
    assert "Đã thay đổi 1 lần gọi." in result.output
    assert "Có người nghe máy (answered) → " in result.output and f"({found.outcome}): 1" in result.output
    again = invoke(runner, "reclassify", "--from", "2025-06-10", "--to", "2025-06-10")
    assert "Đã thay đổi 0 lần gọi." in again.output and "Không đổi: 1." in again.output
    assert len(history(db, attempt_id)) == 1


def test_reclassify_to_a_pass_drops_the_retest_the_old_failure_planned(runner, db, units):
    attempt_id = ended(db, units["SYT"], "machine", PERSON, answered_by="machine_start")
    assert retests(db, attempt_id) == 1
    found = expected_for(db, attempt_id)
    assert found.outcome == "answered"
    result = invoke(runner, "reclassify", "--from", "2025-06-10", "--to", "2025-06-10")
    assert result.exit_code == 0, result.output
    assert get_attempt(db, attempt_id)["outcome"] == "answered"
    assert retests(db, attempt_id) == 0


def test_reclassify_dry_run_writes_nothing(runner, db, units):
    attempt_id = ended(db, units["SYT"], "answered", REDIRECT)
    before = get_attempt(db, attempt_id)
    result = invoke(runner, "reclassify", "--from", "2025-06-01", "--to", "2025-06-30", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Chạy thử, chưa ghi gì: sẽ thay đổi 1 lần gọi." in result.output
    assert get_attempt(db, attempt_id) == before and history(db, attempt_id) == []


def test_reclassify_never_changes_an_inspector_decision_or_a_disputed_outcome(runner, db, units, inspector):
    reviewed = ended(db, units["SYT"], "answered", REDIRECT)
    review_outcome(db, reviewed, "answered", "Đã nghe ghi âm: cán bộ giải đáp đầy đủ.", user_id=inspector["id"], now=NOW)
    editor = make_editor(db, units["SYT"], "bientap@soyte.test.vn")
    disputed_open = ended(db, units["SYT"], "machine", PERSON, answered_by="machine_start")
    open_dispute(db, disputed_open, editor, "Có cán bộ nghe máy.", now=NOW)
    disputed_decided = ended(db, units["SYT"], "machine", PERSON, answered_by="machine_end_beep")
    dispute = open_dispute(db, disputed_decided, editor, "Có cán bộ nghe máy.", now=NOW)
    decide_dispute(db, dispute, inspector, False, "Ghi âm cho thấy là máy.", now=NOW)
    before = {i: get_attempt(db, i) for i in (reviewed, disputed_open, disputed_decided)}
    result = invoke(runner, "reclassify", "--from", "2025-06-10", "--to", "2025-06-10")
    assert result.exit_code == 0, result.output
    for attempt_id, row in before.items():
        assert get_attempt(db, attempt_id) == row
    assert [r["user_id"] for r in history(db, reviewed)] == [inspector["id"]]
    assert history(db, disputed_open) == history(db, disputed_decided) == []
    assert "Bỏ qua 1: thanh tra viên đã quyết định kết quả." in result.output
    assert "Bỏ qua 2: có khiếu nại đang xem xét hoặc đã quyết định." in result.output
    assert "Đã thay đổi 0 lần gọi." in result.output


def test_reclassify_keeps_to_the_local_dates_and_skips_calls_without_evidence(runner, db, units):
    # 23:30 on 9 June in Đồng Tháp is 16:30 UTC: outside a range that starts on 10 June
    evening_before = ended(db, units["SYT"], "answered", REDIRECT, planned=datetime(2025, 6, 9, 16, 30, tzinfo=timezone.utc))
    # 00:30 on 11 June locally (17:30 UTC on the 10th): outside a range that ends on 10 June
    night_after = ended(db, units["SYT"], "answered", REDIRECT, planned=datetime(2025, 6, 10, 17, 30, tzinfo=timezone.utc))
    inside = ended(db, units["SYT"], "answered", REDIRECT)
    lost = ended(db, units["XMA"], "provider_error", "", call_status=None)
    result = invoke(runner, "reclassify", "--from", "2025-06-10", "--to", "2025-06-10")
    assert result.exit_code == 0, result.output
    assert [len(history(db, i)) for i in (evening_before, night_after, inside, lost)] == [0, 0, 1, 0]
    assert get_attempt(db, lost)["outcome"] == "provider_error"
    assert "đã đọc 2 lần gọi" in result.output
    assert "Bỏ qua 1: kết thúc từ phía hệ thống" in result.output


@pytest.mark.parametrize("args, message", [
    (("--from", "2025-13-01", "--to", "2025-06-10"), "--from: ngày “2025-13-01” không hợp lệ"),
    (("--from", "2025-06-10", "--to", "hôm nay"), "--to: ngày “hôm nay” không hợp lệ"),
    (("--from", "2025-06-11", "--to", "2025-06-10"), "Ngày đầu 2025-06-11 sau ngày cuối 2025-06-10."),
])
def test_reclassify_refuses_bad_dates_with_a_clear_message(runner, db, units, args, message):
    attempt_id = ended(db, units["SYT"], "answered", REDIRECT)
    result = invoke(runner, "reclassify", *args)
    assert result.exit_code == 1 and message in result.output
    assert history(db, attempt_id) == []


def test_the_attempt_page_shows_the_reclassification_in_its_history(runner, db, units, inspector_client):
    attempt_id = ended(db, units["SYT"], "answered", REDIRECT)
    assert invoke(runner, "reclassify", "--from", "2025-06-10", "--to", "2025-06-10").exit_code == 0
    page = inspector_client.get(f"/monitor/attempts/{attempt_id}").get_data(as_text=True)
    assert "Hệ thống (phân loại lại)" in page and f"Phân loại lại theo quy tắc phiên bản {RULES_VERSION}" in page
