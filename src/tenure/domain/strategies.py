"""The strategy library: the kinds of care a retention campaign can offer.

Two families, as in the Fujian core-customer programme: eight kinds of
marketing care (营销关怀) that put an offer in front of the customer, and eight
kinds of service care (服务关怀) that improve how the customer is served.
Each kind carries a few seeded example offers so a new installation has a
library to start from; an operator adds its own offers beside them.

An offer's ``eligibility`` is an expression in the rule language (the same
language analysts write warning rules in); a campaign's target filter is
usually the offer's eligibility narrowed further.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from tenure.domain.errors import InputError, NotFound


class Family(str, Enum):
    """Marketing care puts an offer in front of the customer; service care improves service."""

    MARKETING = "marketing"
    SERVICE = "service"


@dataclass(frozen=True)
class Offer:
    """One concrete offer of a strategy kind.

    ``unit_cost`` is the operator's cost per accepted offer in yuan;
    ``validity_days`` is how long the offer stands once made.
    """

    offer_id: str
    name: str
    name_zh: str
    description: str
    unit_cost: float
    eligibility: str
    validity_days: int

    def __post_init__(self) -> None:
        if self.unit_cost < 0:
            raise ValueError(f"offer {self.offer_id}: unit_cost must not be negative")
        if self.validity_days <= 0:
            raise ValueError(f"offer {self.offer_id}: validity_days must be positive")


@dataclass(frozen=True)
class Strategy:
    """A kind of care (for example bill credit promotion, 话费促销) and its offers."""

    strategy_id: str
    family: Family
    name: str
    name_zh: str
    description: str
    offers: tuple[Offer, ...] = field(default_factory=tuple)

    def offer(self, offer_id: str) -> Offer:
        """The offer ``offer_id`` of this strategy; :class:`NotFound` otherwise."""
        for o in self.offers:
            if o.offer_id == offer_id:
                return o
        raise NotFound(f"strategy {self.strategy_id} has no offer {offer_id!r}")


def _s(sid: str, family: Family, name: str, zh: str, desc: str, *offers: Offer) -> Strategy:
    return Strategy(sid, family, name, zh, desc, tuple(offers))


M, S = Family.MARKETING, Family.SERVICE

STRATEGIES: tuple[Strategy, ...] = (
    # Marketing care (营销关怀)
    _s(
        "bill_credit_promotion", M, "Bill credit promotion", "话费促销",
        "Credit on the bill in return for staying or committing spend.",
        Offer("bill_credit_50", "50 yuan bill credit", "赠送50元话费",
              "50 yuan credited over the next three bills for a 12-month stay commitment.",
              50.0, "avg(arpu, 3) >= 80", 30),
        Offer("bill_credit_20", "20 yuan bill credit", "赠送20元话费",
              "20 yuan credited on the next bill.", 20.0, "arpu >= 30", 14),
    ),
    _s(
        "handset_promotion", M, "Handset promotion", "终端促销",
        "A subsidised handset against a contract renewal.",
        Offer("handset_renewal", "Handset on contract renewal", "续约购机",
              "Subsidised handset for a 24-month renewal.", 600.0,
              "contract_end_date is not null and avg(arpu, 3) >= 100", 60),
    ),
    _s(
        "product_promotion", M, "Product promotion", "产品促销",
        "A product that deepens the relationship: bundle, data pack, family plan.",
        Offer("broadband_bundle", "Broadband bundle", "宽带融合",
              "Home broadband at half price when bundled with the mobile plan.", 120.0,
              "not is_bundle", 30),
        Offer("data_pack_5g", "5 GB data pack", "5G流量包",
              "5 GB of data for three months.", 15.0, "data_mb >= 1024", 30),
    ),
    _s(
        "brand_migration_reward", M, "Brand-migration reward", "品牌迁移奖励",
        "A reward for moving to the premium brand instead of leaving.",
        Offer("premium_migration", "Premium brand migration", "升级全球通",
              "First month free on moving to the premium brand.", 80.0,
              "not is_premium and avg(arpu, 3) >= 60", 30),
    ),
    _s(
        "usage_retention", M, "Usage retention", "使用挽留",
        "Extra usage for customers whose usage is falling.",
        Offer("minutes_bonus", "200 bonus minutes", "赠送200分钟",
              "200 on-net minutes a month for three months.", 10.0,
              "declined_months(mou, 3, 0.2) >= 3", 30),
    ),
    _s(
        "spend_reward", M, "Spend reward", "消费奖励",
        "Reward for keeping spend at or above a level.",
        Offer("spend_back_10pct", "10% spend back", "消费返10%",
              "10% of spend above 100 yuan returned as credit for six months.", 60.0,
              "avg(arpu, 3) >= 100", 30),
    ),
    _s(
        "billing_retention", M, "Billing retention", "资费挽留",
        "A better tariff for a customer about to leave on price.",
        Offer("tariff_discount", "Tariff discount 20%", "套餐八折",
              "20% off the monthly fee for twelve months against a commitment.", 150.0,
              "other_op_ip_spend > 50 or port_out_inquiries > 0", 30),
    ),
    _s(
        "tenure_reward", M, "Tenure reward", "网龄奖励",
        "A reward for years on the network.",
        Offer("tenure_gift", "Tenure anniversary gift", "网龄回馈礼",
              "A gift for customers with five years or more.", 30.0, "tenure_months >= 60", 60),
    ),
    # Service care (服务关怀)
    _s(
        "usage_care", S, "Usage care", "使用关怀",
        "Tell the customer about their usage: quota nearly used, roaming.",
        Offer("quota_reminder", "Quota reminder", "流量提醒",
              "A reminder when 80% of the data quota is used.", 0.1, "data_mb > 0", 7),
    ),
    _s(
        "tariff_advice", S, "Tariff advice", "资费建议",
        "Advise the plan that fits the customer's usage best.",
        Offer("plan_fit_review", "Plan fit review", "套餐适配建议",
              "A call to review the plan against three months of usage.", 2.0,
              "months_of_history >= 3", 30),
    ),
    _s(
        "bill_information", S, "Bill information", "账单信息",
        "Clear bill information and explanation of charges.",
        Offer("bill_explainer", "Bill explainer", "账单解读",
              "A detailed bill with each charge explained.", 0.5, "arpu > 0", 30),
    ),
    _s(
        "loyalty_points", S, "Loyalty points", "积分回馈",
        "Points reminders and double points.",
        Offer("double_points", "Double points month", "双倍积分",
              "Points earned twice over for one month.", 8.0, "tenure_months >= 12", 30),
    ),
    _s(
        "complaint_care", S, "Complaint care", "投诉关怀",
        "Call back after a complaint to put things right.",
        Offer("complaint_callback", "Complaint call-back", "投诉回访",
              "A call within 48 hours of a complaint, with a goodwill credit if deserved.", 5.0,
              "complaints > 0", 7),
    ),
    _s(
        "differentiated_service", S, "Differentiated service", "差异化服务",
        "Higher service for higher value: priority queues, dedicated manager.",
        Offer("vip_priority_line", "VIP priority line", "VIP优先通道",
              "Priority hotline and store queue for card holders.", 3.0,
              "vip_card in ('gold', 'diamond')", 90),
    ),
    _s(
        "touch_point_care", S, "Touch-point care", "触点关怀",
        "Make each contact point better: store, hotline, self-service.",
        Offer("store_fast_lane", "Store fast lane", "营业厅绿色通道",
              "Fast lane at the store for the next visit.", 1.0, "contacts > 0", 30),
    ),
    _s(
        "personal_care", S, "Personal care", "个性化关怀",
        "Birthday and holiday greetings, personal attention.",
        Offer("birthday_greeting", "Birthday greeting", "生日关怀",
              "A greeting and a small gift in the birthday month.", 5.0, "tenure_months >= 6", 30),
    ),
)


def strategies(family: Family | str | None = None) -> tuple[Strategy, ...]:
    """The strategy library, optionally of one family.

    >>> len(strategies("marketing")), len(strategies("service"))
    (8, 8)
    """
    if family is None:
        return STRATEGIES
    fam = Family(family)
    return tuple(s for s in STRATEGIES if s.family is fam)


def strategy(strategy_id: str) -> Strategy:
    """The strategy ``strategy_id``; :class:`NotFound` if the library has none."""
    for s in STRATEGIES:
        if s.strategy_id == strategy_id:
            return s
    raise NotFound(f"no strategy {strategy_id!r}")


def find_offer(strategy_id: str, offer_id: str) -> Offer:
    """The offer ``offer_id`` of strategy ``strategy_id``."""
    return strategy(strategy_id).offer(offer_id)


OfferKey = tuple[str, str]
"""(strategy id, offer id): how an offer is named in a campaign."""


@dataclass(frozen=True)
class OfferLibrary:
    """The offers a campaign may name: the shipped ones and the operator's own.

    ``retired`` offers stay known, so campaigns already using one still load
    and plan, but :meth:`check_new` refuses them for a new campaign. The
    store keeps the library; the domain only receives it.
    """

    offers: Mapping[OfferKey, Offer]
    retired: frozenset[OfferKey] = frozenset()

    @classmethod
    def of(cls, entries: Iterable[tuple[str, Offer, bool]]) -> OfferLibrary:
        """From ``(strategy_id, offer, active)`` triples."""
        offers: dict[OfferKey, Offer] = {}
        retired: set[OfferKey] = set()
        for strategy_id, offer, active in entries:
            key = (strategy_id, offer.offer_id)
            offers[key] = offer
            if not active:
                retired.add(key)
        return cls(offers, frozenset(retired))

    def find(self, strategy_id: str, offer_id: str) -> Offer:
        """The offer, retired or not; :class:`NotFound` naming the strategy or the offer."""
        strategy(strategy_id)  # the kinds are fixed; only offers are added
        try:
            return self.offers[(strategy_id, offer_id)]
        except KeyError:
            raise NotFound(f"strategy {strategy_id} has no offer {offer_id!r}") from None

    def is_retired(self, strategy_id: str, offer_id: str) -> bool:
        return (strategy_id, offer_id) in self.retired

    def check_new(self, strategy_id: str, offer_id: str) -> Offer:
        """The offer, if a new campaign may use it (known and not retired)."""
        offer = self.find(strategy_id, offer_id)
        if self.is_retired(strategy_id, offer_id):
            raise InputError(f"offer {strategy_id}/{offer_id} is retired; a new campaign cannot use it")
        return offer


def shipped_library() -> OfferLibrary:
    """The library as shipped: every offer of :data:`STRATEGIES`, none retired.

    >>> shipped_library().find("tenure_reward", "tenure_gift").unit_cost
    30.0
    """
    return OfferLibrary.of((s.strategy_id, o, True) for s in STRATEGIES for o in s.offers)
