"""Operators' admin for accounts, their users, their ledger and their do-not-call lists.

Balances are read-only here: they change only through the ledger (the top-up action, the call
engine). Plan, limits and pricing are validated by the model fields' validators, the same
rules as the API, and saved through the services. Top-ups (and an initial balance) and the
compliance profile need their own permissions, as in the API (``accounts.permissions``).
"""

from functools import lru_cache

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Max, Q, Subquery
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from callcenter.paginator import LargeTableAdminMixin

from . import services
from .lockout import LoginLocked, login_authenticate
from .models import MONEY, Account, ApiToken, DoNotCall, LedgerEntry, User
from .permissions import CHANGE_COMPLIANCE_PROFILE, TOPUP

LEDGER_INLINE_ROWS = 50


class LedgerEntryInline(admin.TabularInline):
    """The latest ledger entries of the account; never added, changed or deleted here."""

    model = LedgerEntry
    fk_name = "account"
    fields = [
        "created_at",
        "kind",
        "unit",
        "amount",
        "balance_after",
        "reason",
        "reference",
        "created_by",
    ]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = _("latest ledger entries")

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("created_by")
        object_id = (
            request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        )
        if object_id is None:
            return queryset
        # An inline formset cannot be sliced; keep the latest rows with a subquery instead.
        latest = (
            LedgerEntry.objects.filter(account_id=unquote(object_id))
            .order_by("-created_at", "-id")
            .values("id")[:LEDGER_INLINE_ROWS]
        )
        return queryset.filter(id__in=Subquery(latest))

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DoNotCallInline(admin.TabularInline):
    model = DoNotCall
    fields = ["phone", "rut", "reason", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0


class AccountAddForm(forms.ModelForm):
    """The add form: the id may be left empty, and an initial balance may be given."""

    initial_credits = forms.DecimalField(
        label=_("Initial credits"), required=False, min_value=0, **MONEY
    )
    initial_minutes = forms.DecimalField(
        label=_("Initial minutes"), required=False, min_value=0, **MONEY
    )

    class Meta:
        model = Account
        fields = [
            "account_id",
            "account_name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "plan_type",
            "max_concurrent_calls",
            "timezone",
            "compliance_profile",
            "cost_per_call_setup",
            "cost_per_minute",
            "retell_agent_id",
            "record_retention_months",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "account_id" in self.fields:
            self.fields["account_id"].required = False
            self.fields["account_id"].help_text = _(
                "Leave empty to generate it from the account name."
            )


class AccountTopupForm(forms.Form):
    credits = forms.DecimalField(label=_("Credits"), required=False, **MONEY)
    minutes = forms.DecimalField(label=_("Minutes"), required=False, **MONEY)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=120,
        required=False,
        help_text=_("Invoice or transfer number, recorded in the ledger."),
    )

    def clean(self):
        cleaned = super().clean()
        services.account_topup_validate(
            credits=cleaned.get("credits"), minutes=cleaned.get("minutes")
        )
        return cleaned


# The intermediate page of the top-up action.
TOPUP_TEMPLATE = """{% extends "admin/base_site.html" %}
{% load admin_urls l10n %}
{% block bodyclass %}{{ block.super }} app-{{ opts.app_label }} model-{{ opts.model_name }}\
 topup-confirmation{% endblock %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{{ home_label }}</a>
&rsaquo; <a href="{% url 'admin:app_list' app_label=opts.app_label %}">\
{{ opts.app_config.verbose_name }}</a>
&rsaquo; <a href="{% url opts|admin_urlname:'changelist' %}">\
{{ opts.verbose_name_plural|capfirst }}</a>
&rsaquo; {{ title }}</div>{% endblock %}
{% block content %}
<p>{{ intro }}</p>
<ul>{% for account in accounts %}
<li>{{ account }}: {{ account.credits }} {{ credits_label }}, {{ account.minutes }}\
 {{ minutes_label }}</li>{% endfor %}
</ul>
<form method="post">{% csrf_token %}
{% if form.non_field_errors %}{{ form.non_field_errors }}{% endif %}
<fieldset class="module aligned">
{% for field in form %}<div class="form-row">{{ field.errors }}{{ field.label_tag }} {{ field }}
{% if field.help_text %}<div class="help">{{ field.help_text }}</div>{% endif %}</div>
{% endfor %}</fieldset>
{% for account in accounts %}<input type="hidden" name="{{ action_checkbox_name }}" \
value="{{ account.pk|unlocalize }}">{% endfor %}
<input type="hidden" name="action" value="topup">
<input type="hidden" name="apply" value="1">
<div class="submit-row"><input type="submit" value="{{ submit_label }}" class="default">
<a href="{% url opts|admin_urlname:'changelist' %}" class="button cancel-link">\
{{ cancel_label }}</a></div>
</form>
{% endblock %}"""


@lru_cache(maxsize=1)
def topup_template():
    return engines["django"].from_string(TOPUP_TEMPLATE)


class AccountListFilter(admin.SimpleListFilter):
    """The accounts of the latest campaigns, and the one chosen (a sidebar of a thousand
    accounts would cost more to render than the page and help no one: the account's own
    page links to its lists). Same parameter as Django's filter, so links keep working."""

    title = _("account")
    parameter_name = "account__id__exact"
    LIMIT = 30

    def lookups(self, request, model_admin):
        recent = list(
            Account.objects.annotate(latest=Max("batches__created_at"))
            .filter(latest__isnull=False)
            .order_by("-latest")
            .values_list("pk", "account_name")[: self.LIMIT]
        )
        value = self.value()
        if value and value.isdigit() and all(str(pk) != value for pk, _n in recent):
            recent += list(Account.objects.filter(pk=value).values_list("pk", "account_name"))
        return [(str(pk), name) for pk, name in recent]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(account_id=int(value))
        return queryset


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = [
        "account_id",
        "account_name",
        "plan_type",
        "status",
        "credits",
        "minutes",
        "max_concurrent_calls",
        "compliance_profile",
    ]
    list_display_links = ["account_id", "account_name"]
    list_filter = ["status", "plan_type", "compliance_profile"]
    search_fields = ["account_id", "account_name", "contact_name", "contact_email"]
    ordering = ["account_name"]
    readonly_fields = [
        "status",
        "credits",
        "minutes",
        "total_spent",
        "ledger_link",
        "created_at",
        "updated_at",
    ]
    actions = ["suspend", "reactivate", "topup"]
    inlines = [LedgerEntryInline, DoNotCallInline]
    add_form = AccountAddForm

    plan_fieldset = (
        _("Plan, limits and pricing"),
        {
            "fields": [
                "plan_type",
                "max_concurrent_calls",
                "timezone",
                "compliance_profile",
                "cost_per_call_setup",
                "cost_per_minute",
                "retell_agent_id",
            ]
        },
    )
    contact_fieldset = (
        _("Contact"),
        {"fields": ["contact_name", "contact_email", "contact_phone"]},
    )
    retention_fieldset = (_("Records"), {"fields": ["record_retention_months"]})
    fieldsets = [
        (None, {"fields": ["account_id", "account_name", "status"]}),
        contact_fieldset,
        plan_fieldset,
        retention_fieldset,
        (
            _("Balance"),
            {
                "fields": ["credits", "minutes", "total_spent", "ledger_link"],
                "description": _(
                    "The balance changes only through the ledger: use the “Top up” action "
                    "of the account list."
                ),
            },
        ),
        (_("Dates"), {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    initial_balance_fields = ["initial_credits", "initial_minutes"]
    add_fieldsets = [
        (None, {"fields": ["account_id", "account_name"]}),
        contact_fieldset,
        plan_fieldset,
        retention_fieldset,
        (_("Initial balance"), {"fields": initial_balance_fields}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        if request.user.has_perm(TOPUP):
            return self.add_fieldsets
        return self.add_fieldsets[:-1]  # an initial balance is a top-up

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm(CHANGE_COMPLIANCE_PROFILE):
            readonly.append("compliance_profile")
        return readonly if obj is None else [*readonly, "account_id"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        form = super().get_form(request, obj, **kwargs)
        if obj is None and not request.user.has_perm(TOPUP):
            # Declared fields stay in a form whatever its fieldsets: drop them, not hide them.
            for name in self.initial_balance_fields:
                form.base_fields.pop(name, None)
        return form

    def has_topup_permission(self, request):
        return request.user.has_perm(TOPUP)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else [DoNotCallInline]

    @admin.display(description=_("ledger"))
    def ledger_link(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:accounts_ledgerentry_changelist")
        return format_html(
            '<a href="{}?account__id__exact={}">{}</a>', url, obj.pk, _("Full ledger")
        )

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: getattr(obj, name) for name in form.changed_data}
            services.account_update(account=obj, **fields)
            return
        data = {
            name: value
            for name, value in form.cleaned_data.items()
            if name not in {"account_id", "initial_credits", "initial_minutes"}
        }
        created = services.account_create(
            account_id=form.cleaned_data.get("account_id") or None,
            initial_credits=form.cleaned_data.get("initial_credits"),
            initial_minutes=form.cleaned_data.get("initial_minutes"),
            user=request.user,
            **data,
        )
        # The admin goes on with ``obj`` (inlines, log, redirect): make it the saved row.
        obj.pk = created.pk
        obj.refresh_from_db()
        obj._state.adding = False
        obj._state.db = created._state.db

    @admin.action(description=_("Suspend the selected accounts"), permissions=["change"])
    def suspend(self, request, queryset):
        self._set_status(request, queryset, Account.Status.SUSPENDED)

    @admin.action(description=_("Reactivate the selected accounts"), permissions=["change"])
    def reactivate(self, request, queryset):
        self._set_status(request, queryset, Account.Status.ACTIVE)

    def _set_status(self, request, queryset, status):
        changed = 0
        for account in queryset.exclude(status=status):
            services.account_set_status(account=account, status=status)
            changed += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d account is now %(status)s.",
                "%(count)d accounts are now %(status)s.",
                changed,
            )
            % {"count": changed, "status": Account.Status(status).label},
            messages.SUCCESS,
        )

    @admin.action(description=_("Top up the selected accounts"), permissions=["topup"])
    def topup(self, request, queryset):
        """An intermediate page asks for the amounts; each account gets its ledger entries."""
        if "apply" in request.POST:
            form = AccountTopupForm(request.POST)
            if form.is_valid():
                count = 0
                for account in queryset:
                    services.account_topup(account=account, user=request.user, **form.cleaned_data)
                    count += 1
                self.message_user(
                    request,
                    ngettext("%(count)d account topped up.", "%(count)d accounts topped up.", count)
                    % {"count": count},
                    messages.SUCCESS,
                )
                return None
        else:
            form = AccountTopupForm()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Top up accounts"),
            "intro": _("The amounts below are added to each of these accounts:"),
            "home_label": _("Home"),
            "credits_label": _("credits"),
            "minutes_label": _("minutes"),
            "submit_label": _("Top up"),
            "cancel_label": _("No, take me back"),
            "opts": self.model._meta,
            "accounts": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, topup_template(), context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    """Read-only: the ledger is written only by the services."""

    list_display = [
        "created_at",
        "account",
        "kind",
        "unit",
        "amount",
        "balance_after",
        "reason",
        "reference",
        "created_by",
    ]
    # No date hierarchy: its year and month links are a DISTINCT over every entry; the
    # "created at" filter (today, past 7 days, this month, this year) is an index range.
    list_filter = ["kind", "unit", "created_at"]
    # Searched through indexes only (get_search_results).
    search_fields = ["reference"]
    search_help_text = _("Account id or name, or a reference (its beginning).")
    list_select_related = ["account", "created_by"]
    list_per_page = 100
    # Only what an index can sort (a sort on another column reads the whole ledger).
    sortable_by = ["created_at"]

    def get_search_results(self, request, queryset, search_term):
        """The entries of the accounts whose id is the term or whose name contains it (the
        small accounts table, then the ledger's account index), or whose reference starts
        with the term (its pattern index)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        accounts = list(
            Account.objects.filter(Q(account_id=term) | Q(account_name__icontains=term))
            .order_by()
            .values_list("id", flat=True)
        )
        found = Q(reference__startswith=term)
        if accounts:
            found |= Q(account_id__in=accounts)
        return queryset.filter(found), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DoNotCall)
class DoNotCallAdmin(admin.ModelAdmin):
    list_display = ["phone", "rut", "account", "reason", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["phone", "rut", "account__account_id", "account__account_name"]
    list_select_related = ["account"]
    autocomplete_fields = ["account"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin plus the client account (staff users are operators: no account)."""

    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("Client account"), {"fields": ["account"]}),
    ]
    add_fieldsets = [
        *DjangoUserAdmin.add_fieldsets,
        (_("Client account"), {"classes": ["wide"], "fields": ["account"]}),
    ]
    list_display = [*DjangoUserAdmin.list_display, "account"]
    list_select_related = ["account"]
    search_fields = [*DjangoUserAdmin.search_fields, "account__account_id", "account__account_name"]
    autocomplete_fields = ["account"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Keys are issued by ``manage.py drf_create_token`` (shown once); here they are seen and
    revoked (deleted). Only their digest is stored."""

    list_display = ["user", "created_at", "expires_at", "last_used_at"]
    list_filter = ["expires_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    fields = ["user", "created_at", "expires_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LockoutAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login, through accounts.lockout: locked out, even the right password is
    refused, with the time to wait."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked_out": _("Too many failed logins. Try again in %(seconds)s seconds."),
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = login_authenticate(
                    request=self.request, username=username, password=password
                )
            except LoginLocked as exc:
                raise ValidationError(
                    self.error_messages["locked_out"],
                    code="locked_out",
                    params={"seconds": exc.retry_after},
                )
            if self.user_cache is None:
                raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


admin.site.login_form = LockoutAdminAuthenticationForm
