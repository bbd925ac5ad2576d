"""Names the rule language can use: the contract between rules and features.

The monthly cycle builds, for every subscriber (and every enterprise group), a
*history* table with one row per subscriber and, for each monthly measure
below, the columns ``<measure>_m0`` (the month being run), ``<measure>_m1``
(the month before) ... ``<measure>_m5``. Missing months are null. Rule
functions such as ``avg(arpu, 3)`` or ``declined_months(arpu, 3, 0.2)`` read
these columns; a bare measure name (``arpu``) means its current month value.

Scalar attributes are single columns of the same table (one value per
subscriber for the month). The feature pipeline must provide every name here;
it may provide more (all of ``features`` is visible to rules).
"""

from __future__ import annotations

from tenure.domain.model import GROUP_CLASSES, PAYMENT_TYPES, SUBSCRIBER_STATUSES, VIP_CARDS

HISTORY_MONTHS = 6
"""How many months of history (m0..m5) the cycle keeps per measure."""

MONTHLY_MEASURES: dict[str, str] = {
    "arpu": "Revenue billed in the month, yuan.",
    "mou": "Minutes of use, all calls.",
    "mou_onnet": "Minutes to our own network.",
    "mou_offnet": "Minutes to other operators.",
    "data_mb": "Mobile data, MB.",
    "sms": "SMS sent.",
    "roaming_mou": "Roaming minutes.",
    "recharge_count": "Top-ups in the month.",
    "recharge_amount": "Top-up amount, yuan.",
    "arrears": "Amount overdue at month end, yuan.",
    "other_op_cs_calls": "Calls to other operators' customer service.",
    "other_op_ip_spend": "Spend on other operators' IP long-distance, yuan.",
    "complaints": "Complaints filed in the month.",
    "faults": "Fault orders opened in the month.",
    "plan_changes": "Plan-change orders in the month.",
    "downgrades": "Plan changes to a cheaper plan in the month.",
    "cancellations": "Cancellation orders in the month.",
    "port_out_inquiries": "Port-out inquiries in the month.",
    "contacts": "Contacts on any channel in the month.",
}

GROUP_MEASURES: dict[str, str] = {
    "members": "Active member subscriptions of the group at month end.",
    "key_persons": "Active key persons.",
    "group_arpu": "Revenue of all members in the month, yuan.",
    "members_left": "Members that left the network or the group in the month.",
    "cancellations": "Cancellation orders by members in the month.",
    "complaints": "Complaints by members in the month.",
    "arrears": "Arrears of all members at month end, yuan.",
    "other_op_cs_calls": "Members' calls to other operators' customer service.",
    "headcount": "Employees declared by the group.",
}

# name -> (type, meaning). Types: number, string, bool, date.
SUBSCRIBER_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "tenure_months": ("number", "Months since activation."),
    "months_of_history": ("number", "Months of usage history available (1..6)."),
    "payment_type": ("string", "prepaid or postpaid."),
    "brand": ("string", "Brand of the subscription."),
    "region": ("string", "Operator branch."),
    "vip_card": ("string", "none, silver, gold or diamond."),
    "is_key_person": ("bool", "Key person of an enterprise group."),
    "group_class": ("string", "Class A-D of the subscriber's group, null if none."),
    "is_premium": ("bool", "On a premium-brand plan."),
    "is_bundle": ("bool", "Holds a bundle (broadband or TV with mobile)."),
    "contract_end_date": ("date", "End of the subscriber's contract, null if none."),
    "agreement_end_date": ("date", "Earliest end of an agreement in force for the subscriber or its group."),
    "activation_date": ("date", "Activation date."),
    "status": ("string", "active, suspended or churned at month end."),
    "core_reason": ("string", "The first core-customer criterion that holds (config/core_customers.yaml), null if none."),
    "is_core": ("bool", "A core customer (核心客户) by the configured definition."),
}

ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "payment_type": PAYMENT_TYPES,
    "vip_card": VIP_CARDS,
    "group_class": GROUP_CLASSES,
    "status": SUBSCRIBER_STATUSES,
}
"""The only values of coded attributes: a rule comparing one with anything else could never match."""

GROUP_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "group_class": ("string", "Class A-D."),
    "industry": ("string", "Industry."),
    "region": ("string", "Operator branch."),
    "agreement_end_date": ("date", "Earliest end of a group agreement in force."),
}

# name -> (type, meaning). Not columns of the monthly history table (monthly warning rules do not
# see them): the open manual warnings of the subscriber's customer, joined to the profiles where
# warnings are acted on (campaign target filters in `tenure plan-month`, trigger conditions).
MANUAL_WARNING_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "manual_warning": ("bool", "The customer has an open manual warning (raised by a person, not withdrawn)."),
    "manual_warning_severity": ("number", "Most urgent open manual warning: 1 urgent, 2 high, 3 normal; null if none."),
}
