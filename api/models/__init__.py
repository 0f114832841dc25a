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
from api.models.workflow import (
    Appeal,
    AppealStatus,
    Claim,
    ClaimEvent,
    ClaimPhoto,
    ClaimStatus,
    CommitteeAction,
    Notice,
    NoticeKind,
    Photo,
)

__all__ = [
    "Appeal",
    "AppealStatus",
    "AuditRecord",
    "Claim",
    "ClaimEvent",
    "ClaimPhoto",
    "ClaimStatus",
    "CommitteeAction",
    "EntrySource",
    "InviteCode",
    "Member",
    "MemberStatus",
    "Notice",
    "NoticeKind",
    "OrgUnit",
    "PeriodRecord",
    "PeriodResult",
    "PeriodStatus",
    "Photo",
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
