"""Who receives which email (SPEC section 9): preferences on the station's group, plus the issue's watchers.

Every query is filtered by account, so a user of another account can never be a recipient, and a
station outside the groups a user chose never reaches them through a preference.
"""

from __future__ import annotations

from collections import defaultdict

from models.issues import IssueWatcher
from models.notifications import NotificationPreference

# email (lower-cased) → user id
Recipients = dict[str, int]


async def subscribers(*, account_id: str, group_ids: list[int], kind: str) -> dict[int, Recipients]:
    """Per station group: the users whose stored preference on it includes `kind`."""
    found: dict[int, Recipients] = defaultdict(dict)
    if not group_ids:
        return found
    rows = await NotificationPreference.filter(account_id=account_id, group_id__in=group_ids).values(
        "group_id", "user_id", "kinds", "user__email"
    )
    for row in rows:
        if kind in (row["kinds"] or []):
            found[row["group_id"]][str(row["user__email"]).lower()] = row["user_id"]
    return found


async def watchers(*, account_id: str, issue_id: int) -> Recipients:
    rows = await IssueWatcher.filter(account_id=account_id, issue_id=issue_id).values(
        "user_id", "user__email"
    )
    return {str(r["user__email"]).lower(): r["user_id"] for r in rows}


async def issue_recipients(
    *, account_id: str, issue_id: int, group_id: int | None, preference: str
) -> Recipients:
    """Subscribers of `preference` on the station's group (none when the station has no group) and watchers."""
    by_group = await subscribers(
        account_id=account_id, group_ids=[group_id] if group_id else [], kind=preference
    )
    found = dict(by_group.get(group_id, {})) if group_id else {}
    found.update(await watchers(account_id=account_id, issue_id=issue_id))
    return found


async def summary_recipients(*, account_id: str, group_ids: list[int]) -> dict[str, tuple[int, list[int]]]:
    """Daily-summary subscribers among the groups: email → (user id, the groups they chose, sorted)."""
    found: dict[str, tuple[int, list[int]]] = {}
    for group_id, users in (
        await subscribers(account_id=account_id, group_ids=group_ids, kind="daily-summary")
    ).items():
        for email, user_id in users.items():
            found.setdefault(email, (user_id, []))[1].append(group_id)
    return {email: (user_id, sorted(groups)) for email, (user_id, groups) in found.items()}
