"""Sign-in, account, password, token and user-admin forms (fields from catalog.auth.spec)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import InputRequired, Length

from catalog.auth.spec import EMAIL, PASSWORD, PROFILE, ROLE, TOKEN, USER
from catalog.fields import Spec, with_fields


class LoginForm(FlaskForm):
    """Sign-in checks nothing but presence: whether the pair is right is all it may say."""

    email = EmailField(EMAIL.label, validators=[InputRequired(), Length(max=EMAIL.max_length)])
    password = PasswordField(
        PASSWORD.label, validators=[InputRequired(), Length(max=PASSWORD.max_length)]
    )
    next = HiddenField()


@with_fields(PROFILE)
class AccountForm(FlaskForm):
    """The signed-in person's own name and time zone."""


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[InputRequired()])
    new_password = PasswordField(
        "New password",
        validators=[InputRequired()],
        description=PASSWORD.help,
        render_kw={"maxlength": PASSWORD.max_length, "autocomplete": "new-password"},
    )
    confirm_password = PasswordField("New password again", validators=[InputRequired()])


@with_fields(TOKEN)
class TokenForm(FlaskForm):
    """A new API token: only its name."""


@with_fields(USER)
class InviteForm(FlaskForm):
    """An invitation: e-mail, name and role; the password is generated."""


@with_fields(Spec("role", (ROLE,)))
class RoleForm(FlaskForm):
    """An admin's change of someone's role."""
