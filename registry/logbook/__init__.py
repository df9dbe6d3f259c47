"""The logbook (Sổ theo dõi): every citizen's report a unit receives, recorded, handled on time and answered.

Modules: entries (the entries and their receipt codes), history (their append-only history), transfers (a hand-over to
another unit), attachments, calendar (working days), deadlines (due dates, due-soon and overdue lists), fields,
retention (whose reporter's name and phone are past their keeping), redact (a phone number masked in free text).
"""
