"""The architecture's rules, checked from the source text of registry/ and monitor/ (read with `ast`, nothing run).

Each rule is one test; when one fails, its message names the file and says where the code belongs instead.
The rules (docs/ARCHITECTURE.md explains them):
1. Flask is the web layer's. Outside registry/web/, monitor/web/, monitor/app.py (the composition root) and
   wsgi.py no module imports flask, flask_wtf, wtforms or flask_babel — except
   - flask_babel's translation functions (gettext, lazy_gettext, ngettext, lazy_ngettext, pgettext,
     npgettext, lazy_pgettext, force_locale), which any module may use for the text it produces;
   - the CLI modules (registry/cli.py, monitor/cli.py, monitor/reports/cli.py), which register commands and
     so may import click, flask.cli and flask.current_app (not request, session, g, flash, render_template
     or Blueprint); click is imported nowhere else.
2. No SQL in web/: the modules of registry/web/ and monitor/web/ hold no SQL string and call no .execute();
   they call domain functions.
3. One owner per table: only the module(s) listed in OWNERS write a table (INSERT/UPDATE/DELETE in SQL, or
   sqlite-utils' table("x").insert/update/upsert/delete), and at most one module writes each table.
   The schema modules' migrations are exempt: they shape the data the schema expects.
4. An attempt's state (state, state_rank, its lease) changes only in monitor/attempts/lifecycle.py.
5. registry/ never imports monitor/; only monitor/providers/twilio_provider.py imports twilio; only
   monitor/scheduling/scheduler.py imports schedule.
6. No import cycles among the modules of registry/ and monitor/ (module-level imports).
7. No module longer than MAX_LINES, unless LONG_MODULES names it with the reason.
8. Every transaction is opened with registry.db.write_transaction (BEGIN IMMEDIATE): no .atomic() elsewhere.
"""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("registry", "monitor")
MAX_LINES = 400

WEB = ("registry/web/", "monitor/web/")
COMPOSITION_ROOT = ("monitor/app.py", "wsgi.py")
CLI_MODULES = ("registry/cli.py", "monitor/cli.py", "monitor/reports/cli.py", "monitor/surveys/cli.py")
TRANSLATION = {"gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext", "npgettext", "lazy_pgettext",
               "force_locale"}
CLI_FLASK_NAMES = {"current_app"}
SCHEMA_MODULES = ("registry/schema.py", "monitor/schema.py", "monitor/surveys/schema.py")

# Table → the module that writes it (a set, so that a table moving between modules can name both for one change;
# only one of them may actually write it).
OWNERS = {
    "groups": {"registry/groups.py"},
    "units": {"registry/units.py"},
    "hotlines": {"registry/hotlines.py"},
    "changes": {"registry/history.py"},
    "users": {"registry/accounts.py"},
    "login_failures": {"registry/login_throttle.py"},
    "sessions": {"registry/sessions.py"},
    "schema_migrations": {"registry/db.py"},
    "attempts": {"monitor/attempts/lifecycle.py"},
    "call_events": {"monitor/attempts/ingest.py"},
    "outcome_reviews": {"monitor/attempts/review.py"},
    "scheduler_state": {"monitor/scheduling/state.py"},
    "disputes": {"monitor/disputes.py"},
    "alerts": {"monitor/alerts.py"},
    "report_summaries": {"monitor/reports/summaries.py"},
    "plan_allocations": {"monitor/scheduling/allocation.py"},
    # The 1022 customer-care calls (monitor/surveys/).
    "dossiers": {"monitor/surveys/dossiers.py"},
    "dossier_imports": {"monitor/surveys/dossiers.py"},
    "do_not_call": {"monitor/surveys/privacy.py"},
    "phone_views": {"monitor/surveys/privacy.py"},
    "questionnaires": {"monitor/surveys/questionnaire.py"},
    "survey_samples": {"monitor/surveys/samples.py"},
    "survey_cases": {"monitor/surveys/cases.py"},
    "survey_contacts": {"monitor/surveys/cases.py"},
    "survey_answers": {"monitor/surveys/answers.py"},
    "number_proposals": {"registry/number_approval.py"},
    "logbook_fields": {"registry/logbook/fields.py"},
    "calendar_days": {"registry/logbook/calendar.py"},
    "logbook_entries": {"registry/logbook/entries.py"},
    "logbook_sequences": {"registry/logbook/entries.py"},
    "logbook_events": {"registry/logbook/history.py"},
    "logbook_attachments": {"registry/logbook/attachments.py"},
    "approval_rules": {"registry/number_approval.py"},
    "number_flags": {"registry/hotlines.py"},
}
STATE_OWNER = "monitor/attempts/lifecycle.py"
# The attempt's state-machine columns; evidence.py derives state_rank from events (a pure function).
STATE_COLUMNS = {"state_rank", "lease_owner", "lease_expires_at"}
STATE_DERIVERS = {STATE_OWNER, "monitor/attempts/evidence.py"}

# path → why it may be longer than MAX_LINES.
LONG_MODULES: dict[str, str] = {}
# Import cycles known and being broken: frozenset of modules → why it is tolerated for now.
KNOWN_CYCLES: dict[frozenset, str] = {}

SQL = re.compile(r"\bSELECT\b[\s\S]+\bFROM\b|\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b")
WRITES = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|(?<!DO\s)UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+[\"'`\[]?(\w+)"
)
TABLE_WRITE_METHODS = {"insert", "insert_all", "update", "upsert", "upsert_all", "delete", "delete_where"}
CREATE_TABLE = re.compile(r"\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)", re.I)
# A table rebuilt the SQLite way (new table, copy, drop, rename) is created under a passing name: not a table of its own.
RENAMED_TABLE = re.compile(r"\bALTER\s+TABLE\s+(\w+)\s+RENAME\s+TO\b", re.I)


# ------------------------------------------------------------------------------------------- the sources


@cache
def sources() -> dict[str, Path]:
    """'monitor/attempts/lifecycle.py' → its path, for every module of registry/, monitor/ and wsgi.py."""
    found = {"wsgi.py": ROOT / "wsgi.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[path.relative_to(ROOT).as_posix()] = path
    return found


@cache
def tree(rel: str) -> ast.Module:
    return ast.parse(sources()[rel].read_text(encoding="utf-8"), filename=rel)


def module_name(rel: str) -> str:
    name = rel[:-3].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def strings(rel: str):
    """(line, text) of every string constant of a module, the parts of f-strings included; docstrings left out."""
    docstrings = set()
    for node in ast.walk(tree(rel)):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree(rel)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def imports(rel: str, *, module_level: bool = False):
    """(line, imported module, names) of a module's imports; module_level: not those inside functions/classes."""
    nodes = _module_level(tree(rel)) if module_level else ast.walk(tree(rel))
    package = module_name(rel) if rel.endswith("__init__.py") else module_name(rel).rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            yield node.lineno, base, tuple(alias.name for alias in node.names)


def _module_level(module: ast.Module):
    """Statements run when the module is imported: not in functions or classes, nor under `if TYPE_CHECKING`."""
    pending = list(module.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            pending.extend(getattr(node, field, []) or [])


def top(name: str) -> str:
    return name.split(".", 1)[0]


def in_web(rel: str) -> bool:
    return rel.startswith(WEB)


# ----------------------------------------------------------------------------------------------- 1. Flask


def test_flask_is_imported_only_by_the_web_layer_the_composition_root_and_the_cli():
    problems = []
    for rel in sources():
        if in_web(rel) or rel in COMPOSITION_ROOT:
            continue
        cli = rel in CLI_MODULES
        for line, name, names in imports(rel):
            root = top(name)
            if root == "flask_babel":
                bad = [n for n in names if n not in TRANSLATION] or ([] if names else ["flask_babel"])
            elif name == "flask.cli" or root == "click":
                bad = [] if cli else [name]
            elif name == "flask":
                bad = [n for n in names if not (cli and n in CLI_FLASK_NAMES)] or ([] if names else ["flask"])
            elif root in ("flask", "flask_wtf", "wtforms") or root.startswith("flask_"):
                bad = [name]
            else:
                continue
            if bad:
                problems.append(f"{rel}:{line} imports {', '.join(bad)} from {name}")
    assert not problems, (
        "Flask belongs to registry/web/ and monitor/web/ (and the composition root monitor/app.py). Domain "
        "modules take plain values (db, now, settings) and raise UserError; the view reads the request, "
        "flashes and renders. Only translation functions (gettext…) may be imported from flask_babel "
        "elsewhere; CLI modules may use click, flask.cli and current_app.\n" + "\n".join(problems)
    )


# ------------------------------------------------------------------------------------------ 2. SQL in web


def test_web_modules_hold_no_sql_and_execute_nothing():
    problems = []
    for rel in sources():
        if not in_web(rel):
            continue
        for line, text in strings(rel):
            if SQL.search(text):
                problems.append(f"{rel}:{line} SQL: {' '.join(text.split())[:70]}")
        for node in ast.walk(tree(rel)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("execute", "executemany", "execute_returning_dicts", "executescript")):
                problems.append(f"{rel}:{node.lineno} calls .{node.func.attr}()")
    assert not problems, (
        "No SQL in web/: move the query into a function of the domain module that owns the data (e.g. "
        "monitor/attempts/queries.py, monitor/disputes.py, registry/units.py) and call it from the view.\n"
        + "\n".join(problems)
    )


# -------------------------------------------------------------------------------------- 3. table owners


def writers() -> dict[str, dict[str, list[int]]]:
    """table → module → lines where it is written (SQL or sqlite-utils calls), the schema modules left out."""
    found: dict[str, dict[str, list[int]]] = {}

    def add(table, rel, line):
        found.setdefault(table, {}).setdefault(rel, []).append(line)

    for rel in sources():
        if rel in SCHEMA_MODULES:
            continue
        for line, text in strings(rel):
            for table in WRITES.findall(text):
                add(table, rel, line)
        for node in ast.walk(tree(rel)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in TABLE_WRITE_METHODS):
                continue
            target = node.func.value
            if (isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute) and target.func.attr == "table"
                    and target.args and isinstance(target.args[0], ast.Constant)):
                add(target.args[0].value, rel, node.lineno)
            elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) \
                    and isinstance(target.slice.value, str):
                add(target.slice.value, rel, node.lineno)
    return found


def test_every_table_of_the_schema_has_an_owner():
    tables = {table for rel in sources() for _, text in strings(rel) for table in CREATE_TABLE.findall(text)}
    tables -= {table for rel in SCHEMA_MODULES for _, text in strings(rel) for table in RENAMED_TABLE.findall(text)}
    missing = sorted(tables - set(OWNERS))
    assert tables, "no CREATE TABLE found: has the schema moved?"
    assert not missing, (
        "Every table has one owning module, the only one that writes it: add these to OWNERS in "
        f"tests/test_architecture.py with the module that writes them: {', '.join(missing)}"
    )


def test_each_table_is_written_by_its_owner_only():
    problems = []
    for table, by_module in sorted(writers().items()):
        allowed = OWNERS.get(table)
        if allowed is None:
            problems.append(f"{table}: written by {', '.join(sorted(by_module))} but has no owner in OWNERS")
            continue
        for rel, lines in sorted(by_module.items()):
            if rel not in allowed:
                problems.append(f"{table}: written in {rel} (lines {', '.join(map(str, lines))}); "
                                f"its owner is {' or '.join(sorted(allowed))}")
        if len(by_module) > 1:
            problems.append(f"{table}: written by {len(by_module)} modules ({', '.join(sorted(by_module))}); one only")
    assert not problems, (
        "The module that owns a table is the only one that writes it: call a function of the owner (add one if "
        "needed) instead of writing the table yourself.\n" + "\n".join(problems)
    )


# ------------------------------------------------------------------------------------- 4. attempt state


def test_an_attempts_state_changes_only_in_lifecycle():
    problems = []
    for rel in sources():
        if rel == STATE_OWNER:
            continue
        for line, text in strings(rel):
            for assignments in re.findall(r"\bUPDATE\s+attempts\s+SET\b([\s\S]*?)(?:\bWHERE\b|;|$)", text):
                if re.search(r"\bstate(?:_rank)?\s*=|\blease_", assignments):
                    problems.append(f"{rel}:{line} sets the state in SQL")
        if rel in STATE_DERIVERS:
            continue
        for node in ast.walk(tree(rel)):
            keys = []
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            elif isinstance(node, ast.Call):
                keys = [k.arg for k in node.keywords if k.arg]
            for key in keys:
                if key in STATE_COLUMNS:
                    problems.append(f"{rel}:{node.lineno} writes {key}")
    assert not problems, (
        "Every move of an attempt's state (planned → dialing → … → ended, its lease) is a function of "
        f"{STATE_OWNER}: decide elsewhere, then call lifecycle (claim, release, back_to_planned, mark_placed, "
        "finish…).\n" + "\n".join(problems)
    )


# ------------------------------------------------------------------------------------------ 5. imports


def test_registry_never_imports_monitor():
    problems = [f"{rel}:{line} imports {name}" for rel in sources() if rel.startswith("registry/")
                for line, name, _ in imports(rel) if top(name) == "monitor"]
    assert not problems, (
        "registry/ is the base layer and works without monitor/: move what it needs from monitor into "
        "registry, or have monitor call registry instead.\n" + "\n".join(problems)
    )


def test_only_the_twilio_provider_imports_twilio():
    problems = [f"{rel}:{line} imports {name}" for rel in sources() if rel != "monitor/providers/twilio_provider.py"
                for line, name, _ in imports(rel) if top(name) == "twilio"]
    assert not problems, (
        "Only monitor/providers/twilio_provider.py talks to Twilio's library; elsewhere use the provider "
        "interface (monitor/providers/base.py).\n" + "\n".join(problems)
    )


def test_only_the_scheduler_imports_schedule():
    problems = [f"{rel}:{line} imports {name}" for rel in sources() if rel != "monitor/scheduling/scheduler.py"
                for line, name, _ in imports(rel) if top(name) == "schedule"]
    assert not problems, (
        "Only the scheduler process (monitor/scheduling/scheduler.py) uses `schedule`; jobs are plain functions "
        "it calls.\n" + "\n".join(problems)
    )


def import_graph() -> dict[str, set[str]]:
    """module → the project modules its module-level imports load (a submodule named in `from pkg import x`
    counts as that submodule, anything else as the package's __init__)."""
    names = {module_name(rel): rel for rel in sources()}
    graph: dict[str, set[str]] = {name: set() for name in names}
    for name, rel in names.items():
        for _, imported, imported_names in imports(rel, module_level=True):
            if top(imported) not in PACKAGES:
                continue
            targets = {f"{imported}.{n}" for n in imported_names if f"{imported}.{n}" in names}
            if imported in names and len(targets) < max(1, len(imported_names)):
                targets.add(imported)  # a name that is not a submodule comes from the package's __init__
            graph[name] |= {t for t in targets if t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_cycle_finder_finds_a_cycle_and_nothing_else():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = [c for c in cycles(import_graph()) if frozenset(c) not in KNOWN_CYCLES]
    assert not found, (
        "Modules that import each other (at module level) cannot be read, tested or moved one at a time: move "
        "what both need into a third module, or pass it in as a parameter.\n"
        + "\n".join(" ↔ ".join(c) for c in found)
    )


def test_the_checks_see_what_they_look_for():
    """Keeps the rules above from going blind (a moved module, a pattern that no longer matches)."""
    assert set(writers()["attempts"]) == {STATE_OWNER}
    assert set(writers()["scheduler_state"]) == {"monitor/scheduling/state.py"}
    assert SQL.search("SELECT a.id FROM attempts a") and SQL.search("DELETE FROM x") and not SQL.search("Chọn từ")
    assert "monitor.attempts.lifecycle" in import_graph()["monitor.attempts"]
    assert any(top(name) == "flask" for _, name, _ in imports("monitor/app.py"))


# -------------------------------------------------------------------------------- 8. write transactions


WRITE_TRANSACTION_HOME = "registry/db.py"


def test_every_transaction_is_taken_with_write_transaction():
    problems = [f"{rel}:{node.lineno} calls .atomic()" for rel in sources() if rel != WRITE_TRANSACTION_HOME
                for node in ast.walk(tree(rel))
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "atomic"]
    assert not problems, (
        "Open a write transaction with registry.db.write_transaction(db), not sqlite-utils' db.atomic(): its plain "
        "BEGIN reads first and then cannot wait for the write lock, so a save fails at once with \"database is "
        "locked\" whenever the scheduler or a callback writes. write_transaction takes the lock up front (BEGIN "
        "IMMEDIATE) and is a savepoint when nested.\n" + "\n".join(problems)
    )


# ------------------------------------------------------------------------------------------- 7. length


def test_modules_stay_short_enough_to_read_in_one_sitting():
    problems = []
    for rel, path in sources().items():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES and rel not in LONG_MODULES:
            problems.append(f"{rel}: {lines} lines")
    stale = [rel for rel in LONG_MODULES if rel not in sources()
             or len(sources()[rel].read_text(encoding="utf-8").splitlines()) <= MAX_LINES]
    assert not problems, (
        f"A module is named after one concept and stays under {MAX_LINES} lines: split it by concept (a package "
        "whose __init__ re-exports the public API keeps every call site working), or list it in LONG_MODULES "
        "with the reason.\n" + "\n".join(problems)
    )
    assert not stale, f"These are no longer long (or gone): remove them from LONG_MODULES: {', '.join(stale)}"
