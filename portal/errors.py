class ApplicationError(Exception):
    """A rule of the domain was broken. The message is for humans: views show it as a form
    error; nothing has been written when it is raised."""

    def __init__(self, message: str, *, field: str | None = None, details: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or []


class ConflictError(ApplicationError):
    """Someone else saved the record after this form was opened (DESIGN.md decision 9)."""
