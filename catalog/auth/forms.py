"""Sign-in, account, password, token and user-admin forms."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from catalog.auth.models import ROLES
from catalog.web.forms import options

ROLE_HELP = "viewer: reads everything · editor: logs and edits incidents, vectors, post-mortems · admin: also users, deletes and archiving"


def timezone_choices() -> list[tuple[str, str]]:
    zones = sorted(
        z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )
    return [("", "Team default"), ("UTC", "UTC"), *((z, z.replace("_", " ")) for z in zones)]


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[InputRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=200)])
    next = HiddenField()


class AccountForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=100)])
    timezone = SelectField(
        "Time zone",
        description="Times on every page and in every form are shown in this zone.",
        validate_choice=False,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = options(timezone_choices())


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[InputRequired()])
    new_password = PasswordField(
        "New password", validators=[InputRequired()], description="At least 10 characters."
    )
    confirm_password = PasswordField("New password again", validators=[InputRequired()])


class TokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[Optional(), Length(max=100)],
        description="What uses it, e.g. “alertmanager” or “ci export”.",
    )


class InviteForm(FlaskForm):
    email = EmailField("E-mail", validators=[InputRequired(), Length(max=254)])
    name = StringField("Name", validators=[Optional(), Length(max=100)])
    role = SelectField(
        "Role",
        choices=options((r, r.capitalize()) for r in ROLES),
        default="viewer",
        description=ROLE_HELP,
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=options((r, r.capitalize()) for r in ROLES))
