"""Length limits that name the field, and that the page can show while it is typed."""

import re

from wtforms.validators import Length, ValidationError

# "What would put it right? (optional)" is read as "What would put it right".
_LABEL_TAIL = re.compile(r"\s*\((optional)\)\s*$|[\s?:]+$", re.IGNORECASE)


def field_name(field) -> str:
    """The field's label as it reads at the start of a sentence."""
    text = field.label.text if field.label else field.name
    while (stripped := _LABEL_TAIL.sub("", text)) != text:
        text = stripped
    return text or field.name


class MaxLength(Length):
    """At most `max` characters, counted as the database and the counter in the page count them.

    Keeps Length's `maxlength` flag, so the field macro can render the limit and its counter
    from this validator alone; the message names the field instead of "this field".
    """

    def __init__(self, max: int):
        super().__init__(max=max)

    def __call__(self, form, field):
        if field.data and len(field.data) > self.max:
            raise ValidationError(f"{field_name(field)} can be at most {self.max:,} characters.")
