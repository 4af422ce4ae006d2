"""The data model, one module per aggregate."""

from shared.models.cases import (
    ALLOWED_TRANSITIONS,
    OPEN_STATUS_VALUES,
    OPEN_STATUSES,
    REPRESENTATIVE_RELATIONSHIPS,
    Attachment,
    Case,
    CaseStatus,
    Understanding,
    reference_for,
)
from shared.models.coordination import (
    OPEN_TASK_STATUSES,
    CaseViewer,
    Commitment,
    CommitmentState,
    ResolutionOption,
    SavedReply,
    Task,
    TaskStatus,
)
from shared.models.escalations import (
    ESCALATION_NEEDS,
    OPEN_ESCALATION_STATUSES,
    Escalation,
    EscalationLevel,
    EscalationStatus,
)
from shared.models.notifications import Notification, SweepMark
from shared.models.outbox import EmailStatus, OutgoingEmail
from shared.models.service_levels import (
    Calendar,
    Category,
    Holiday,
    Priority,
    ServiceLevel,
    ServiceTarget,
    WorkingHours,
)
from shared.models.sign_in import Face, SignInSession, UsedSignInLink
from shared.models.timeline import EventKind, TimelineEvent, TimelineIsAppendOnly, Visibility
from shared.models.two_factor import StaffRecoveryCode, StaffTwoFactor
from shared.models.types import UTCDateTime, utcnow
from shared.models.uploads import PendingUpload
from shared.models.users import STAFF_ROLES, Role, Team, User, normalise_email

__all__ = [
    "ESCALATION_NEEDS",
    "OPEN_ESCALATION_STATUSES",
    "Escalation",
    "EscalationLevel",
    "EscalationStatus",
    "Notification",
    "SweepMark",
    "OPEN_TASK_STATUSES",
    "CaseViewer",
    "Commitment",
    "CommitmentState",
    "ResolutionOption",
    "SavedReply",
    "Task",
    "TaskStatus",
    "Understanding",
    "ALLOWED_TRANSITIONS",
    "OPEN_STATUS_VALUES",
    "OPEN_STATUSES",
    "REPRESENTATIVE_RELATIONSHIPS",
    "STAFF_ROLES",
    "Attachment",
    "Calendar",
    "Case",
    "CaseStatus",
    "Category",
    "EmailStatus",
    "EventKind",
    "Face",
    "Holiday",
    "PendingUpload",
    "OutgoingEmail",
    "Priority",
    "Role",
    "ServiceLevel",
    "ServiceTarget",
    "SignInSession",
    "StaffRecoveryCode",
    "StaffTwoFactor",
    "Team",
    "TimelineEvent",
    "TimelineIsAppendOnly",
    "UTCDateTime",
    "UsedSignInLink",
    "User",
    "Visibility",
    "WorkingHours",
    "normalise_email",
    "reference_for",
    "utcnow",
]
