"""The one error a business rule raises; views turn it into a message beside the field."""


class RuleViolation(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
