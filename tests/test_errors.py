"""UserError, the one base of every error meant for a person, and the two places that speak it.

Every subclass carries a message, a field and a status; a UserError no view handles is its page (or JSON on
/api/ and /hooks/), never a 500; a UserError in any command is "Error: <message>" and exit status 1.
"""
import importlib
import pkgutil

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from wtforms import Form, StringField

import monitor
import registry
from registry.cli import UserErrorCommand, UserErrorGroup
from registry.errors import NotFound, UserError
from registry.web.errors import form_error

# Every module of both packages, imported so that walking the subclasses finds every error wherever it lives.
for _package in (registry, monitor):
    for _found in pkgutil.walk_packages(_package.__path__, _package.__name__ + "."):
        importlib.import_module(_found.name)

EXPECTED = {
    "RegistryError", "NotFound", "NumberTaken", "TemplateError", "ImportRejected", "NumberError", "SettingsError",
    "AttemptError", "DisputeError", "AlertError", "ProviderConfigError", "CallError", "SchedulerError",
    "PeriodError", "FilterError", "ReportError",
}
MESSAGE = "Thông báo cho người đọc."


def _subclasses(cls) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return sorted(set(out), key=lambda c: (c.__module__, c.__qualname__))


def _make(cls) -> UserError:
    """One instance of cls, built as the code that raises it does."""
    if cls.__name__ == "NumberError":
        return cls("invalid", MESSAGE)
    from registry.appendix import ImportRejected

    if issubclass(cls, ImportRejected):  # the appendix's and the dossier frame's: built from their bad rows
        from registry.appendix import RowError

        return cls([RowError(5, "Số", "sai"), RowError(5, "Tên", "trống"), RowError(7, "", "thừa")])
    return cls(MESSAGE)


def test_every_error_for_people_derives_from_user_error():
    assert {cls.__name__ for cls in _subclasses(UserError)} >= EXPECTED


@pytest.mark.parametrize("cls", _subclasses(UserError), ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_user_error_has_a_message_a_field_a_code_and_a_status(cls):
    exc = _make(cls)
    assert isinstance(exc, UserError)
    assert str(exc.message) and str(exc) == str(exc.message)
    assert exc.field is None or isinstance(exc.field, str)
    assert isinstance(exc.code, str) and exc.code
    assert isinstance(exc.status, int) and 400 <= exc.status < 500
    assert isinstance(exc.details, list)
    named = cls(MESSAGE, field="f", status=409) if cls.__name__ not in ("NumberError", "ImportRejected", "FrameRejected") else None
    if named is not None:
        assert (named.message, named.field, named.status) == (MESSAGE, "f", 409)


def test_keyword_and_positional_forms_keep_working():
    # Found by name: the reports package moves its modules about, the classes stay.
    found = {cls.__name__: cls for cls in _subclasses(UserError)}
    DisputeError, FilterError, PeriodError, NumberError = (
        found[name] for name in ("DisputeError", "FilterError", "PeriodError", "NumberError"))
    assert (PeriodError("x", "to").field, FilterError("x", "band").field) == ("to", "band")
    dispute = DisputeError("x", status=403, field="attempt")
    assert (dispute.status, dispute.field) == (403, "attempt")
    number = NumberError("too_short", "ngắn")
    assert (number.code, number.message, number.field) == ("too_short", "ngắn", "number")
    assert isinstance(number, ValueError)  # a parse error, still caught as one


def test_import_rejected_details_list_every_bad_row():
    from registry.appendix import ImportRejected

    exc = _make(ImportRejected)
    assert exc.details == ["Dòng 5, cột Số: sai", "Dòng 5, cột Tên: trống", "Dòng 7: thừa"]
    assert "2 dòng không hợp lệ" in exc.message


# ------------------------------------------------------------------------------------------------- web


@pytest.fixture
def raising_app(app):
    """The app with routes that raise errors no view handles, as a page, under /api/ and under /hooks/."""

    def refuse():
        raise UserError("Không được.", field="x", status=409)

    def missing():
        raise NotFound("Không có đơn vị mã “ZZ”.")

    for rule, name, view in (("/thu-loi", "page", refuse), ("/api/thu-loi", "api", refuse),
                             ("/hooks/thu-loi", "hook", refuse), ("/thu-loi/khong-co", "missing", missing)):
        app.add_url_rule(rule, f"test_error_{name}", view, methods=["GET", "POST"])
    return app


def test_a_user_error_on_a_page_is_the_error_page_with_its_message_and_status(raising_app):
    response = raising_app.test_client().get("/thu-loi")
    assert response.status_code == 409
    assert response.mimetype == "text/html"
    assert "Không được." in response.get_data(as_text=True)
    missing = raising_app.test_client().get("/thu-loi/khong-co")
    assert missing.status_code == 404 and "Không có đơn vị mã “ZZ”." in missing.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/thu-loi", "/hooks/thu-loi"])
def test_a_user_error_under_api_and_hooks_is_json(raising_app, path):
    response = raising_app.test_client().get(path)
    assert response.status_code == 409
    assert response.get_json() == {"error": "Không được.", "field": "x"}


def test_the_handler_is_registered_for_every_user_error(app):
    assert isinstance(app, Flask)
    handlers = app.error_handler_spec[None][None]
    assert UserError in handlers


class _Form(Form):
    name = StringField()
    reason = StringField()


def test_form_error_puts_the_message_on_the_field_it_names():
    form = _Form()
    form_error(form, UserError("Tên trống.", field="name"))
    assert form.name.errors == ["Tên trống."] and not form.form_errors


def test_form_error_maps_the_domain_field_to_the_form_field():
    form = _Form()
    form_error(form, UserError("Sai.", field="group_name"), {"group_name": "name"})
    assert form.name.errors == ["Sai."]


def test_form_error_without_a_field_of_this_form_goes_to_the_default_or_above_the_form():
    form = _Form()
    form_error(form, UserError("Chung."), default="reason")
    form_error(form, UserError("Lạ.", field="attempt"), default="reason")
    assert form.reason.errors == ["Chung.", "Lạ."]
    form_error(form, UserError("Trên cùng."))
    assert form.form_errors == ["Trên cùng."]


# ------------------------------------------------------------------------------------------------- CLI


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_a_user_error_in_a_command_is_one_line_and_exit_1():
    @click.command(cls=UserErrorCommand)
    def refuse():
        raise UserError("Không được.")

    result = CliRunner().invoke(refuse)
    assert result.exit_code == 1
    assert _lines(result.output) == ["Error: Không được."]


def test_a_group_gives_its_commands_the_same_answer_and_prints_details_first(app):
    from registry.appendix import ImportRejected, RowError

    group = UserErrorGroup("thu")

    @group.command("loi", with_appcontext=False)
    def refuse():
        raise ImportRejected([RowError(3, "Số", "sai")])

    result = CliRunner().invoke(group, ["loi"])
    assert result.exit_code == 1
    assert _lines(result.output) == ["Dòng 3, cột Số: sai", "Error: Tệp có 1 dòng không hợp lệ; chưa có gì được ghi."]


def test_other_exceptions_are_not_turned_into_one_line():
    @click.command(cls=UserErrorCommand)
    def crash():
        raise RuntimeError("hỏng")

    result = CliRunner().invoke(crash)
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


def test_real_commands_answer_a_user_error_with_one_line(runner):
    invited = runner.invoke(args=["users", "invite", "vanthu@test.vn", "--unit", "KHONGCO"])
    assert invited.exit_code == 1
    assert _lines(invited.output) == ["Error: Không có đơn vị mã “KHONGCO”."]
    report = runner.invoke(args=["report", "--from", "2025-13-01", "--to", "2025-06-30", "--format", "csv",
                                 "-o", "bao-cao.csv"])
    assert report.exit_code == 1
    assert len(_lines(report.output)) == 1 and _lines(report.output)[0].startswith("Error: ")


def test_every_project_command_answers_user_errors(app):
    """The groups and the top-level commands of the project all use the one command class."""
    def commands(group):
        for command in group.commands.values():
            if isinstance(command, click.Group):
                yield from commands(command)
            else:
                yield command

    ours = list(commands(app.cli))
    assert {c.name for c in ours} >= {"init-db", "invite", "import", "export", "run", "call", "report"}
    assert [c.name for c in ours if not isinstance(c, UserErrorCommand)] == []
