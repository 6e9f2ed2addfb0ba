"""The impact assessment (spec "Impact Assessment": user, business and technical impact) as
fields, declared once. The form, the services, the timeline labels, the severity rule and the
page all derive their lists from these three groups."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Symptom(models.TextChoices):
    COMPLETE_OUTAGE = "complete_outage", "Complete outage"
    FEATURE_UNAVAILABLE = "feature_unavailable", "Feature unavailable"
    DEGRADED = "degraded", "Degraded performance or elevated errors"
    INTERMITTENT = "intermittent", "Intermittent errors"
    COSMETIC = "cosmetic", "Cosmetic or no user-visible symptom"
    UNKNOWN = "unknown", "Not known yet"


class Scope(models.TextChoices):
    SINGLE = "single", "One component"
    MULTIPLE = "multiple", "Several components"
    PLATFORM = "platform", "Platform-wide"


class RecoveryComplexity(models.TextChoices):
    LOW = "low", "Low (restart, rollback)"
    MEDIUM = "medium", "Medium (fix or failover)"
    HIGH = "high", "High (restore, rebuild)"
    UNKNOWN = "unknown", "Not known yet"


class UserImpact(models.Model):
    users_affected = models.PositiveIntegerField(
        "Users affected (number)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(2_000_000_000)],
    )
    users_affected_percent = models.DecimalField(
        "Users affected (%)",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    symptom = models.CharField(max_length=32, choices=Symptom.choices, default=Symptom.UNKNOWN)

    class Meta:
        abstract = True
        verbose_name = "User impact"


class BusinessImpact(models.Model):
    impact_revenue = models.BooleanField("Revenue impact", default=False)
    impact_reputation = models.BooleanField("Reputational damage", default=False)
    impact_compliance = models.BooleanField("Regulatory compliance concern", default=False)
    impact_sla = models.BooleanField("Contract or SLA violation", default=False)

    class Meta:
        abstract = True
        verbose_name = "Business impact"


class TechnicalImpact(models.Model):
    technical_scope = models.CharField(
        "Scope of affected systems", max_length=16, choices=Scope.choices, default=Scope.SINGLE
    )
    data_risk = models.BooleanField("Data integrity or loss risk", default=False)
    security_implications = models.BooleanField(default=False)
    recovery_complexity = models.CharField(
        max_length=16, choices=RecoveryComplexity.choices, default=RecoveryComplexity.UNKNOWN
    )

    class Meta:
        abstract = True
        verbose_name = "Technical impact"


class ImpactAssessment(UserImpact, BusinessImpact, TechnicalImpact):
    class Meta:
        abstract = True


IMPACT_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (str(group._meta.verbose_name), tuple(f.name for f in group._meta.fields))
    for group in (UserImpact, BusinessImpact, TechnicalImpact)
)
IMPACT_FIELDS: tuple[str, ...] = tuple(f.name for f in ImpactAssessment._meta.fields)
