from django.contrib import admin

from .models import ChannelCircuit, Notification, Profile, SweepStatus, Team, Timer


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["members"]
    search_fields = ["name"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "time_zone"]
    search_fields = ["user__username", "display_name"]


@admin.register(Timer)
class TimerAdmin(admin.ModelAdmin):
    list_display = ["kind", "object_id", "due_at", "state", "attempts", "fired_at"]
    list_filter = ["state", "kind"]
    readonly_fields = [f.name for f in Timer._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(SweepStatus)
class SweepStatusAdmin(admin.ModelAdmin):
    list_display = ["last_started_at", "last_finished_at", "last_fired", "total_fired"]

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at", "reason", "addressee", "channel", "lane", "status", "attempts", "provider",
    ]  # fmt: skip
    list_filter = ["status", "channel", "lane", "reason"]
    search_fields = ["subject", "recipient__username", "destination"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ChannelCircuit)
class ChannelCircuitAdmin(admin.ModelAdmin):
    list_display = ["channel", "provider", "consecutive_failures", "open_until", "updated_at"]


from .oncall import admin as oncall_admin  # noqa: E402, F401  (registers the on-call models)
