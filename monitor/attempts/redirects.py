"""Redirect detection: was the caller sent to another number, agency or office instead of being served?

Evidence, strongest first:
- signalling: SIP 3xx, Q.850 cause 22 (number changed) or 23 (redirection). ForwardedFrom is documented
  for incoming calls only, so it is no evidence on our outbound test calls (the caller passes it or not);
- a phone number heard that is not the registered one, in any of its forms (digits, number words, mixed);
- words that deflect ("bên em không phụ trách", "việc đó của bên huyện") or send the caller elsewhere
  ("anh gọi bển hỏi", "lên phường hỏi", "liên hệ phòng một cửa ở xã"), in northern or southern speech.

Decisions (an inspector will ask):
- Numbers that are not referrals are skipped: ID cards (CCCD, 12 digits), dossier codes, receipts, bank
  accounts, dates, rooms, amounts, the caller's own number read back, and the registered number itself
  (with or without area code, 0, 84 or +84; "0277 1022" is 1022).
- A negation governing the referral ("không cần gọi số khác", "hổng phải gọi bển đâu") cancels it.
- A transfer inside the call ("em chuyển máy") is not a redirect; a transfer that fails and turns into
  "anh gọi trực tiếp số …" is.
- A complete answer that says where to submit a dossier ("nộp hồ sơ tại bộ phận một cửa, mang theo
  CCCD") is not a redirect; "đó là việc của bên huyện, anh gọi bên đó" is.
- What the rules cannot defend is returned with certain=False (held for review): a go-to-an-office phrase
  without deflection or answer, a referral next to a negation it may not govern, a long number that makes
  no valid phone number, "phải nộp ở …" (another body or the unit's own desk), another body named beside a
  full answer or a transfer, a named person whose office is said apart, another body named as the doer
  without the caller being sent there ("bên thuế lo", "người ta ở huyện làm") or "em chịu" alone. outcomes.py also holds a number
  given by a recording ("ngoài giờ vui lòng gọi số trực …"): a duty line or a referral.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from monitor.attempts.phone_mentions import is_same_number, number_kind, phone_phrase, spoken_digits
from monitor.attempts.speech import folded, mentions, split_run

__all__ = ["RedirectFinding", "detect_redirect", "is_same_number", "spoken_digits"]

_NEG = r"(?:khong|hong|ko|chang|cha|chua)"
# Someone else: an agency, an office, a level of government, "bển", or "số/chỗ khác".
_PLACE = (
    r"(?:(?:bo phan |phong |ban |van phong |trung tam |ben |co quan |don vi |tren |duoi |ngoai )?"
    r"(?:mot cua|tiep nhan|uy ban|ubnd|xa|phuong|huyen|quan|thi tran|thi xa|thanh pho|tinh|sox|so (?=(?:y te|tu phap|giao duc|lao dong|tai nguyen|noi vu|ke hoach|tai chinh|xay dung|giao thong|nong nghiep|cong thuong|van hoa|khoa hoc|thong tin|ngoai vu|tnmt|gtvt)\b)|"
    r"cong an|trung tam|bo phan|chi cuc|chi nhanh|buu dien|tong dai|benx|ben kia|ben do|ben ay|ben (?!em|minh|nay|toi|tui|chung)[a-z]+|do\b|"
    r"doi|canh sat|dien luc|cong ty|bao hiem|bhxh|benh vien|truong|toa an|vien kiem sat|kho bac|chi cuc thue|hai quan|cap nuoc|"
    r"co quan|don vi|phong (?!nay)[a-z]+|nguoi khac|cho khac|noi khac|so khac|ban quan ly|dia chinh|ngan hang|"
    r"van phong dang ky|thanh tra|kiem lam|thu y|tram [a-z]+|xuat nhap canh|csgt|cong ty|toa|"
    r"noi (?:dang ky|cu tru|thuong tru|tam tru|cap|lam)|hanh chinh cong|dai ly|luat su|thue\b|mat tran|doan thanh nien|lien doan lao dong|tiep cong dan|(?:can bo|nguoi) phu trach|"
    r"hoi (?:nong dan|phu nu|chu thap do|cuu chien binh|nguoi cao tuoi|luat gia|doanh nghiep|nan nhan)|(?:van phong )?(?:luat|cong chung)|nha (?:truong|mang|cung cap|dau tu)|(?:(?:ong|ba|chu|co|anh|chi) )?(?:truong|pho) (?:ap|khom|thon)|to truong|"
    r"ban nhan dan (?:ap|khom)|can bo (?:dia chinh|tu phap|ap|khom)|"
    r"ap|thon|xom|khom|khu pho|to dan pho|tdp|trenx|ngoaix|"
    r"(?:ong |ba |chu |co )?(?:truong|pho) (?:xom|khu pho|ban|to dan pho|cong an|phong|tram|khoa)|"
    r"(?:ong |ba |chu |co |anh |chi )?(?:pho )?chu tich|van phong (?!nay|em|minh|ben em)[a-z]+ [a-z]+|"
    r"chu dau tu|nha thau|nha mang|que(?: nha)?|(?:tong dai|duong day nong|hotline) (?:cua|ben)|"
    r"noi (?:anh |chi |minh |ba con |ong |ba |ban )?(?:dang ky|cu tru|thuong tru|tam tru|dang o|sinh song|mo tai khoan|lam viec|mua|ban)|"
    r"ho(?! (?:ten|va ten|so|hang|tich|khau|ngheo|gia dinh|kinh doanh|tro|dan))|nguoi ta|may (?:ong|ba|nguoi) (?:do|ben do|o do|benx)|"
    r"(?:ong|ba|chi|anh|cho|noi) do|cho kia|ben(?= (?:hoi|lam|nop|ma|nha|nghen|hen|coi|di|xin)\b)|so(?= (?:hoi|lam|nop|ma|xin)\b)))"
)
# Who is told: the caller by how staff address them, or a new clause (after fillers such as "dạ, cái này").
_CALLER = (
    r"(?:\bthi |^(?:(?:zaj|da|thi|vay|the|oi|cai nay|viec nay|chuyen nay|truong hop nay|ho so nay|vu nay|ma|con|cai do|vu do|"
    r"viec do|chuyen do|cai vu (?:nay|do)|vay thi|thoi|noi that|em nghi|chac)\s+)*|"
    r"\b(?:anh chi|cac anh chi|anh|chi|bac|co|chu|ong|ba|ban|quy khach|quy vi|ba con|co chu|cau|di|duong su|nguoi dan) "
    r"|\b(?:sao|rang|tai sao|sao ma) (?:anh|chi|bac|co|chu|ong|ba|ban|o) (?:khong|hong|ko) )"
)
_ADVICE = r"(?:(?:nen|phai|can|cu|vui long|xin vui long|hay|co the|thi|chiu kho|di|thu|tu|truc tiep|lai|giup) )*"
_ASK = (r"\b(?:lien he|lien lac|goi|keu|hoi|gap|tim|kiem|nho|bao|phan anh|trinh bao|khieu nai|to cao|gui don(?! (?:qua buu dien|truc tuyen|qua mang))|nhan tin|(?:lam viec|noi chuyen|trao doi)(?= voi)|(?:lam )?don gui|gui(?! (?:qua |ve |toi )?(?:buu dien|dia chi))|"
        r"dien(?: thoai)?(?= (?:cho|qua|sang|len|xuong|toi)))")
_GO = r"(?:den|toi|ra|len|xuong|qua|sang|ve|vo|vao|ghe|toi)"
_LINK = r"(?:(?:truc tiep |lai |thu |thang |rieng )?(?:giup em |gium em |giup |gium )?(?:may (?:ong|ba|chi|anh|co|chu) )?(?:(?<!den )voi |cho |sang |qua |len |xuong |o |tai |den |toi |ben |vo |vao |tan )?(?:tru sox? |tan )?)"
# Told to call, contact or ask someone else (verb-led: negation matters).
# "liên lạc chị Mai bên tư pháp": a named person in another office.
_PERSON = r"(?:(?:chi|anh|co|chu|ong|ba) [a-z]+ )?"
REFER_ASK = re.compile(_CALLER + _ADVICE + r"(?:" + _GO + r" )?" + _ASK + r" " + _LINK + _PERSON + _PLACE + r"\b")
REFER_ASK_AFTER_GO = re.compile(r"(?<!goi )(?<!goi dien )" + _GO + r" " + _LINK + r"(?:[a-z]+ ){0,3}?" + _PLACE + r"(?: [a-z]+){0,6}? (?:hoi|lien he|gap|nho|lam viec voi|de duoc (?:huong dan|giai dap|tra loi)|ma (?:hoi|lam|nop|xin))\b"
                                r"(?! (?:em|tui|toi|minh|tao)\b)")  # "ghé văn phòng ấp gặp em": the unit's own desk
# "Gọi họ", "hỏi bển", "kêu mấy ổng" wherever the verb stands; not when staff call them ("em hỏi họ rồi").
REFER_THEM = re.compile(r"(?<!em )(?<!tui )(?<!toi )(?<!minh )(?<!da )(?<!se )\b(?:goi|lien he|lien lac|hoi|keu|nhan tin|gap) "
                        r"(?:truc tiep |thang |lai |thu |rieng |luon )?(?:voi |cho |sang |qua |den |toi |vo |vao )?"
                        r"(?:ho|benx|ben do|ben kia|nguoi ta|may ong|may ba|cho do|noi do|"
                        r"may (?:anh|chi|chu|co|nguoi) (?:do|ben do|o do|benx|ay|kia))\b(?! (?:ten|va ten|roi|ve|giup|gium))")
# "Anh tra trên cổng dịch vụ công rồi gọi họ", "gọi số trên hóa đơn": find the other body's number and call it.
REFER_LOOKUP = re.compile(r"\b(?:anh|chi|bac|co|chu|ong|ba|ban) (?:[a-z]+ ){0,5}?(?:tim|kiem|tra|tra cuu|coi|xem|lay) "
                          r"(?:[a-z]+ ){0,8}?(?:roi|xong|de|ma|thi) (?:goi|lien he|lien lac|hoi|keu)\b"
                          r"|\b(?:goi|lien he) (?:vao |theo )?(?:so|so dien thoai|duong day nong|hotline|tong dai) (?:ghi |in )?(?:tren|o tren)\b")
REFER_GO = re.compile(_CALLER + _ADVICE + _GO + r" " + _LINK + _PLACE + r"\b")
# "Phải nộp ở trung tâm hành chính công tỉnh", "phải ra chi cục thuế làm": must go or submit at another body.
REFER_MUST = re.compile(r"\b(?:phai|nen) (?:(?:di|tu|mang|dem) )?(?:(?:nop|gui|lam|xin|dang ky)(?: [a-z]+){0,2}? "
                        r"(?:o|tai|len|ve|cho|qua|ra|den)|" + _GO + r") " + _LINK + _PLACE + r"\b")
# "Anh đem giấy tờ xuống chi nhánh ngân hàng": carrying papers to a body (counted only for another body).
REFER_CARRY = re.compile(_CALLER + _ADVICE + r"(?:dem|mang|cam) (?:[a-z]+ ){1,3}?" + _GO + r" " + _LINK + _PLACE + r"\b")
# "Anh liên hệ chị Hoa, chỉ làm ở phòng tài chính huyện": a named person, the body said apart (held).
REFER_PERSON = re.compile(_CALLER + _ADVICE + r"(?:lien he|lien lac|goi cho|gap|hoi) (?:truc tiep )?(?:voi )?"
                          r"(?:chi|anh|co|chu|ong|ba|can bo|nguoi) [a-z]+")
REFER_OTHER = re.compile(r"\b(?:anh|chi|bac|co|chu|ong|ba) (?:[a-z]+ )?(?:goi|lien he|lien lac|hoi) (?:truc tiep )?(?:voi |cho )?"
                         r"(?:ho|ben do|ben kia|benx|ong do|ba do|chi do|anh do)\b|\b(?:tim|kiem|tra) so (?:dien thoai )?(?:cua )?" + _PLACE + r"|\b(?:goi|lien he|lien lac|hoi|chuyen) (?:cho |sang |qua |voi |den )?(?:noi|cho|ben|don vi|co quan|so|nguoi|may) (?:khac|kia)")
# Deflection: the agency says it is not its job.
DEFLECT = re.compile(
    r"\b" + _NEG + r" (?:co )?(?:truc tiep )?(?:phu trach|quan ly|giai quyet|tiep nhan|xu ly|nam (?:ve )?(?:viec|van de|cai|mang|linh vuc)|namx|lo (?:viec|cai|mang))"
    r"(?! (?:duoc )?(?:ngay|luon|lien|lien tuc|qua dien thoai))"
    r"|\b" + _NEG + r" (?:co )?(?:quan|namx|nam (?:ve|viec|vu|cai|van de|ho so|thong tin)|lo|nhan (?:truc tiep|ho so|o day|cai nay|viec nay))\b(?! (?:duoc|ly))"
    r"|\b(?:khong|hong|chang) phai (?:la )?(?:ben|cho|noi|phong|viec cua|o) (?:em|nay|minh|toi|tui|day)\b"
    r"|\b(?:khong|hong|chang) phai (?:la )?(?:viec |chuyen )?cua (?:em|minh|toi|tui|xa|phuong|ben em|ben minh|tui em|chung em|uy ban)\b"
    r"|\b(?:cai|viec|vu|chuyen|van de|mang) (?:nay|do|ay|ni|no|day)(?: thi)? la (?:ben|phong|sox?|chi cuc|cong an|ubnd|uy ban|"
    r"trung tam|nganh) (?!em|minh|nay|toi|tui|chung)[a-z]+"
    r"|\bdau (?:co )?phai (?:la )?(?:viec |chuyen |trach nhiem )?(?:cua )?(?:ben )?(?:em|minh|xa|phuong|sox|toi|tui|day|nay)\b"
    r"|\bchu (?:khong|hong|dau) phai (?:la )?(?:ben |cua )?(?:em|minh|xa|phuong|sox|toi|tui)\b"
    r"|\b(?:khong|hong) phai nop (?:o|tai) (?:day|ben em|xa|phuong)|(?:hoi|goi) (?:nham|lon)(?: (?:cho|noi|roi|ben|don vi))?\b|\bnham cho\b"
    r"|\bbenx (?:moi|lo|giai quyet|co|nam|quan ly|phu trach)\b|\bo benx\b"
    r"|(?:vu|viec|cai|chuyen) (?:nay|do|ay|day) thuoc (?:ve )?(?:ben )?(?!em|minh)[a-z]+"
    r"|\b(?:la|thuoc) (?:mang|linh vuc|viec|chuyen|trach nhiem|tham quyen|nhiem vu|chuc nang|phan viec|nghiep vu) (?:cua|thuoc|ben) "
    r"(?:ben |phong |sox? |co quan |nganh )?(?!em|minh|toi|tui|chung|day|nay|anh|chi)[a-z]+"
    r"|\b(?:ben (?:em|minh|tui|nay)|o day|cho (?:nay|em)|xa|phuong|minh|tui em|chung em|tui|toi) (?:dau|chu dau) (?:co )?"
    r"(?:lam|cap|nhan|giai quyet|xu ly|tiep nhan|phu trach)\b"
    r"|\b(?:ben (?:em|minh|xa|phuong|so|sox|huyen|nay)|o day|cho (?:nay|em|minh|tui)|xa|phuong|sox? [a-z]+ [a-z]+|tui|tui em|chung em|minh|bon em|chung toi) "
    + _NEG + r" (?:co )?(?:nhan|lam|cap|giai quyet|xu ly|tiep nhan|ho tro)\b(?! (?:duoc )?(?:ngay|luon|lien|lien tuc|qua dien thoai))"
    r"|\bthuoc (?:ve )?(?:tham quyen|trach nhiem|linh vuc|chuc nang|pham vi)(?: giai quyet| quan ly)? (?:cua )?(?:ben )?"
    r"(?!em|minh|toi|tui|chung|day|nay|don vi nay)[a-z]+"
    r"|\b(?:ben do|ben kia|benx|ho|ben (?!em|minh|nay|toi|tui)[a-z]+(?: [a-z]+)?|phong (?!nay)[a-z]+(?: [a-z]+)?|cong an(?: [a-z]+)?|huyen|tinh|xa|phuong) moi "
    r"(?:biet|lam|giai quyet|tra loi|co tham quyen|nam|lo|xu ly|cap)\b"
    r"|\b" + _NEG + r" (?:co )?(?:tham quyen|chuc nang|nhiem vu)\b"
    r"|\bdo (?:ben |phong |so |sox |chi cuc |cong an |ubnd |uy ban |trung tam )(?!em|minh|nay|tui|toi|chung|tao)[a-z]+(?: [a-z]+){0,3} "
    r"(?:lo|phu trach|giai quyet|tra loi|quan ly|xu ly)\b"
    r"|\b(?:ben (?:em|minh|tui)|o day|xa|phuong|so|sox) (?:da )?(?:het|thoi|ngung|khong con|hong con|ko con) "
    r"(?:lam|nhan|giai quyet|tiep nhan|phu trach|cap|xu ly)\b"
    r"|\b(?:ben (?:em|minh|tui)|o day|o xa|o phuong|xa|phuong) (?:giai quyet|lam|nhan|xu ly|cap) " + _NEG + r" duoc\b"
    r"|\b(?:ben (?:em|minh|tui)|o day|xa|phuong|em|tui|tui em|toi|chung em|chung toi) " + _NEG + r" (?:the )?(?:can thiep|giai quyet|"
    r"xu ly|ho tro|tra loi|tu van|lam)(?: [a-z]+){0,2}? duoc\b"
    r"|\b(?:viec|cai|mang|chuyen|vu|thu tuc|linh vuc|cap phep|giay phep|ho so)(?: [a-z]+){0,3} la (?:viec )?cua "
    r"(?:ben |phong |so |sox |co quan )?(?!em|minh|toi|tui|chung|day|nay|anh|chi|bac|co|chu|ong|ba)[a-z]+"
    r"|\b(?:ben|phong|so|sox|cong an|huyen|tinh|chi cuc|trung tam) [a-z]+(?: [a-z]+){0,3} ho (?:nam|namx|biet|lo|giai quyet|phu trach|quan ly|xu ly)\b"
    r"|\bben (?:em|minh|tui) " + _NEG + r" (?:co )?(?:tra loi|tu van|ho tro|giai dap|lam)(?: [a-z]+){0,2} duoc\b"
    r"|\b(?:ngoai|vuot) (?:tham quyen|chuc nang|pham vi)|\bben (?:em|minh) chi (?:nhan|lo|phu trach|giai quyet|quan ly)\b"
    r"|\b" + _NEG + r" thuoc (?:tham quyen|trach nhiem|pham vi|chuc nang|linh vuc|tham quyen)"
    r"|\b" + _NEG + r" phai (?:la )?(?:viec|trach nhiem|linh vuc|tham quyen|chuc nang|mang) (?:cua )?(?:ben |ubnd |uy ban )?(?:em|minh|toi|chung toi|chung em|so|xa|phuong|nay|day)"
    r"|(?:viec|cai|mang|chuyen|van de|ho so|linh vuc) (?:nay|do|day|nay thi|do thi|ay) (?:la )?(?:(?:thuoc )?(?:tham quyen|trach nhiem) )?(?:cua|do|thuoc) "
    r"(?:ben |phong |ben phong |co quan |so ben )?(?:benx|ben kia|huyen|xa|phuong|tinh|sox|cong an|quan|thanh pho|thi xa|trung tam|"
    r"ngan hang|buu dien|toa an|vien kiem sat|thue|chi cuc|ngoai|[a-z]+ [a-z]+ (?:lo|phu trach|giai quyet|quan ly))"
)
# Weaker deflections, held for review: another body does it ("bên thuế lo", "người ta ở huyện làm"), "em chịu".
DEFLECT_WEAK = re.compile(
    r"\b(?:cho nay|o day|tui em|chung em|chung toi|bon em|duong day nay|so nay) chi (?:nhan|lo|phu trach|giai quyet|quan ly|"
    r"tiep nhan|nghe|lam)\b|"
    r"\b(?:ben|phong|sox?|chi cuc|cong an|nguoi ta(?: o| ben)?|benx|ben do|ben kia) (?!em\b|minh\b|nay\b|toi\b|tui\b|chung\b)"
    r"(?:[a-z]+ ){0,3}?(?:moi )?(?:lo|lam|phu trach|giai quyet|cap|quan ly|xu ly)\b(?! (?:roi|xong|cho anh|cho chi|duoc roi))"
    r"|\b(?:ben (?:em|minh|tui)|em|tui|tui em|toi|minh|chung em|bon em|chung toi) (?:cung )?(?:danh )?chiu(?! (?:trach|kho|on|phi|thue|tien))\b"
)
# Not the hotline any more, or not the right line.
WRONG_LINE = re.compile(
    r"(?:nham|sai|lon) so|goi (?:nham|lon)|"
    r"(?:day|so nay|so may nay) la (?:so )?(?:cua )?(?:nha dan|nha rieng|ca nhan|truong hoc|cong ty|cua hang|tiem)\b|"
    r"chu (?:khong|hong|ko) phai (?:la )?(?:uy ban|ubnd|co quan|sox|so [a-z]+|duong day nong|hotline)\b|"
    r"(?:day|so nay|so may nay) (?:khong|hong|ko) phai (?:la )?(?:so )?(?:cua )?(?:co quan|uy ban|ubnd|sox)\b|"
    r"(?:day|so nay|so may nay) (?:" + _NEG + r" phai|hong phai) (?:la )?(?:so )?(?:duong day nong|hotline|cua (?:sox|so|uy ban|ubnd|ben)|co quan)|"
    r"(?:so nay|so may nay|duong day nay|duong day nong nay) (?:da )?(?:khong con|hong con|ngung|thoi) (?:su dung|dung|hoat dong|la duong day nong|tiep nhan)|"
    r"(?:day la|so nay la) (?:so )?(?:nha rieng|ca nhan|so rieng|so nha)|"
    r"(?:da )?(?:doi|chuyen) (?:sang )?so (?:moi|khac)|so moi (?:la|cua)|da doi so\b|goi (?:vao |den )?so moi"
)
TRANSFER = re.compile(r"chuyen may|noi may|chuyen cuoc goi|chuyen (?:sang|qua|cho) (?:phong|bo phan|can bo|anh|chi) .{0,30}?(?:nghe|tra loi)|giu may|cho may")
TRANSFER_FAILED = re.compile(
    r"(?:khong|hong|chua) (?:co )?(?:ai )?(?:nghe|bat|nhac) may|(?:khong|hong) (?:co )?(?:ai|nguoi) (?:truc|o phong)|di vang|vang mat|di hop|(?:khong|hong|chua) (?:co )?ai (?:nghe|bat|nhac)|(?:may|ben do|ben kia|phong do) (?:dang )?ban|"
    r"(?:chuyen|noi) (?:may )?(?:[a-z]+ ){0,5}?(?:khong|hong|chua) duoc|(?:khong|hong) (?:chuyen|noi) duoc|(?:khong|hong) ket noi duoc"
)
# "Call them yourself" after a failed transfer, or a number given to call.
CALL_YOURSELF = re.compile(r"(?:chiu kho (?:goi|lien he)|\b(?:goi|lien he|lien lac|hoi) (?:truc tiep |thang )?(?:cho |voi )?(?:ho|benx|ben do)\b|tu goi|goi truc tiep|goi thang|goi rieng|tu lien he|lien he truc tiep|goi lai (?:sau )?(?:cho|vao|so|sang|qua)|goi (?:vao |qua |sang |cho )?so)")
# Words of a complete answer: where and how to submit, what to bring, how long it takes.
ANSWER = re.compile(
    r"\bnop (?:ho so|giay to|don|truc tuyen|online|qua mang|tai|o|len|cho)|mang theo|chuan bi|giay to (?:gom|can)|"
    r"(?:thanh phan )?ho so gom|le phi|(?:trong vong|mat|khoang) [a-z0-9 ]{0,15}ngay (?:lam viec)?|ngay lam viec|(?<!tiep nhan va )tra ket qua|"
    r"co ket qua|dich vu cong|\\b(?:minh|em|ben em|o day) lam (?:luon|duoc|cho)|lam (?:o|tai) day|nop (?:o |tai )?day|dien (?:to khai|don|mau)|to khai|ban sao|chung thuc"
)
# Contact or visit verbs: with the words of a complete answer they say where to submit, not a deflection.
CONTACT_ONLY = re.compile(r"^(?:[a-z]+ ){0,4}?(?:lien he|lien lac|gap|den|toi)\b(?!.*\b(?:goi|hoi)\b)")
# The agency keeps the matter although it is not its own: no redirect.
OWNERSHIP = re.compile(r"em (?:da |se )?ghi nhan|ghi nhan roi|(?:chuyen|bao) (?:cho |len )?(?:lanh dao|cap tren|huyen|so)[a-z ]{0,20} (?:gium|giup|cho) anh|"
                       r"em (?:se )?(?:hoi|chuyen|bao) (?:giup|gium)|(?:giup|gium) anh (?:lien he|hoi)|"
                       r"\b(?:em|tui|toi|ben em) (?:da |se )?(?:bao|goi|lien he|phoi hop voi|chuyen)(?: cho)? (?!anh|chi)"
                       r"[a-z ]{0,30}? (?:xuong|toi|den|sang|qua) (?:xu ly|giai quyet|kiem tra|sua)\b")
# Bodies other than the unit's own desks (a "một cửa" or "phòng" may be the unit's own).
FAR_PLACE = re.compile(r"\b(?:huyen|tinh|thanh pho|cong an|thue|bhxh|bao hiem|ngan hang|toa(?: an)?|benh vien|dien luc|cap nuoc|"
                       r"sox|chi cuc|chi nhanh|kho bac|thanh tra|benx|ben kia|ben do|nguoi khac|cho khac|noi khac|so khac)\b")
# The unit does the work itself ("bên em giải quyết được", "làm luôn"): a place named is where, not a referral.
OWN_WORK = re.compile(r"\b(?:ben em|ben minh|ben tui|em|tui|xa minh|o day) (?:co the )?(?:giai quyet|lam|nhan|xu ly|lo) (?:duoc|luon|cho)\b"
                      r"|\bben em (?:da )?(?:duyet|ky|xu ly|giai quyet)(?: xong)? roi\b|\blam luon\b")
# A negation that governs what follows within a few words; another anywhere earlier in the clause.
_NEGATOR = (r"\b(?:" + _NEG + r" (?:can|phai|nen)|khoi(?: phai| can)?|dung|khoi di)"
            r"(?: (?:anh|chi|bac|co|chu|phai|can|di|mat cong|lam gi|chi|cu))*")
NEGATION_NEAR = re.compile(r"(?:" + _NEGATOR + r"|\b(?:khong|hong|ko|chang|dau co|dau phai|chu dau))\s*$")
# "không cần gọi số 0912…": the number said next is one not to call.
NEGATED_CALL = re.compile(_NEGATOR + r" (?:goi|lien he|lien lac|bam)(?: [a-z]+){0,3}\s*$")
NEGATION_FAR = re.compile(r"\b(?:" + _NEG + r" (?:can|phai|nen)|khoi|dung)\b")
_OWN_PLACE = re.compile(r"^(?: [a-z]+){0,2} minh\b|^\s*(?:nay|minh|chung em|chung toi|tui em|day|tao|em|toi|tui)(?:\s*$| (?:nha|nhe|a|nghen|hen|la|thi|o|de|ma|do|nay|di|roi)\b)"
                        r"|^(?: [a-z]+){0,3} (?:gap|tim|hoi) (?:em|tui|toi|minh)\b")
# "Em gửi kết quả về cho anh qua bưu điện": the caller receives, is not sent.
_DELIVERY = re.compile(r"\b(?:gui|chuyen|tra|phat|giao|mang)(?: [a-z]+){0,6} cho\s*$")
# "Anh gọi đến Sở Y tế là đúng rồi": the caller is told they reached the right place.
_RIGHT_PLACE = re.compile(r"^(?: [a-z]+){0,3} (?:la|thi) (?:dung|phai)\b")
_CLAUSES = re.compile(r"[.!?;|]+|,| nhung | con | the nhung ")

SIP_REASONS = {
    301: "SIP 301: số đã chuyển vĩnh viễn sang đích khác",
    302: "SIP 302: cuộc gọi được chuyển hướng tạm thời",
    305: "SIP 305: cuộc gọi phải đi qua proxy khác",
    380: "SIP 380: dịch vụ thay thế",
}
Q850_REASONS = {22: "Q.850 mã 22: số đã thay đổi", 23: "Q.850 mã 23: cuộc gọi được chuyển hướng sang đích mới"}


@dataclass(frozen=True)
class RedirectFinding:
    """Why a call counts as redirected: a Vietnamese reason, other numbers heard, the phrase matched.

    certain=False: the rules see a redirect they cannot defend (held for review). signalled=True: the carrier's
    signalling (SIP 3xx, Q.850 22/23, ForwardedFrom on an inbound call) says so, not words.
    """

    reason: str
    numbers: list[str] = field(default_factory=list)
    phrase: str | None = None
    certain: bool = True
    signalled: bool = False


def _negated(clause: str, start: int) -> str | None:
    """'near' when a negation governs the phrase at start, 'far' when one is elsewhere before it, else None."""
    head = clause[:start]
    if NEGATION_NEAR.search(head):
        return "near"
    if NEGATION_FAR.search(head):
        return "far"
    return None


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSES.split(text) if c.strip()]


def _referrals(text: str) -> tuple[list[tuple[str, str]], bool]:
    """[(kind, phrase)] of un-negated referral phrases, kind 'ask' or 'go'; and whether a negation was near one."""
    found, doubtful = [], False
    for clause in _clauses(text):
        for kind, pattern in (("ask", REFER_ASK_AFTER_GO), ("ask", REFER_ASK), ("ask", REFER_OTHER), ("ask", REFER_THEM),
                              ("ask", REFER_LOOKUP), ("go", REFER_GO),
                              ("must", REFER_MUST), ("carry", REFER_CARRY), ("person", REFER_PERSON)):
            for match in pattern.finditer(clause):
                if _OWN_PLACE.match(clause[match.end():]) or _RIGHT_PLACE.match(clause[match.end():]) or \
                        _DELIVERY.search(clause[:match.start()]):
                    continue
                negation = _negated(clause, match.start())
                if negation == "near":
                    continue
                doubtful = doubtful or negation == "far"
                if negation is None:
                    found.append((kind, match.group(0).strip()))
    return found, doubtful


def _signalling(sip_code, q850_cause) -> RedirectFinding | None:
    if sip_code is not None and 300 <= int(sip_code) < 400:
        return RedirectFinding(reason=SIP_REASONS.get(int(sip_code), f"SIP {int(sip_code)}: cuộc gọi bị chuyển hướng"),
                               signalled=True)
    if q850_cause is not None and int(q850_cause) in Q850_REASONS:
        return RedirectFinding(reason=Q850_REASONS[int(q850_cause)], signalled=True)
    return None


def detect_redirect(
    transcript: str | None,
    registered_number: str,
    *,
    sip_code: int | None = None,
    q850_cause: int | None = None,
    forwarded_from: str | None = None,
    inbound: bool = False,
) -> RedirectFinding | None:
    """A RedirectFinding when signalling or the transcript shows a redirect, else None.

    forwarded_from counts only for an inbound call (inbound=True): Twilio documents it for those alone.
    """
    signalled = _signalling(sip_code, q850_cause)
    if signalled:
        return signalled
    if forwarded_from and inbound:
        return RedirectFinding(reason=f"Cuộc gọi bị chuyển tiếp (ForwardedFrom: {forwarded_from}).", signalled=True)
    if not transcript or not transcript.strip():
        return None
    text = folded(transcript)
    others, unclear = [], []
    for mention in mentions(transcript):
        if NEGATED_CALL.search(mention.before):
            continue  # "không cần gọi số 0912…": a number the caller is told not to call
        for digits in split_run(mention.digits):
            kind = number_kind(mention, digits, registered_number)
            if kind == "other" and digits not in others:
                others.append(digits)
            elif kind == "unclear" and digits not in unclear:
                unclear.append(digits)
    wrong_line = WRONG_LINE.search(text)
    deflect = DEFLECT.search(text)
    referrals, doubtful = _referrals(text)
    answer = ANSWER.search(text)
    transfer = TRANSFER.search(text)
    failed = TRANSFER_FAILED.search(text) if transfer else None
    failed = failed if failed and (CALL_YOURSELF.search(text) or others or referrals) else None

    if others:
        listed = ", ".join(others)
        # An extension named while transferring, or a number beside a negation, is not defensible either way.
        sure = not (transfer and not failed) and not doubtful and not (answer and not referrals and not deflect)
        return RedirectFinding(reason=f"Người nghe máy hướng dẫn gọi số khác: {listed} (không phải số đã đăng ký).",
                               numbers=others, phrase=phone_phrase(text), certain=sure)
    if wrong_line:
        return _said(wrong_line.group(0), "Người nghe máy cho biết đây không phải (hoặc không còn là) đường dây nóng")
    if failed:
        return _said(failed.group(0), "Chuyển máy không được, người nghe máy bảo tự gọi nơi khác")
    if OWN_WORK.search(text) and not deflect:
        referrals = []
    asks = [p for k, p in referrals if k == "ask"]
    goes = [p for k, p in referrals if k == "go"]
    if deflect and OWNERSHIP.search(text):
        deflect = None  # "bên em không phụ trách nhưng em ghi nhận rồi chuyển lãnh đạo": the agency handles it
    if deflect:
        # "Không phụ trách" next to a full answer on how to submit may be a partial answer: held.
        return _said(deflect.group(0), "Người nghe máy cho biết việc này không thuộc đơn vị mình",
                     certain=not (answer and not asks and not goes))
    calls = [p for p in asks if not CONTACT_ONLY.search(p)]
    if asks and not transfer and not (answer and not calls):
        # Told where to submit a dossier ("liên hệ một cửa để nộp hồ sơ, mang theo …") is an answer.
        return _said((calls or asks)[0], "Người nghe máy hướng dẫn liên hệ nơi khác", certain=not answer)
    # "Bên thuế lo", "em chịu": another body named as the doer, unless the unit says it does the work or keeps it.
    weak = None if OWN_WORK.search(text) or OWNERSHIP.search(text) else DEFLECT_WEAK.search(text)
    if goes and not transfer and not answer:
        # Sent to another body with "em chịu" or "bên kia làm" beside it: defensible; alone, or to a desk that may
        # be the unit's own ("hồi trước bên huyện làm, giờ xã làm, anh ra xã nộp"): held.
        sure = bool(weak) and ("chiu" in weak.group(0) or bool(FAR_PLACE.search(goes[0])))
        return _said(goes[0], "Người nghe máy hướng dẫn đến nơi khác", certain=sure)
    musts = [p for k, p in referrals if k == "must"]
    if musts and not transfer:
        # "Phải nộp ở trung tâm hành chính công tỉnh" may name another body or the unit's own desk: held.
        return _said(musts[0], "Người nghe máy cho biết phải đến hoặc nộp ở nơi khác", certain=False)
    far = [p for p in asks + goes if FAR_PLACE.search(p)]
    far += [p for k, p in referrals if k == "carry" and FAR_PLACE.search(p)]
    far += [p for k, p in referrals if k == "person" and FAR_PLACE.search(text)]
    if far:
        # Another body named beside a full answer or a transfer: partly answered, partly sent away.
        return _said(far[0], "Người nghe máy nhắc đến nơi khác bên cạnh lời hướng dẫn", certain=False)
    if weak:
        return _said(weak.group(0), "Người nghe máy cho biết việc này do nơi khác làm", certain=False)
    if unclear:
        return RedirectFinding(reason=f"Nghe được một dãy số không rõ có phải số điện thoại khác không: {', '.join(unclear)}.",
                               numbers=unclear, certain=False)
    if doubtful:
        return RedirectFinding(reason="Có lời giống hướng dẫn liên hệ nơi khác nhưng kèm lời phủ định; cần người xem lại.",
                               certain=False)
    return None



def _said(phrase: str, what: str, certain: bool = True) -> RedirectFinding:
    return RedirectFinding(reason=f"{what}: “{phrase}”.", phrase=phrase, certain=certain)

