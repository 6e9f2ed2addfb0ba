"""How far from now every date and time the portal accepts may lie (DESIGN.md decision 10: no
stored value may make a page fail for everyone). One table, read by the forms (a field error)
and by the services (ApplicationError, for tasks and the API). Each check returns the refusal
message, or "" when the value is within bounds."""

from datetime import UTC, date, datetime, timedelta

# A detection is no earlier than this before the declaration: older problems are a
# post-mortem's business, and year 1 or a mistyped century is no detection time.
DETECTION_LOOKBACK = timedelta(days=365)
# A browser clock a little ahead of the server's is not a detection "in the future".
DETECTION_CLOCK_SKEW = timedelta(minutes=1)
# The next status update is promised at most this far ahead (P1/P2 cadences are stricter).
NEXT_UPDATE_HORIZON = timedelta(days=7)
# The incident list's date filter: nothing was declared before the portal's era, and a year
# ahead is as far as anyone plans.
FILTER_EARLIEST = date(2000, 1, 1)
FILTER_HORIZON = timedelta(days=366)


def _days(delta: timedelta) -> str:
    return f"{delta.days} days"


def detection_error(detected_at: datetime, declared_at: datetime, *, skew=timedelta(0)) -> str:
    """`declared_at` is the declaration being made (now) or, for an existing incident, its
    own declaration time."""
    if detected_at > declared_at + skew:
        return "Detection time cannot be in the future."
    if detected_at < declared_at - DETECTION_LOOKBACK:
        return (
            f"Detection time must be within {_days(DETECTION_LOOKBACK)} before the "
            "declaration; for an older problem, give the time it was noticed again."
        )
    return ""


def next_update_error(next_update_at: datetime, now: datetime) -> str:
    if next_update_at <= now:
        return "The next update must be in the future."
    if next_update_at > now + NEXT_UPDATE_HORIZON:
        return (
            f"The next update must be within {_days(NEXT_UPDATE_HORIZON)}; promise a nearer one "
            "and post again then."
        )
    return ""


def filter_latest(today: date) -> date:
    return today + FILTER_HORIZON


def filter_date_error(day: date, today: date) -> str:
    latest = filter_latest(today)
    if not FILTER_EARLIEST <= day <= latest:
        return f"Enter a date between {FILTER_EARLIEST.isoformat()} and {latest.isoformat()}."
    return ""


def clamp_filter_date(day: date, today: date) -> date:
    """For callers that skip the form: a date the filter can always turn into a time."""
    return min(max(day, FILTER_EARLIEST), filter_latest(today))


_LATEST = datetime.max.replace(tzinfo=UTC)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def shifted(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, stopping at the ends of the calendar: display code reading a value
    stored before these bounds existed must not fail on it."""
    try:
        return moment + delta
    except OverflowError:
        return _LATEST if delta > timedelta(0) else _EARLIEST


# An estimated resolution time is promised at most this far ahead.
ESTIMATE_HORIZON = timedelta(days=30)
# A maintenance window is announced at most this far ahead and lasts at most this long; it may
# be recorded up to a day after it started.
MAINTENANCE_HORIZON = timedelta(days=366)
MAINTENANCE_LONGEST = timedelta(days=14)
MAINTENANCE_LOOKBACK = timedelta(days=1)


def estimate_error(at: datetime, now: datetime) -> str:
    if at <= now:
        return "The estimated resolution time must be in the future."
    if at > now + ESTIMATE_HORIZON:
        return f"Estimate a resolution within {_days(ESTIMATE_HORIZON)}, and update it later."
    return ""


def maintenance_error(starts_at: datetime, ends_at: datetime, now: datetime) -> tuple[str, str]:
    """(field, message) of the first thing wrong with a window, or ("", "")."""
    if ends_at <= starts_at:
        return "ends_at", "The window must end after it starts."
    if starts_at < now - MAINTENANCE_LOOKBACK:
        return "starts_at", "A window starts at most a day in the past."
    if starts_at > now + MAINTENANCE_HORIZON:
        return "starts_at", f"Schedule a window within {_days(MAINTENANCE_HORIZON)}."
    if ends_at - starts_at > MAINTENANCE_LONGEST:
        return "ends_at", f"A window lasts at most {_days(MAINTENANCE_LONGEST)}."
    return "", ""


# Post-mortems: the meeting and the timeline's own entries lie near the incident; an action
# item is due within two years (further is a roadmap, not an action item).
POSTMORTEM_WINDOW = timedelta(days=366)
ACTION_ITEM_HORIZON = timedelta(days=731)


def postmortem_time_error(at: datetime, detected_at: datetime, what: str) -> str:
    if not detected_at - POSTMORTEM_WINDOW <= at <= detected_at + POSTMORTEM_WINDOW:
        return f"{what} must be within {_days(POSTMORTEM_WINDOW)} of the incident's detection."
    return ""


def action_item_due_error(due_on: date, today: date, *, creating: bool) -> str:
    if creating and due_on < today:
        return "The due date cannot be in the past."
    if due_on > today + ACTION_ITEM_HORIZON:
        return f"Choose a due date within {_days(ACTION_ITEM_HORIZON)}; split larger work."
    if due_on < FILTER_EARLIEST:
        return f"Choose a due date after {FILTER_EARLIEST.isoformat()}."
    return ""
