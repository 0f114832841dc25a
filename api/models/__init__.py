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
from api.models.scoring import (
    AuditRecord,
    EntrySource,
    PeriodRecord,
    PeriodResult,
    PeriodStatus,
    SchemeRecord,
    SchemeVersion,
    ScoreEntry,
)

__all__ = [
    "AuditRecord",
    "EntrySource",
    "InviteCode",
    "Member",
    "MemberStatus",
    "OrgUnit",
    "PeriodRecord",
    "PeriodResult",
    "PeriodStatus",
    "PoliticalStatus",
    "RefreshToken",
    "Role",
    "RoleAssignment",
    "SchemeRecord",
    "SchemeVersion",
    "ScoreEntry",
    "UnitKind",
    "WeChatAccount",
    "id_of",
    "utcnow",
]
