"""Who may see what: roles and scopes from the access file named by $REDSERVICE_ACCESS.

    [users."someone@example.cn"]
    role = "unit"                      # leader | orgdept | unit | community (or 领导/组织部/单位/社区)
    units = ["县住建局"]               # for role "unit"
    communities = ["北城社区"]         # for role "community"
    counties = ["平陆县"]              # optional, any role: only these counties (a county's 组织部)
    show_names = true                  # optional: override the role's default

    groups_claim = "groups"            # optional: the ID token claim listing the user's groups
    [groups."组织部干部"]               # a group from that claim, mapped like a user
    role = "orgdept"

领导 sees everything with names masked; 组织部 everything with names visible; 单位 only its own
unit(s); 社区 only its own community; ``counties`` limits any role to those counties (a county's
组织部 in a city's store: its figures, names and exports). With no access file the app runs in local single-user mode
as 组织部. With an access file, an unknown or logged-out user, or one whose identity provider says
the e-mail address is not verified (``email_verified`` false), gets no scope at all (no figures).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from redservice.filters import Scope

ENV_ACCESS = "REDSERVICE_ACCESS"
ROLES = ("leader", "orgdept", "unit", "community")
ALIASES = {"领导": "leader", "组织部": "orgdept", "单位": "unit", "社区": "community"}
# Whether a role sees member names unless the access file says otherwise.
DEFAULT_SHOW_NAMES = {"leader": False, "orgdept": True, "unit": True, "community": False}
LOCAL = Scope(units=None, communities=None, show_names=True, label="orgdept")
_GROUP_PREFIX = "group:"  # groups share the table of viewers under this prefix (an e-mail has no colon)


class AccessError(ValueError):
    """The access file is malformed."""


@dataclass(frozen=True)
class Viewer:
    email: str | None
    role: str
    scope: Scope
    local: bool = False


def access_path() -> Path | None:
    value = os.environ.get(ENV_ACCESS)
    return Path(value).expanduser() if value else None


def load(path: Path) -> dict[str, Viewer]:
    """Parse the access file into viewers by lower-cased e-mail; raises AccessError when malformed."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AccessError(f"访问控制文件无法读取：{path}（{exc}）") from exc
    viewers = {}
    entries = list((data.get("users") or {}).items())
    entries += [(_GROUP_PREFIX + name, entry) for name, entry in (data.get("groups") or {}).items()]
    for email, entry in entries:
        if not isinstance(entry, dict):
            raise AccessError(f"访问控制文件中 {email} 的设置不是表")
        role = ALIASES.get(entry.get("role"), entry.get("role"))
        if role not in ROLES:
            raise AccessError(f"访问控制文件中 {email} 的角色“{entry.get('role')}”无效，应为 {'/'.join(ROLES)}")
        units = tuple(entry.get("units") or ()) if role == "unit" else None
        communities = tuple(entry.get("communities") or ()) if role == "community" else None
        if role == "unit" and not units:
            raise AccessError(f"访问控制文件中 {email} 为单位角色，但没有列出 units")
        if role == "community" and not communities:
            raise AccessError(f"访问控制文件中 {email} 为社区角色，但没有列出 communities")
        counties = entry.get("counties")
        if counties is not None and (not isinstance(counties, list) or not counties
                                     or not all(isinstance(c, str) and c.strip() for c in counties)):
            raise AccessError(f"访问控制文件中 {email} 的 counties 应为非空的县（市、区）名称列表")
        counties = tuple(c.strip() for c in counties) if counties is not None else None
        show = entry.get("show_names", DEFAULT_SHOW_NAMES[role])
        scope = Scope(units=units, communities=communities, show_names=bool(show), label=role, counties=counties)
        viewers[email.strip().lower()] = Viewer(email, role, scope)
    return viewers


def unverified(claims) -> bool:
    """True when the identity provider says the e-mail address is not verified
    (``email_verified`` false, or the string "false"). Providers that send no such claim vouch
    for the address by issuing it (many directory services do) and are not refused here."""
    value = (claims or {}).get("email_verified")
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "0", "no"))


def group_names(claims, path: Path | None = None) -> list[str]:
    """The groups the identity provider sent, from the claim named by ``groups_claim`` in the
    access file (none when the file names no claim)."""
    path = path if path is not None else access_path()
    if path is None:
        return []
    claim = _settings(path).get("groups_claim")
    value = (claims or {}).get(claim) if claim else None
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value or () if str(v).strip()]


def _settings(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AccessError(f"访问控制文件无法读取：{path}（{exc}）") from exc


def resolve(email: str | None, logged_in: bool, path: Path | None = None, claims: dict | None = None) -> Viewer | None:
    """The viewer for this session, or None when the user may see nothing: not signed in, an
    e-mail address the identity provider says is unverified, or neither the address nor one of
    the user's groups (``[groups."名称"]``, with ``groups_claim``) in the access file."""
    path = path if path is not None else access_path()
    if path is None:
        return Viewer(None, "orgdept", LOCAL, local=True)
    if not logged_in or not email or unverified(claims):
        return None
    viewers = load(path)
    who = viewers.get(email.strip().lower())
    if who is None:
        for group in group_names(claims, path):
            found = viewers.get(_GROUP_PREFIX + group.strip().lower())
            if found is not None:
                return Viewer(email, found.role, found.scope)
    return who
