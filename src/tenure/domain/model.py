"""The canonical data model: the tables an operator loads into Tenure.

This module is the single source of truth for table names, columns, types,
units, keys and value rules. The loader validates against it, the synthetic
operator writes it, the public-data adapters map into it and
``docs/data-model.md`` describes it.

Every table is delivered per month (``YYYY-MM``): dimension tables
(customers, subscribers, plans, groups, members, agreements, circuits) as the
operator's snapshot at the end of the month, fact tables with the events of
that month. Keeping monthly snapshots of dimensions is what makes features
point-in-time correct: a run for a month never sees a later status.

Money is yuan with two decimal places, durations are minutes, data volume
is megabytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class ColumnType(str, Enum):
    """Logical column types; each engine maps them to its own."""

    STRING = "string"
    INT = "int"
    MONEY = "money"  # yuan, two decimal places, stored as float64 rounded to 0.01
    FLOAT = "float"
    DATE = "date"  # YYYY-MM-DD
    TIMESTAMP = "timestamp"  # YYYY-MM-DD HH:MM[:SS]
    MONTH = "month"  # YYYY-MM
    BOOL = "bool"  # true/false, 1/0, Y/N


@dataclass(frozen=True)
class Column:
    """One column of a canonical table."""

    name: str
    type: ColumnType
    description: str
    required: bool = True
    unit: str = ""
    allowed: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    references: str | None = None  # "table.column" that must exist in the same load
    pattern: str | None = None  # regular expression a string must match
    sensitive: bool = False  # masked for roles without the right to see it

    def __post_init__(self) -> None:
        if self.pattern is not None:
            re.compile(self.pattern)


@dataclass(frozen=True)
class TableSpec:
    """A canonical table: its columns, key and the column that must fall in the month."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    kind: str  # "dimension" (monthly snapshot) or "fact" (events of the month)
    month_column: str | None = None  # date/timestamp/month column that must lie in the load month
    required_file: bool = True  # a month without this file is refused
    allow_empty: bool = True  # a header-only file is a month with no rows (no complaints, no groups)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


REGIONS_NOTE = "Region is the operator's branch (地市分公司); city is the county or district under it."
MSISDN_PATTERN = r"^1[3-9]\d{9}$"
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"

CHANNELS: tuple[str, ...] = ("store", "hotline", "ivr", "website", "sms", "wap", "self_service")
"""The seven contact channels of the operator (营业厅, 热线, IVR, 网站, 短信, WAP, 自助终端)."""

VIP_CARDS: tuple[str, ...] = ("none", "silver", "gold", "diamond")
PAYMENT_TYPES: tuple[str, ...] = ("prepaid", "postpaid")
CHURN_TYPES: tuple[str, ...] = ("voluntary", "port_out", "non_payment")
SUBSCRIBER_STATUSES: tuple[str, ...] = ("active", "suspended", "churned")
GROUP_CLASSES: tuple[str, ...] = ("A", "B", "C", "D")
ORDER_KINDS: tuple[str, ...] = (
    "plan_change",
    "cancellation",
    "fault",
    "port_out_inquiry",
    "new_service",
    "suspension",
)
COMPLAINT_CATEGORIES: tuple[str, ...] = ("network", "billing", "service", "product", "other")
CIRCUIT_SERVICES: tuple[str, ...] = ("digital", "ddn", "fr_atm")

C = Column
T = ColumnType

CUSTOMERS = TableSpec(
    name="customers",
    allow_empty=False,
    description="A person or an enterprise that holds one or more subscriptions.",
    kind="dimension",
    key=("customer_id",),
    columns=(
        C("customer_id", T.STRING, "Operator's customer identifier."),
        C("customer_type", T.STRING, "Individual or enterprise.", allowed=("individual", "enterprise")),
        C("name", T.STRING, "Customer name (person or organisation).", sensitive=True),
        C("id_number", T.STRING, "National ID or business registration number.", required=False, sensitive=True),
        C("region", T.STRING, "Operator branch (prefecture-level city)."),
        C("city", T.STRING, "County or district inside the region."),
        C("vip_card", T.STRING, "VIP card held (钻卡/金卡/银卡).", allowed=VIP_CARDS),
        C("credit_limit", T.MONEY, "Credit limit granted for post-paid use.", required=False, unit="yuan", minimum=0),
        C("deposit", T.MONEY, "Deposit held by the operator.", required=False, unit="yuan", minimum=0),
        C("join_date", T.DATE, "Date the customer first joined the operator."),
        C("birth_year", T.INT, "Year of birth for individuals.", required=False, minimum=1900, maximum=2030),
        C("gender", T.STRING, "F or M for individuals.", required=False, allowed=("F", "M")),
    ),
    notes=(REGIONS_NOTE,),
)

PLANS = TableSpec(
    name="plans",
    allow_empty=False,
    description="Tariff plans on sale or still held by subscribers.",
    kind="dimension",
    key=("plan_id",),
    columns=(
        C("plan_id", T.STRING, "Plan identifier."),
        C("name", T.STRING, "Plan name as sold."),
        C("brand", T.STRING, "Brand the plan belongs to (e.g. premium, youth, local)."),
        C("payment_type", T.STRING, "Prepaid or postpaid.", allowed=PAYMENT_TYPES),
        C("monthly_fee", T.MONEY, "Monthly fee.", unit="yuan", minimum=0),
        C("voice_minutes", T.INT, "Voice minutes included per month.", unit="minutes", minimum=0),
        C("data_mb", T.INT, "Data included per month.", unit="MB", minimum=0),
        C("is_bundle", T.BOOL, "Plan bundles broadband or TV with mobile (融合套餐)."),
        C("premium", T.BOOL, "Plan belongs to the premium brand (counts towards core customers)."),
    ),
)

SUBSCRIBERS = TableSpec(
    name="subscribers",
    allow_empty=False,
    description="One mobile (or fixed) subscription: a number on the network.",
    kind="dimension",
    key=("subscriber_id",),
    columns=(
        C("subscriber_id", T.STRING, "Subscription identifier."),
        C("msisdn", T.STRING, "Phone number (11 digits).", pattern=MSISDN_PATTERN, sensitive=True),
        C("customer_id", T.STRING, "Owning customer.", references="customers.customer_id"),
        C("plan_id", T.STRING, "Current plan.", references="plans.plan_id"),
        C("payment_type", T.STRING, "Prepaid or postpaid.", allowed=PAYMENT_TYPES),
        C("brand", T.STRING, "Brand of the subscription."),
        C("region", T.STRING, "Operator branch the number belongs to."),
        C("city", T.STRING, "County or district."),
        C("activation_date", T.DATE, "Date the number was activated."),
        C("status", T.STRING, "Status at the end of the month.", allowed=SUBSCRIBER_STATUSES),
        C("churn_date", T.DATE, "Date the subscription left the network.", required=False),
        C("churn_type", T.STRING, "Why it left.", required=False, allowed=CHURN_TYPES),
        C("contract_end_date", T.DATE, "End of the current contract, if any.", required=False),
    ),
    notes=("churn_date and churn_type are set exactly when status is churned.",),
)

ENTERPRISE_GROUPS = TableSpec(
    name="enterprise_groups",
    description="Enterprise (government and business) groups: the key-account layer.",
    kind="dimension",
    key=("group_id",),
    columns=(
        C("group_id", T.STRING, "Group identifier."),
        C("customer_id", T.STRING, "The enterprise customer that is the group.", references="customers.customer_id"),
        C("name", T.STRING, "Group name."),
        C("group_class", T.STRING, "Operator's class A/B/C/D.", allowed=GROUP_CLASSES),
        C("industry", T.STRING, "Industry (government, finance, education, ...)."),
        C("region", T.STRING, "Operator branch serving the group."),
        C("headcount", T.INT, "Employees declared by the group.", minimum=0),
        C("account_manager", T.STRING, "User name of the key-account manager.", required=False),
    ),
)

GROUP_MEMBERS = TableSpec(
    name="group_members",
    description="Subscribers that belong to an enterprise group, and its key persons.",
    kind="dimension",
    key=("group_id", "subscriber_id"),
    columns=(
        C("group_id", T.STRING, "Group.", references="enterprise_groups.group_id"),
        C("subscriber_id", T.STRING, "Member subscription.", references="subscribers.subscriber_id"),
        C("role", T.STRING, "Member or key person (关键人).", allowed=("member", "key_person")),
        C("title", T.STRING, "Job title of a key person.", required=False),
        C("joined_date", T.DATE, "Date the subscriber joined the group."),
    ),
)

AGREEMENTS = TableSpec(
    name="agreements",
    description="Contracts and group agreements with their end dates and values.",
    kind="dimension",
    key=("agreement_id",),
    columns=(
        C("agreement_id", T.STRING, "Agreement identifier."),
        C("customer_id", T.STRING, "Customer that signed.", references="customers.customer_id"),
        C("group_id", T.STRING, "Group, for group agreements.", required=False),
        C("subscriber_id", T.STRING, "Subscription, for handset or plan contracts.", required=False),
        C("kind", T.STRING, "Kind of agreement.", allowed=("handset_contract", "plan_contract", "group_agreement")),
        C("start_date", T.DATE, "First day in force."),
        C("end_date", T.DATE, "Last day in force."),
        C("value", T.MONEY, "Total committed value.", unit="yuan", minimum=0),
    ),
    notes=("end_date is on or after start_date.",),
)

MONTHLY_USAGE = TableSpec(
    name="monthly_usage",
    description="One row per subscriber and month from the business analysis system (经分).",
    kind="fact",
    key=("month", "subscriber_id"),
    month_column="month",
    columns=(
        C("month", T.MONTH, "Billing month YYYY-MM.", pattern=MONTH_PATTERN),
        C("subscriber_id", T.STRING, "Subscription.", references="subscribers.subscriber_id"),
        C("revenue", T.MONEY, "Revenue billed in the month (ARPU contribution).", unit="yuan", minimum=0, maximum=100000),
        C("mou", T.FLOAT, "Minutes of use, all calls.", unit="minutes", minimum=0, maximum=50000),
        C("mou_onnet", T.FLOAT, "Minutes to our own network.", unit="minutes", minimum=0, maximum=50000),
        C("mou_offnet", T.FLOAT, "Minutes to other operators (异网).", unit="minutes", minimum=0, maximum=50000),
        C("data_mb", T.FLOAT, "Mobile data volume.", unit="MB", minimum=0, maximum=10_000_000),
        C("sms", T.INT, "SMS sent.", minimum=0, maximum=100000),
        C("roaming_mou", T.FLOAT, "Roaming minutes.", unit="minutes", minimum=0, maximum=50000),
        C("recharge_count", T.INT, "Top-ups in the month (prepaid).", minimum=0, maximum=1000),
        C("recharge_amount", T.MONEY, "Top-up amount.", unit="yuan", minimum=0, maximum=100000),
        C("arrears", T.MONEY, "Amount overdue at month end.", unit="yuan", minimum=0, maximum=100000),
        C("bundle_broadband", T.BOOL, "Holds fixed broadband in a bundle."),
        C("bundle_tv", T.BOOL, "Holds IPTV in a bundle."),
        C("other_op_cs_calls", T.INT, "Calls to other operators' customer service (10086/10010/10000).", minimum=0, maximum=1000),
        C("other_op_ip_spend", T.MONEY, "Spend on other operators' IP long-distance (17951, 17911, ...).", unit="yuan", minimum=0, maximum=100000),
    ),
    notes=("mou_onnet + mou_offnet is at most mou (the rest is special numbers).",),
)

DAILY_USAGE = TableSpec(
    name="daily_usage",
    description="One row per subscriber and day of the current month, for daily early warning.",
    kind="fact",
    key=("date", "subscriber_id"),
    month_column="date",
    required_file=False,
    columns=(
        C("date", T.DATE, "Day."),
        C("subscriber_id", T.STRING, "Subscription.", references="subscribers.subscriber_id"),
        C("revenue", T.MONEY, "Revenue of the day.", unit="yuan", minimum=0, maximum=10000),
        C("mou", T.FLOAT, "Minutes of use.", unit="minutes", minimum=0, maximum=1440),
        C("mou_offnet", T.FLOAT, "Minutes to other operators.", unit="minutes", minimum=0, maximum=1440),
        C("data_mb", T.FLOAT, "Data volume.", unit="MB", minimum=0, maximum=1_000_000),
        C("sms", T.INT, "SMS sent.", minimum=0, maximum=10000),
        C("recharge_amount", T.MONEY, "Top-up amount.", unit="yuan", minimum=0, maximum=10000),
        C("other_op_cs_calls", T.INT, "Calls to other operators' customer service.", minimum=0, maximum=100),
    ),
)

COMPLAINTS = TableSpec(
    name="complaints",
    description="Complaints received (投诉).",
    kind="fact",
    key=("complaint_id",),
    month_column="created_at",
    columns=(
        C("complaint_id", T.STRING, "Complaint identifier."),
        C("subscriber_id", T.STRING, "Subscription.", references="subscribers.subscriber_id"),
        C("created_at", T.TIMESTAMP, "When the complaint was filed."),
        C("category", T.STRING, "What it is about.", allowed=COMPLAINT_CATEGORIES),
        C("severity", T.INT, "1 (minor) to 3 (escalated).", minimum=1, maximum=3),
        C("resolved_at", T.TIMESTAMP, "When it was closed.", required=False),
    ),
)

SERVICE_ORDERS = TableSpec(
    name="service_orders",
    description="Service orders: plan changes, cancellations, faults, port-out inquiries.",
    kind="fact",
    key=("order_id",),
    month_column="created_at",
    columns=(
        C("order_id", T.STRING, "Order identifier."),
        C("subscriber_id", T.STRING, "Subscription.", references="subscribers.subscriber_id"),
        C("created_at", T.TIMESTAMP, "When the order was opened."),
        C("kind", T.STRING, "Order kind.", allowed=ORDER_KINDS),
        C("from_plan", T.STRING, "Plan before a plan change.", required=False),
        C("to_plan", T.STRING, "Plan after a plan change.", required=False),
        C("closed_at", T.TIMESTAMP, "When it was closed (fault fixed, change done).", required=False),
    ),
)

CHANNEL_CONTACTS = TableSpec(
    name="channel_contacts",
    description="Contacts between subscriber and operator on the seven channels.",
    kind="fact",
    key=("contact_id",),
    month_column="contacted_at",
    columns=(
        C("contact_id", T.STRING, "Contact identifier."),
        C("subscriber_id", T.STRING, "Subscription.", references="subscribers.subscriber_id"),
        C("contacted_at", T.TIMESTAMP, "When."),
        C("channel", T.STRING, "Channel.", allowed=CHANNELS),
        C("direction", T.STRING, "Who started it.", allowed=("inbound", "outbound")),
        C("purpose", T.STRING, "Inquiry, billing, order, fault, care, marketing.",
          allowed=("inquiry", "billing", "order", "fault", "care", "marketing")),
    ),
)

SATISFACTION_SURVEYS = TableSpec(
    name="satisfaction_surveys",
    description="Satisfaction survey answers for a sample of subscribers (满意度).",
    kind="fact",
    key=("survey_id",),
    month_column="surveyed_on",
    required_file=False,
    columns=(
        C("survey_id", T.STRING, "Survey answer identifier."),
        C("subscriber_id", T.STRING, "Subscription.", references="subscribers.subscriber_id"),
        C("surveyed_on", T.DATE, "Date of the survey."),
        C("score", T.INT, "Overall satisfaction 1 (very poor) to 10 (excellent).", minimum=1, maximum=10),
        C("topic", T.STRING, "What the survey asked about.", allowed=("overall", "network", "service", "billing")),
    ),
)

CIRCUITS = TableSpec(
    name="circuits",
    description="Leased circuits of enterprise customers.",
    kind="dimension",
    key=("circuit_id",),
    required_file=False,
    columns=(
        C("circuit_id", T.STRING, "Circuit identifier."),
        C("customer_id", T.STRING, "Enterprise customer.", references="customers.customer_id"),
        C("group_id", T.STRING, "Group, when the customer is a group.", required=False),
        C("service", T.STRING, "Digital circuit, DDN or frame relay / ATM.", allowed=CIRCUIT_SERVICES),
        C("bandwidth_kbps", T.INT, "Bandwidth.", unit="kbit/s", minimum=1),
        C("status", T.STRING, "Status.", allowed=("ordered", "active", "ceased")),
        C("activation_date", T.DATE, "Date in service.", required=False),
        C("monthly_fee", T.MONEY, "Monthly rental.", unit="yuan", minimum=0),
        C("one_off_fee", T.MONEY, "One-off installation fee.", unit="yuan", minimum=0),
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        CUSTOMERS,
        PLANS,
        SUBSCRIBERS,
        ENTERPRISE_GROUPS,
        GROUP_MEMBERS,
        AGREEMENTS,
        MONTHLY_USAGE,
        DAILY_USAGE,
        COMPLAINTS,
        SERVICE_ORDERS,
        CHANNEL_CONTACTS,
        SATISFACTION_SURVEYS,
        CIRCUITS,
    )
}
"""All canonical tables by name, in load order (a table comes after those it references)."""

MONTH_RE = re.compile(MONTH_PATTERN)


def parse_month(text: str) -> str:
    """Return ``text`` if it is a ``YYYY-MM`` month key, else raise ValueError.

    >>> parse_month("2026-03")
    '2026-03'
    """
    if not isinstance(text, str) or not MONTH_RE.match(text):
        raise ValueError(f"{text!r} is not a month in the form YYYY-MM")
    return text


def month_add(month: str, n: int) -> str:
    """Shift a ``YYYY-MM`` key by ``n`` months.

    >>> month_add("2026-01", -1)
    '2025-12'
    """
    y, m = int(month[:4]), int(month[5:7])
    idx = y * 12 + (m - 1) + n
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def month_range(first: str, last: str) -> list[str]:
    """All months from ``first`` to ``last`` inclusive.

    >>> month_range("2025-11", "2026-02")
    ['2025-11', '2025-12', '2026-01', '2026-02']
    """
    out = []
    m = parse_month(first)
    parse_month(last)
    while m <= last:
        out.append(m)
        m = month_add(m, 1)
    return out
