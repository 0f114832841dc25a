"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from api.models.auth import InviteCode, RefreshToken, WeChatAccount
from api.models.base import id_of, utcnow
from api.models.org import (
    Member,
    MemberStatus,
    OrgUnit,
    PoliticalStatus,
    Role,
    RoleAssignment,
    UnitKind,
)

__all__ = [
    "InviteCode",
    "Member",
    "MemberStatus",
    "OrgUnit",
    "PoliticalStatus",
    "RefreshToken",
    "Role",
    "RoleAssignment",
    "UnitKind",
    "WeChatAccount",
    "id_of",
    "utcnow",
]
