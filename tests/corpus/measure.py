"""The labelled corpus of transcripts and the figures issue 9 judges the classification rules by.

Each line of tests/corpus/*.jsonl is what a speech recogniser wrote of one test call, with the evidence the
provider gave (`registered`, `call_status`, `answered_by`, optional `sip_code`), the `label` a person gave it and
the `reason` for that label. `out_of_hours` is a kind of `machine` kept apart so that office-hours lines can be
read separately. Used by tests/test_corpus.py and bench/classification.py.

The four targets:
- counted redirects (certain) are at least 95 % really redirects;
- at least 95 % of the true redirects are counted as redirects or held for review;
- at most 20 % of the answered, non-redirect calls are held;
- recordings (machines, out-of-hours messages, carrier announcements on a connected call) are at least 95 %
  classified right or held, and none is counted as a person answering.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from monitor.attempts.classify_lines import evidence
from monitor.attempts.outcomes import Classification, classify

HERE = Path(__file__).resolve().parent
LABELS = ("answered", "machine", "out_of_hours", "redirected", "unreachable", "busy")
OUTCOME_OF = {"out_of_hours": "machine"}
RECORDING_LABELS = ("machine", "out_of_hours", "unreachable", "busy")
OUTCOMES_MEASURED = ("answered", "machine", "redirected", "unreachable", "busy")


HOLDOUT = HERE / "holdout"


def load(folder: Path = HERE) -> list[dict]:
    """Every corpus line (dict) of a folder, with `file` and `line` added to say where it came from.

    tests/corpus/ is the corpus the rules were developed beside; tests/corpus/holdout/ was written without
    reading the rules or that corpus, and is only ever measured, never used to change the rules.
    """
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if text.strip():
                rows.append({**json.loads(text), "file": path.name, "line": number})
    return rows


def expected(row: dict) -> str:
    """The outcome the rules should give a line with this label."""
    return OUTCOME_OF.get(row["label"], row["label"])


def is_recording(row: dict) -> bool:
    """A recorded message on a connected call: a machine, an out-of-hours message, a carrier announcement."""
    return row["label"] in RECORDING_LABELS and row["call_status"] == "completed" and bool(row["transcript"].strip())


def rules(row: dict) -> Classification:
    """The current rules (monitor.attempts.outcomes.classify) on one corpus line."""
    found = evidence(json.dumps(row, ensure_ascii=False))
    return classify(found, found["registered"])


def baseline(row: dict) -> Classification:
    """Status and answering-machine detection only, every call counted: what the rules must beat."""
    status, by = row["call_status"], row.get("answered_by") or ""
    if status == "busy":
        return Classification("busy", "", "signalling")
    if status == "failed":
        return Classification("unreachable", "", "signalling")
    if status == "no-answer":
        return Classification("no_answer", "", "signalling")
    if by.startswith("machine") or by == "fax":
        return Classification("machine", "", "amd")
    return Classification("answered", "", "signalling")


@dataclass
class Figures:
    """Precision and recall per outcome, the held shares and the four targets, for one classifier."""

    total: int = 0
    per_outcome: dict = field(default_factory=dict)   # outcome → (counted as it, right, labelled it, precision, recall)
    held_per_label: dict = field(default_factory=dict)  # label → (held, lines)
    held: int = 0
    redirect_precision: float = 0.0
    redirect_covered: float = 0.0
    answered_held: float = 0.0
    recordings_right: float = 0.0
    recordings_as_person: int = 0
    wrong: list = field(default_factory=list)  # (row, classification) counted with the wrong outcome

    def targets(self) -> list[tuple[str, str, bool]]:
        """(target, measured, met) for the four targets of the issue."""
        return [
            ("counted redirects ≥ 95 % precise", pct(self.redirect_precision), self.redirect_precision >= 0.95),
            ("≥ 95 % of true redirects counted or held", pct(self.redirect_covered), self.redirect_covered >= 0.95),
            ("≤ 20 % of answered, non-redirect calls held", pct(self.answered_held), self.answered_held <= 0.20),
            ("recordings ≥ 95 % right or held, none counted as a person",
             f"{pct(self.recordings_right)}, {self.recordings_as_person} as a person",
             self.recordings_right >= 0.95 and self.recordings_as_person == 0),
        ]

    def met(self) -> bool:
        return all(ok for _, _, ok in self.targets())


def pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def measure(rows: list[dict], classifier=rules) -> Figures:
    """The figures of `classifier` (rules or baseline) over the corpus lines."""
    results = [(row, classifier(row)) for row in rows]
    figures = Figures(total=len(rows))
    counted = Counter()  # outcome → counted with it
    right = Counter()  # outcome → counted with it, rightly
    labelled = Counter(expected(row) for row in rows)
    for row, found in results:
        if found.certain:
            counted[found.outcome] += 1
            if found.outcome == expected(row):
                right[found.outcome] += 1
            else:
                figures.wrong.append((row, found))
        else:
            figures.held += 1
    for outcome in OUTCOMES_MEASURED:
        figures.per_outcome[outcome] = (counted[outcome], right[outcome], labelled[outcome],
                                        _share(right[outcome], counted[outcome]), _share(right[outcome], labelled[outcome]))
    for label in LABELS:
        lines = [found for row, found in results if row["label"] == label]
        figures.held_per_label[label] = (sum(not found.certain for found in lines), len(lines))
    figures.redirect_precision = _share(right["redirected"], counted["redirected"])
    true_redirects = [found for row, found in results if row["label"] == "redirected"]
    figures.redirect_covered = _share(
        sum((found.certain and found.outcome == "redirected") or not found.certain for found in true_redirects),
        len(true_redirects))
    figures.answered_held = _share(*figures.held_per_label["answered"])
    recordings = [(row, found) for row, found in results if is_recording(row)]
    figures.recordings_right = _share(
        sum(not found.certain or found.outcome == expected(row) for row, found in recordings), len(recordings))
    figures.recordings_as_person = sum(found.certain and found.outcome == "answered" for _, found in recordings)
    return figures
