"""Two-step sign-in for staff: a code from an authenticator app (TOTP), or a recovery code.

Which roles must use it is the TWO_FACTOR_REQUIRED_ROLES setting (admins and managers unless
configured otherwise); anyone else on staff may turn it on for themselves. As elsewhere in
services, these functions change data and never commit; a refused code raises RuleViolation.
"""

import hmac
import secrets

import pyotp
from flask import current_app
from sqlalchemy import delete, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from shared.extensions import db
from shared.models import STAFF_ROLES, Role, StaffRecoveryCode, StaffTwoFactor, User, utcnow
from shared.services.errors import RuleViolation

ISSUER = "Amends"
RECOVERY_CODE_COUNT = 10
# Lower case letters and digits without the look-alikes (0/o, 1/l/i), as people copy them by hand.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_CODE_LENGTH = 10  # about 49 bits each: guessing one is hopeless, hash speed aside
# The codes are random, not chosen by people, so a slow hash adds nothing but waiting.
_RECOVERY_HASH_METHOD = "pbkdf2:sha256:20000"
# A code from the step before or after is accepted too: phone clocks drift.
_ACCEPTED_STEPS = (0, -1, 1)

ENTER_CODE = "Enter the 6-digit code from your authenticator app, or a recovery code."
WRONG_CODE = (
    "That code is not right. Type the 6-digit code your authenticator app shows now, or one of"
    " your recovery codes."
)
USED_CODE = "That code has already been used. Wait for your app to show the next one."


def required_roles() -> frozenset[Role]:
    """The roles that must use a second step, from a comma-separated setting ("" for none)."""
    names = {
        name.strip().lower()
        for name in current_app.config.get("TWO_FACTOR_REQUIRED_ROLES", "").split(",")
    } - {"", "none"}
    unknown = names - {role.value for role in STAFF_ROLES}
    if unknown:
        raise ValueError(
            f"TWO_FACTOR_REQUIRED_ROLES names no staff role: {', '.join(sorted(unknown))}"
        )
    return frozenset(Role(name) for name in names)


def is_required_for(user: User) -> bool:
    return user.is_staff and user.role in required_roles()


def enrolment_of(user: User) -> StaffTwoFactor | None:
    return db.session.get(StaffTwoFactor, user.id)


def is_enrolled(user: User) -> bool:
    enrolment = enrolment_of(user)
    return enrolment is not None and enrolment.is_confirmed


def start_enrolment(user: User) -> StaffTwoFactor:
    """The secret to show while setting up; the same one until a code confirms it."""
    enrolment = enrolment_of(user)
    if enrolment is not None and enrolment.is_confirmed:
        raise RuleViolation("Two-step sign-in is already set up for your account.")
    if enrolment is None:
        enrolment = StaffTwoFactor(user_id=user.id, secret=pyotp.random_base32())
        db.session.add(enrolment)
        db.session.flush()
    return enrolment


def provisioning_uri(user: User, enrolment: StaffTwoFactor) -> str:
    """What the QR code holds: authenticator apps read the account name and issuer from it."""
    return pyotp.TOTP(enrolment.secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def confirm_enrolment(user: User, code: str) -> list[str]:
    """A correct code from the app turns the second step on; returns new recovery codes."""
    enrolment = start_enrolment(user)
    step = _matching_step(enrolment, _digits(code))
    if step is None:
        raise RuleViolation(
            "That code is not right. Type the 6-digit code your app shows for Amends now.",
            field="code",
        )
    enrolment.confirmed_at = utcnow()
    enrolment.last_used_step = step
    return _new_recovery_codes(user)


def check_sign_in_code(user: User, code: str) -> None:
    """The second step of signing in: a fresh app code, or an unused recovery code."""
    enrolment = enrolment_of(user)
    if enrolment is None or not enrolment.is_confirmed:
        raise RuleViolation("Two-step sign-in is not set up for this account.")
    typed = "".join((code or "").split()).replace("-", "").lower()
    if not typed:
        raise RuleViolation(ENTER_CODE, field="code")
    if typed.isdigit() and len(typed) == 6:
        _use_app_code(enrolment, typed)
    else:
        _use_recovery_code(user, typed)


def regenerate_recovery_codes(user: User) -> list[str]:
    if not is_enrolled(user):
        raise RuleViolation("Set up two-step sign-in first.")
    return _new_recovery_codes(user)


def unused_recovery_code_count(user: User) -> int:
    return len(_unused_recovery_codes(user))


def turn_off(user: User) -> None:
    """Staff whose role does not require the second step may stop using it."""
    if is_required_for(user):
        raise RuleViolation("Your role must use two-step sign-in, so it cannot be turned off.")
    _forget(user)


def reset(member: User, *, actor: User) -> None:
    """An admin clears someone's second step (a lost phone): they set it up again next time."""
    if actor.role != Role.ADMIN:
        raise RuleViolation("Only an administrator can reset two-step sign-in.")
    if enrolment_of(member) is None:
        raise RuleViolation(f"{member.name} has not set up two-step sign-in.")
    _forget(member)
    current_app.logger.info("two-step sign-in reset for user %s by admin %s", member.id, actor.id)


# --- How codes are checked ------------------------------------------------------------------


def _digits(code: str | None) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())


def _matching_step(enrolment: StaffTwoFactor, code: str) -> int | None:
    """The time step whose code this is (now, or one step either side), or None."""
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(enrolment.secret)
    now_step = totp.timecode(utcnow())
    for offset in _ACCEPTED_STEPS:
        if hmac.compare_digest(totp.generate_otp(now_step + offset), code):
            return now_step + offset
    return None


def _use_app_code(enrolment: StaffTwoFactor, code: str) -> None:
    step = _matching_step(enrolment, code)
    if step is None:
        raise RuleViolation(WRONG_CODE, field="code")
    # One conditional update, so two requests racing with the same code cannot both pass.
    claimed = db.session.execute(
        update(StaffTwoFactor)
        .where(
            StaffTwoFactor.user_id == enrolment.user_id,
            or_(StaffTwoFactor.last_used_step.is_(None), StaffTwoFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not claimed:
        raise RuleViolation(USED_CODE, field="code")


def _use_recovery_code(user: User, typed: str) -> None:
    for recovery_code in _unused_recovery_codes(user):
        if check_password_hash(recovery_code.code_hash, typed):
            claimed = db.session.execute(
                update(StaffRecoveryCode)
                .where(
                    StaffRecoveryCode.id == recovery_code.id, StaffRecoveryCode.used_at.is_(None)
                )
                .values(used_at=utcnow())
                .execution_options(synchronize_session="fetch")
            ).rowcount
            if claimed:
                return
    raise RuleViolation(WRONG_CODE, field="code")


def _unused_recovery_codes(user: User) -> list[StaffRecoveryCode]:
    return list(
        db.session.scalars(
            select(StaffRecoveryCode).where(
                StaffRecoveryCode.user_id == user.id, StaffRecoveryCode.used_at.is_(None)
            )
        )
    )


def _new_recovery_codes(user: User) -> list[str]:
    """Replace every recovery code with new ones, returned in clear this once only."""
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(
        StaffRecoveryCode(
            user_id=user.id, code_hash=generate_password_hash(code, _RECOVERY_HASH_METHOD)
        )
        for code in codes
    )
    db.session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _forget(user: User) -> None:
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.user_id == user.id))
    db.session.execute(delete(StaffTwoFactor).where(StaffTwoFactor.user_id == user.id))
