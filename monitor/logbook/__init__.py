"""The logbook seen from the calls: was each answered test call written in its unit's book (match), and the
book's figures beside the call results in the report (figures). Inspectors only: nothing here is shown to a
unit's staff before its evidence file, and nothing is written on an entry."""
from monitor.logbook.figures import LogbookFigures, UnitLogbook, period_figures
from monitor.logbook.match import STATUSES, CallMatch, caller_lines, line_key, match_calls

__all__ = ["LogbookFigures", "UnitLogbook", "period_figures",
           "STATUSES", "CallMatch", "caller_lines", "line_key", "match_calls"]
