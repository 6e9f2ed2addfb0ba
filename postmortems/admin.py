"""Read-only views of post-mortems, action items, PDF reports and who downloaded them: every
change goes through the portal's pages (and their services), which keep the history."""

from django.contrib import admin

from .models import ActionItem, Download, PdfReport, PostMortem


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PostMortem)
class PostMortemAdmin(ReadOnly):
    list_display = ["incident", "status", "revision", "published_revision", "owner", "due_at"]
    list_filter = ["status"]
    search_fields = ["incident__reference", "incident__title"]


@admin.register(ActionItem)
class ActionItemAdmin(ReadOnly):
    list_display = ["title", "postmortem", "owner", "due_on", "priority", "status"]
    list_filter = ["status", "category", "priority"]
    search_fields = ["title"]


@admin.register(PdfReport)
class PdfReportAdmin(ReadOnly):
    list_display = ["postmortem", "revision", "paper", "state", "pages", "render_ms", "finished_at"]
    list_filter = ["state", "paper"]


@admin.register(Download)
class DownloadAdmin(ReadOnly):
    list_display = ["at", "user", "report"]
    list_select_related = ["user", "report__postmortem__incident"]
