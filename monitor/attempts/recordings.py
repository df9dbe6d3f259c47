"""Recorded voices are never a person: carrier announcements, IVR menus, queue, hold, connecting,
recording notices, voicemail and out-of-hours messages, and the words that show a person instead.

Every pattern matches the folded transcript (see speech.py), so text with or without accents reads the
same. Carrier announcements outrank the rest: the carrier answered to say the line cannot be reached.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from monitor.attempts.speech import folded

_SUB = r"(?:thue bao|so may(?! le)|so thue bao|so dien thoai|so quy khach)"
CARRIER_BUSY = re.compile(
    _SUB + r" .{0,40}(?:dang ban|hien dang ban|dang co cuoc goi khac|dang ban may|dang trong cuoc goi|dang (?:dam thoai|nghe may)|ban lien lac)|"
    r"(?:the )?(?:number|subscriber|line|person|party|user) .{0,40}(?:is busy|is engaged|is on another call)|line is engaged|busy line|user busy|circuits are busy|"
    r"duong day (?:hien )?(?:dang )?ban\b|(?:^|xin loi,? )may (?:dang )?ban(?:,? (?:xin )?(?:quy khach )?vui long goi lai|\s*$)"
)
CARRIER_UNREACHABLE = re.compile(
    r"tam thoi khong (?:lien lac|ket noi) duoc|\bthue bao (?:[a-z]+ ){0,4}(?:lien lac|ket noi) duoc|" + _SUB + r" .{0,50}(?:khong (?:the )?(?:lien lac|ket noi)(?: duoc)?|khong co tin hieu|"
    r"khong co thuc|khong ton tai|khong dung|chua dung|bi khoa|tam khoa|ngung hoat dong|tam ngung|da bi thu hoi|"
    r"khong hop le|khong co that|bi cat|cat lien lac|gian doan|bi chan|het han|khong the goi|ngoai vung phu song|gian doan lien lac|khong co trong danh ba|dang tat may|da tat may|ngoai vung phuc vu|hien khong lien lac|(?:hien )?khong (?:con )?su dung|chua duoc kich hoat)|"
    r"cuoc goi (?:cua quy khach )?khong (?:the )?(?:thuc hien|ket noi)(?: duoc)?|cuoc goi (?:cua quy khach )?(?:khong|chua) thanh cong|"
    r"(?:viettel|mobifone|vinaphone|vietnamobile|gmobile|itelecom|reddi|wintel) (?:xin )?(?:thong bao|kinh bao)|"
    r"is (?:unreachable|powered off|turned off)|out of (?:coverage|range|service area)|invalid number|(?:number|subscriber|phone|call) .{0,30}(?:not available|cannot be connected)|"
    r"vui long kiem tra lai so|ngoai vung phu song|khong the ket noi (?:toi|den|voi) (?:so|thue bao)|"
    r"(?:number|subscriber) .{0,40}(?:currently )?unavailable|quy khach .{0,60}(?:hien|tam thoi) khong (?:the )?lien lac duoc|(?:xin )?quy khach vui long kiem tra lai|"
    r"cannot be (?:reached|completed)|(?:is )?(?:temporarily )?not reachable|try (?:your call )?again later|(?:is )?switched off|does not exist|out of service|"
    r"(?:is )?not in service|has been disconnected|check the number|number you have dialed is (?:incorrect|not)"
)
OUT_OF_HOURS = re.compile(
    r"ngoai gio (?:lam viec|hanh chinh)|(?:da )?het gio (?:lam viec|hanh chinh)|"
    r"(?:thoi gian|gio) lam viec (?:cua [a-z ]{0,40})?(?:la |tu |bat dau )|"
    r"goi lai (?:trong|vao) (?:gio|thoi gian) (?:hanh chinh|lam viec)|hom nay la ngay (?:nghi|le)|"
    r"thoi gian (?:tiep nhan|lam viec|phuc vu)[a-z ]{0,30} tu (?:\d|[a-z]+ gio)|tu thu (?:2|hai) den thu (?:6|7|sau|bay)|"
    r"ngay nghi(?: cuoi tuan| le)?.{0,40}quy khach|quy khach .{0,40}goi lai (?:vao )?(?:thu hai|ngay mai|sang mai|ngay lam viec)|nghi (?:tet|le)\b.{0,40}quy khach|"
    r"(?:chi )?(?:hoat dong|lam viec|tiep nhan(?: cuoc goi)?|phuc vu) (?:trong|vao) (?:gio|thoi gian) (?:hanh chinh|lam viec)|"
    r"het gio (?:tiep nhan|phuc vu)|(?:tong dai|duong day nong|co quan|van phong) (?:chi )?(?:lam viec|hoat dong|tiep nhan|phuc vu) tu (?:\d|[a-z]+ gio)|"
    r"lich nghi (?:tet|le)|nghi lam viec theo|"
    r"outside (?:our )?(?:office|business|working) hours|our office is (?:now )?closed"
)
# Only a carrier says "the subscriber you have just called" ("thuê bao quý khách vừa gọi"), even half-heard; read
# after menus and voicemail ("hộp thư thoại của số máy quý khách vừa gọi" is voicemail).
CARRIER_SIGNATURE = re.compile(r"(?:thue )?bao (?:quy khach |ban )?(?:vua|da) goi|(?:so may(?! le)|so thue bao|so dien thoai) "
                               r"(?:quy khach |ban )?(?:vua|da) goi|\bquy khach vua goi\b")
# Menus, queues, hold music, connecting, recording notices, voicemail, welcome messages.
MACHINE_STRONG = re.compile(
    r"(?:bam|nhan|an|ban) phim|phim so|so may le|(?:vui long )?(?:bam|nhan) lai\b|(?:khong|dung) gac may|dang chuyen cuoc goi|"
    r"\b(?:bam|nhan) (?:so )?(?:\d|khong|mot|hai|ba|bon|nam|sau|bay|tam|chin)\b (?:de|neu|gap|nghe|ve|quay)\b|(?:bam|nhan) so (?:\d|khong|mot|hai|ba|bon|nam|sau|bay|tam|chin)\b|"
    r"cuoc goi cua (?:quy khach|ban) (?:dang|se|da) (?:duoc )?(?:ket noi|chuyen|uu tien|ghi nhan)|ban co cuoc goi den|"
    r"he thong (?:dang )?ban|hien khong (?:co )?ai tra loi|(?<!anh )(?<!chi )vui long (?:giu may|cho trong giay lat)|vui long chon|xin moi (?:quy khach )?chon|"
    r"de lai loi nhan|sau tieng (?:bip|beep)|hop thu thoai|"
    r"(?:tong dai vien|dien thoai vien|tu van vien|nhan vien|can bo|chuyen vien)(?: [a-z]+){0,3} (?:(?:deu |hien )?dang ban|deu ban)|"
    r"cuoc goi cua quy khach (?:dang|se|da) (?:duoc )?(?:ket noi|chuyen|uu tien|ghi nhan)|"
    r"quy khach (?:vui long )?(?:giu may|cho trong giay lat|doi trong giay lat)|dang o vi tri (?:so|thu)|"
    r"(?:cuoc goi|cuoc dam thoai)(?: nay| cua quy khach)? (?:se |co the )?(?:duoc |dang duoc )?ghi am|"
    r"\b(?:tut|tit|bip|beep|tu)(?: (?:tut|tit|bip|beep|tu)){2,}\b|\bnhac (?:cho|nen|nhac)\b|tieng nhac|\bim lang\b|ting ting|hold music|khong co loi noi|"
    r"(?<!anh )(?<!chi )(?:xin )?vui long doi|xin doi trong giay lat|(?<!anh )(?<!chi )xin (?:vui long )?cho (?:trong )?giay lat|xin loi vi su (?:bat tien|cham tre)|(?:quay|tro) (?:lai|ve) (?:menu|muc)|"
    r"\bmenu\b|phim (?:thang|sao)|chung toi se (?:goi lai|lien he lai)|tin nhan thoai|voicemail|mailbox|unable to take your call|"
    r"tong dai (?:hien )?(?:dang )?qua tai|(?:hang doi|hang cho)\b|(?:dang )?(?:duoc )?chuyen (?:tiep )?den (?:bo phan|dien thoai vien|tong dai vien)|"
    r"khong the tra loi cuoc goi|please (?:stay on the line|wait)|currently (?:busy|unavailable)|operators are busy|tro ly ao|tong dai tu dong|tra loi tu dong|thoi gian cho .{0,30}(?:du kien|khoang)|"
    r"(?:moi|xin moi|vui long) quy khach (?:tiep tuc )?(?:giu may|cho)|se (?:tiep nhan|ket noi|phuc vu) (?:quy khach )?trong giay lat|"
    r"leave (?:a|your) message|after the (?:tone|beep)|press \d|please hold|your call is important|all (?:our )?agents"
)
MACHINE_WEAK = re.compile(
    r"cam on (?:quy khach |ban )?da (?:goi|lien he)|kinh chao quy khach|chao mung quy khach|xin chao quy khach|quy khach da goi (?:den|toi)|"
    r"ban da goi (?:den|toi)|hien (?:tai |gio )?khong co (?:can bo|nguoi|ai) (?:truc|nghe may)|chuc quy khach|xin vui long cho|dang ket noi|vui long goi lai sau|hien khong co (?:can bo|nguoi) truc|"
    r"chao mung .{0,30}den voi|thank you for calling|welcome to|\bquy khach\b"
)
HUMAN = re.compile(
    r"\ba ?lo\b|\balo+\b|xin nghe|\bem nghe\b|\btoi nghe\b|nghe day|\bnghe a\b|\bzaj\b|^\s*da\b(?! (?:het|duoc|bi|chuyen|doi|tat|ngung|qua))|"
    r"(?:anh|chi|bac|co|chu|ong|ba) (?:can|muon) (?:hoi|gi)|(?:anh|chi) hoi (?:gi|ve)|giup gi|co viec gi|"
    r"\b(?:vang|u|uh|da vang|dung roi|phai roi)\b.{0,40}\b(?:anh|chi)\b|\bben em\b|\bem (?:la|o|ben)\b|\bhello\b"
)

# What only a person in a two-way call says: a greeting that answers the phone, or a question to the caller.
CONVERSING = re.compile(
    r"xin nghe|\b(?:em|toi|tui|con|minh) nghe\b|nghe day|(?:anh|chi|bac|co|chu|ong|ba) (?:can|muon) (?:hoi |bao |phan anh )?(?:gi|chi)|"
    r"(?:anh|chi|chu|bac|co) (?:noi|hoi) (?:di|nhanh)|\bai vay\b|co nghe (?:khong|ko|hong)|\b(?:anh|chi|chu|bac|co) oi\b"
)


class Recording(NamedTuple):
    """What kind of recording spoke ('carrier_busy', 'carrier', 'out_of_hours', 'machine', 'welcome') and the words."""

    kind: str
    phrase: str


def recording(text: str) -> Recording | None:
    """The recorded message in folded text, strongest kind first, else None."""
    for kind, pattern in (("carrier_busy", CARRIER_BUSY), ("carrier", CARRIER_UNREACHABLE),
                          ("out_of_hours", OUT_OF_HOURS), ("machine", MACHINE_STRONG), ("carrier", CARRIER_SIGNATURE),
                          ("welcome", MACHINE_WEAK)):
        found = pattern.search(text)
        if found:
            return Recording(kind, found.group(0))
    return None


def person(text: str) -> str | None:
    """Words only a person says ("alo", "dạ em nghe", "anh cần hỏi gì"), else None."""
    found = HUMAN.search(text)
    return found.group(0) if found else None


def conversing(text: str) -> str | None:
    """A person's greeting or question to the caller, else None (see CONVERSING)."""
    found = CONVERSING.search(text)
    return found.group(0) if found else None


def segments(transcript: str | None) -> list[str]:
    """The transcript's gathered parts (joined by ' | ' when stored), folded, without empty ones."""
    return [part for part in (folded(p) for p in (transcript or "").split(" | ")) if part.strip()]


def person_after_recording(parts: list[str]) -> str | None:
    """Words of a person in a part after the last part that holds a recording, else None.

    A hotline may play "cuộc gọi được ghi âm" or a queue message before a person picks up.
    """
    last_recorded = max((i for i, part in enumerate(parts) if recording(part)), default=-1)
    if last_recorded < 0:
        return None
    for part in parts[last_recorded + 1:]:
        if person(part):
            return person(part)
    # In one part: a person's greeting after the end of the last recorded phrase.
    part = parts[last_recorded]
    ends = [m.end() for pattern in (CARRIER_BUSY, CARRIER_UNREACHABLE, OUT_OF_HOURS, MACHINE_STRONG, CARRIER_SIGNATURE, MACHINE_WEAK)
            for m in pattern.finditer(part)]
    found = CONVERSING.search(part, max(ends))
    return found.group(0) if found else None
