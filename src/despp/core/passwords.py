"""A banned-context-word password validator (OWASP ASVS 6.1.2 / 6.2.11): passwords that lean on
the department's own words are the first ones an attacker tries."""

from django.core.exceptions import ValidationError

CONTEXT_WORDS = ("despp", "trooper", "police", "connecticut", "dispatch", "password", "911")


class ContextWordValidator:
    def validate(self, password: str, user: object = None) -> None:
        lowered = password.lower()
        for word in CONTEXT_WORDS:
            if word in lowered:
                raise ValidationError(
                    f"This password contains the word '{word}', which is too easy to guess here.",
                    code="password_context_word",
                )

    def get_help_text(self) -> str:
        return "Your password cannot contain words tied to this department, such as 'police'."
