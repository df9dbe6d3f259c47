"""The one base of every error a person is meant to read: domain code raises, the boundary speaks.

A UserError carries a message for the person who asked (Vietnamese source text, translated at the boundary
through gettext), the field it is about (a form field, a column, a setting), a short machine code and the
HTTP status a web request answers with. The Flask handler in registry/web/errors.py turns any UserError
into the error page or a JSON error; the CLI command class in registry/cli.py into a one-line exit 1.
Views that show a form again keep their own handling and put the message on the field it names
(registry.web.errors.form_error). Domain code only raises.

Every such error in the project derives from UserError: RegistryError (with NotFound, NumberTaken,
TemplateError, ImportRejected), NumberError, SettingsError, AttemptError, DisputeError, CallError,
SchedulerError, ProviderConfigError, AlertError, PeriodError, FilterError and ReportError.
"""


class UserError(Exception):
    """A request refused for a reason the person can act on; .message says why."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return str(self.message)

    @property
    def details(self) -> list[str]:
        """Lines that spell the message out (one per bad row of a rejected file); none by default."""
        return []


class RegistryError(UserError):
    """A request the registry refuses."""


class NotFound(RegistryError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "Không tìm thấy.", **kwargs):
        super().__init__(message, **kwargs)


class NumberTaken(RegistryError):
    status = 409
    code = "number_taken"

    def __init__(self, message: str, **kwargs):
        kwargs.setdefault("field", "number")
        super().__init__(message, **kwargs)
