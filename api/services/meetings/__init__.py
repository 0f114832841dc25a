"""组织生活: a branch schedules 三会一课 meetings and 主题党日, members ask for leave and scan in,
and closing a meeting decides each attendee's outcome and the points the scheme gives it.

The public surface other services use: `attendance_summary` (a member's record and rate over a
period), `summary` (counts for the committee's evaluation view), `send_due_reminders` (run by
the worker's schedules), `parse_checkin_code` (what a scanned link or code names) and
`check_signature` (whether the service made that code).
"""

from api.services.meetings.attendance import (
    AttendanceCounts,
    AttendanceSummary,
    attendance_summary,
    attended,
    lines,
    meeting_lines,
    member_attendance,
    period_of_key,
    summary,
)
from api.services.meetings.closing import Closed, close, reopen
from api.services.meetings.codes import CheckinCode, check_signature, parse_checkin_code
from api.services.meetings.schedule import (
    cancel,
    detail,
    edit,
    listing,
    mine,
    record,
    schedule,
    send_due_reminders,
)

__all__ = [
    "AttendanceCounts",
    "AttendanceSummary",
    "CheckinCode",
    "Closed",
    "attendance_summary",
    "attended",
    "cancel",
    "check_signature",
    "close",
    "detail",
    "edit",
    "lines",
    "listing",
    "meeting_lines",
    "member_attendance",
    "mine",
    "parse_checkin_code",
    "period_of_key",
    "record",
    "reopen",
    "schedule",
    "send_due_reminders",
    "summary",
]
