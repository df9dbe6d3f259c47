"""Which ended attempts each figure counts, as SQL predicates over `attempts a` joined to `hotlines h`.

These are the SQL twins of the tally's classification (monitor/reports/tally.py, CODES_SQL): a drill-down
lists exactly the attempts its figure counts, the light summaries count the same tests, and the alerts
follow the same run (tests/test_metrics.py checks that they agree). Every scope reads test calls only: a
survey call (purpose 'survey', monitor.attempts.store.TESTS_ONLY) dials a citizen, never the unit's hotline, and
is in no scope, `all` included. Three kinds of test are left out of every figure, the out-of-hours ones
included: our side's failures (provider_error), calls held for review (outcome_certain = 0: no evidence
either way until an inspector decides) and failures whose dispute an inspector accepted; answered tests are
never disputed.
"""
from __future__ import annotations

from monitor.attempts.store import TESTS_ONLY

SCOPES = ("counted", "out_of_hours", "excluded", "held", "disputed", "retest", "all")
ACCEPTED_DISPUTES = "(SELECT attempt_id FROM disputes WHERE status = 'accepted')"
# Outcomes an inspector decided (a review, or a held call decided; outcome_basis = 'inspector'). The small
# reviews table names them without reading a column the report's covering index lacks (measured: reading
# outcome_basis costs a table seek per failure, ~20 % of the month's query); the rules' reclassifications are
# in it too, without a user.
REVIEWED = "(SELECT attempt_id FROM outcome_reviews WHERE user_id IS NOT NULL)"
_JUDGED = "(h.hours IS NOT 'office' OR a.band = 'office')"
_HELD = "a.outcome_certain IS 0"
_DISPUTED_FAILURE = f"(a.outcome != 'answered' AND a.id IN {ACCEPTED_DISPUTES})"
_TEST = f"{TESTS_ONLY} AND a.purpose != 'retest'"
_EXCLUDED = f"(a.outcome = 'provider_error' OR {_HELD} OR {_DISPUTED_FAILURE})"
SCOPE_SQL = {
    "counted": f"{_TEST} AND NOT {_EXCLUDED} AND {_JUDGED}",
    "out_of_hours": f"{_TEST} AND NOT {_EXCLUDED} AND NOT {_JUDGED}",
    "excluded": f"{_TEST} AND {_EXCLUDED}",
    "held": f"{_TEST} AND a.outcome != 'provider_error' AND {_HELD}",
    "disputed": f"{_TEST} AND a.outcome != 'provider_error' AND NOT {_HELD} AND {_DISPUTED_FAILURE}",
    "retest": "a.purpose = 'retest'",
    "all": TESTS_ONLY,
}
