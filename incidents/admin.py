from django.contrib import admin

from .models import (
    ChecklistTemplate,
    ChecklistTemplateItem,
    Component,
    ComponentGroup,
    Incident,
    Integration,
    Subscriber,
    SubscriberNotice,
    TimelineEvent,
)


@admin.register(ComponentGroup)
class ComponentGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "position"]


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "position", "status"]
    list_filter = ["group", "status"]
    search_fields = ["name"]
    # The status changes through the portal (incident page, internal status page), which
    # keeps the history uptime is computed from; here it is only shown.
    readonly_fields = ["status", "status_changed_at", "public_id", "created_at"]


class ChecklistTemplateItemInline(admin.TabularInline):
    model = ChecklistTemplateItem
    extra = 1


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "position"]
    inlines = [ChecklistTemplateItemInline]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Read-only: incidents change through the portal's services, which write the timeline."""

    list_display = ["reference", "title", "severity", "status", "declared_at"]
    list_filter = ["severity", "status", "type"]
    search_fields = ["reference", "title"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ["incident", "kind", "actor", "occurred_at"]
    list_filter = ["kind"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    """The label mapping and limits are edited here; integrations are made (their secret
    URL shown once) at /incidents/integrations/ or with manage.py create_integration."""

    list_display = ["name", "kind", "last_received_at", "revoked_at"]
    fields = [
        "name", "kind", "severity_label", "severity_map", "default_severity",
        "component_label", "type_label", "default_type", "storm_limit", "auto_resolve",
        "token_hint", "created_at", "last_received_at", "revoked_at",
    ]  # fmt: skip
    readonly_fields = ["kind", "token_hint", "created_at", "last_received_at", "revoked_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    """Status-page subscribers: looked up and removed here (a request to be forgotten);
    they sign up, confirm and change their components themselves. The token and the
    webhook secret are never shown."""

    list_display = ["email", "endpoint", "kind", "state", "created_at", "confirmed_at", "ended_at"]
    list_filter = ["kind", "state"]
    search_fields = ["email", "endpoint"]
    fields = [
        "kind", "email", "endpoint", "components", "state", "created_at", "confirmed_at",
        "ended_at", "last_error",
    ]  # fmt: skip
    readonly_fields = [
        "kind", "email", "endpoint", "components", "state", "created_at", "confirmed_at",
        "ended_at", "last_error",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False


@admin.register(SubscriberNotice)
class SubscriberNoticeAdmin(admin.ModelAdmin):
    list_display = ["subject", "event", "created_at", "fanned_out_at"]
    list_filter = ["event"]
    exclude = ["payload", "extra_addresses"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
