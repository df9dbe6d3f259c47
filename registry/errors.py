"""Named domain errors, each carrying a Vietnamese message for the user; turned into flash/abort/ClickException at the boundary."""


class RegistryError(Exception):
    """A request the registry refuses; .message says why, in Vietnamese, for the person who asked."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class NotFound(RegistryError):
    def __init__(self, message: str = "Không tìm thấy."):
        super().__init__(message, code="not_found")


class NumberTaken(RegistryError):
    def __init__(self, message: str):
        super().__init__(message, field="number", code="number_taken")
