"""The registry's pages: one blueprint "registry" with every view, whatever module it lives in.

The views live in modules named after what they show: directory (the public list), units (the inspectors'
registry, one unit's page, a new unit), history (recent changes), groups, appendix (import and export).
Each adds its routes to the blueprint of registry.web.blueprint when imported, so importing them here
registers all of them and endpoint names stay `registry.<view>`.
"""
from registry.web import (  # noqa: F401  (they register their views)
    appendix,
    directory,
    groups,
    history,
    logbook,
    logbook_edit,
    logbook_overdue,
    logbook_paper,
    logbook_settings,
    lookup,
    number_changes,
    units,
)
from registry.web.blueprint import bp

__all__ = ["bp"]
