"""Which ended attempts each figure counts, as SQL predicates over `attempts a` joined to `hotlines h`.

These are the SQL twins of the tally's classification (monitor/reports/tally.py, CODES_SQL): a drill-down
lists exactly the attempts its figure counts, the light summaries count the same tests, and the alerts
follow the same run (tests/test_metrics.py checks that they agree). An accepted dispute takes a failure out
of every figure, the out-of-hours ones included; answered tests are never disputed.
"""
from __future__ import annotations

SCOPES = ("counted", "out_of_hours", "excluded", "retest", "all")
ACCEPTED_DISPUTES = "(SELECT attempt_id FROM disputes WHERE status = 'accepted')"
_JUDGED = "(h.hours IS NOT 'office' OR a.band = 'office')"
_DISPUTED_FAILURE = f"(a.outcome != 'answered' AND a.id IN {ACCEPTED_DISPUTES})"
SCOPE_SQL = {
    "counted": f"a.purpose != 'retest' AND a.outcome != 'provider_error' AND {_JUDGED} AND NOT {_DISPUTED_FAILURE}",
    "out_of_hours": f"a.purpose != 'retest' AND a.outcome != 'provider_error' AND NOT {_JUDGED} "
                    f"AND NOT {_DISPUTED_FAILURE}",
    "excluded": f"a.purpose != 'retest' AND (a.outcome = 'provider_error' OR {_DISPUTED_FAILURE})",
    "retest": "a.purpose = 'retest'",
    "all": "1",
}
