"""The role ladder: who may do what (SPEC section 2)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    READ_ONLY = "read-only"
    OPERATOR = "operator"
    MEMBER = "member"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # Outside the ladder: may only post signals.
    DEVICE = "device"


LADDER: tuple[Role, ...] = (Role.READ_ONLY, Role.OPERATOR, Role.MEMBER, Role.SUPERVISOR, Role.ADMIN)
USER_ROLES = frozenset(LADDER)


def rank(role: Role) -> int:
    """Position on the ladder; the device role ranks below everything."""
    return LADDER.index(role) if role in USER_ROLES else -1


def allows(held: Role, needed: Role) -> bool:
    """Whether a credential holding `held` may do what `needed` guards."""
    if needed is Role.DEVICE:
        # Signals: devices, and admins who post by hand.
        return held in (Role.DEVICE, Role.ADMIN)
    return held in USER_ROLES and rank(held) >= rank(needed)


def effective(user_role: Role, key_role: Role | None) -> Role:
    """A key's role never exceeds its user's current role; `device` stays device."""
    if key_role is None:
        return user_role
    if key_role is Role.DEVICE:
        return Role.DEVICE
    return key_role if rank(key_role) <= rank(user_role) else user_role
