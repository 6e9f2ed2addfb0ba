"""On-call in the admin site (issue 11): schedules with their rotations and covers, the
escalation policy (routes, steps, targets), the escalation matrix and the team roles are data
that administrators edit here; escalations and pages are read-only records."""

from django.contrib import admin

from . import schedule_services
from .models import (
    CalendarFeed,
    ContactMethod,
    Escalation,
    EscalationPolicy,
    EscalationRoute,
    EscalationStep,
    MatrixEntry,
    OnCallRole,
    OnCallSchedule,
    Page,
    RotationMember,
    ScheduleOverride,
    ScheduleRotation,
    StepTarget,
)


class RotationInline(admin.TabularInline):
    model = ScheduleRotation
    extra = 0
    show_change_link = True


class OverrideInline(admin.TabularInline):
    model = ScheduleOverride
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(OnCallSchedule)
class OnCallScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "time_zone"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    inlines = [RotationInline, OverrideInline]


class MemberInline(admin.TabularInline):
    model = RotationMember
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(ScheduleRotation)
class ScheduleRotationAdmin(admin.ModelAdmin):
    list_display = ["schedule", "name", "layer", "start", "shift_days", "handoff_weekday"]
    inlines = [MemberInline]


class RouteInline(admin.TabularInline):
    model = EscalationRoute
    extra = 0
    show_change_link = True


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "working_start", "working_end", "is_default"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RouteInline]


class StepInline(admin.TabularInline):
    model = EscalationStep
    extra = 0
    show_change_link = True


@admin.register(EscalationRoute)
class EscalationRouteAdmin(admin.ModelAdmin):
    list_display = ["policy", "severity", "window", "next_business_day"]
    list_filter = ["policy", "severity", "window"]
    inlines = [StepInline]


class TargetInline(admin.TabularInline):
    model = StepTarget
    extra = 1
    autocomplete_fields = ["user", "schedule"]


@admin.register(EscalationStep)
class EscalationStepAdmin(admin.ModelAdmin):
    list_display = ["route", "position", "wait_minutes"]
    inlines = [TargetInline]


@admin.register(MatrixEntry)
class MatrixEntryAdmin(admin.ModelAdmin):
    list_display = ["label", "team", "incident_type", "first", "second", "third"]
    autocomplete_fields = ["first", "second", "third"]


@admin.register(OnCallRole)
class OnCallRoleAdmin(admin.ModelAdmin):
    list_display = ["role", "schedule", "user"]
    autocomplete_fields = ["schedule", "user"]


class PageInline(admin.TabularInline):
    model = Page
    extra = 0
    can_delete = False
    readonly_fields = [
        "round",
        "step",
        "target",
        "user",
        "destination",
        "due_at",
        "paged_at",
        "gap",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Escalation)
class EscalationAdmin(admin.ModelAdmin):
    list_display = ["topic", "severity", "state", "step_index", "started_at", "acknowledged_by"]
    list_filter = ["state", "severity"]
    readonly_fields = [f.name for f in Escalation._meta.fields]
    inlines = [PageInline]

    def has_add_permission(self, request):
        return False


@admin.register(ContactMethod)
class ContactMethodAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "address", "verified_at"]
    search_fields = ["user__username", "address"]
    readonly_fields = ["verified_at", "code_hash", "code_sent_at", "code_attempts"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["owner", "schedule", "created_at", "revoked_at"]
    readonly_fields = ["token", "owner", "schedule", "created_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected calendar links")
    def revoke(self, request, queryset):
        for feed in queryset.filter(revoked_at__isnull=True):
            schedule_services.feed_revoke(actor=request.user, feed=feed)
