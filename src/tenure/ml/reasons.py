"""Business reasons from model contributions: phrases in English and Chinese.

The churn model ranks customers; a retention team needs to know *why* a
customer is at risk and which kind of care answers it. Each feature the model
may use has a phrase with its value filled in (``"off-net minutes share up 12
points over 3 months"``) and the strategy family that answers it:

- ``service_care`` (服务关怀): network quality, faults, complaints, calls to
  other operators' customer service, falling usage;
- ``marketing_care`` (营销关怀): price, spend, competitor offers, contract or
  agreement ending, top-ups.

A reason is only given for a feature that pushes the score *up* (positive
contribution): a feature that lowers risk is no reason to call.
Features without their own phrase fall back to a phrase naming the feature
(``history`` columns ``<measure>_m<k>`` to the measure's family).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

SERVICE = "service_care"
MARKETING = "marketing_care"
FAMILIES = (SERVICE, MARKETING)


@dataclass(frozen=True)
class Phrase:
    """How one feature reads as a reason; ``fmt`` turns the value into text."""

    en: str
    zh: str
    family: str
    fmt: str = "num"  # pct | points | num | int | yuan | bool


def _pct(v: float) -> tuple[str, str]:
    return (f"up {v:.0%}" if v >= 0 else f"down {-v:.0%}", f"上升{v:.0%}" if v >= 0 else f"下降{-v:.0%}")


def _points(v: float) -> tuple[str, str]:
    p = v * 100
    return (f"up {p:.0f} points" if p >= 0 else f"down {-p:.0f} points",
            f"上升{p:.0f}个百分点" if p >= 0 else f"下降{-p:.0f}个百分点")


PHRASES: dict[str, Phrase] = {
    "mou_pct_change": Phrase("minutes of use {v} against the 3 months before", "通话时长较前三月{v}", SERVICE, "pct"),
    "data_mb_pct_change": Phrase("mobile data {v} against the 3 months before", "流量较前三月{v}", SERVICE, "pct"),
    "sms_pct_change": Phrase("SMS {v} against the 3 months before", "短信较前三月{v}", SERVICE, "pct"),
    "arpu_pct_change": Phrase("spend {v} against the 3 months before", "消费较前三月{v}", MARKETING, "pct"),
    "mou_trend3": Phrase("minutes of use changing by {v} min a month", "通话时长每月变化{v}分钟", SERVICE),
    "data_mb_trend3": Phrase("mobile data changing by {v} MB a month", "流量每月变化{v}MB", SERVICE),
    "arpu_trend3": Phrase("spend changing by {v} yuan a month", "消费每月变化{v}元", MARKETING),
    "mou_consecutive_declines": Phrase("minutes of use down >20% for {v} months in a row", "通话时长连续{v}个月下降超20%", SERVICE, "int"),
    "data_mb_consecutive_declines": Phrase("mobile data down >20% for {v} months in a row", "流量连续{v}个月下降超20%", SERVICE, "int"),
    "arpu_consecutive_declines": Phrase("spend down >20% for {v} months in a row", "消费连续{v}个月下降超20%", MARKETING, "int"),
    "offnet_share_change": Phrase("off-net minutes share {v} over 3 months", "网外通话占比三个月{v}", MARKETING, "points"),
    "offnet_share_3m": Phrase("{v} of minutes go to other operators (3 months)", "近三月{v}通话打往其他运营商", MARKETING, "share"),
    "offnet_share": Phrase("{v} of minutes go to other operators this month", "本月{v}通话打往其他运营商", MARKETING, "share"),
    "mou_offnet_avg3": Phrase("{v} off-net minutes a month", "月均网外通话{v}分钟", MARKETING),
    "other_op_cs_calls_3m": Phrase("{v} calls to other operators' customer service in 3 months", "近三月拨打他网客服{v}次", SERVICE, "int"),
    "other_op_cs_calls_6m": Phrase("{v} calls to other operators' customer service in 6 months", "近六月拨打他网客服{v}次", SERVICE, "int"),
    "other_op_cs_calls_rising": Phrase("calls to other operators' customer service rising", "拨打他网客服次数上升", SERVICE, "bool"),
    "other_op_ip_spend_avg3": Phrase("{v} yuan a month on other operators' IP calls", "月均他网IP消费{v}元", MARKETING, "yuan"),
    "other_op_ip_months_over": Phrase("other operators' IP spend above 50 yuan in {v} of 3 months", "近三月有{v}个月他网IP消费超50元", MARKETING, "int"),
    "complaints_3m": Phrase("{v} complaints in 3 months", "近三月投诉{v}次", SERVICE, "int"),
    "complaints_6m": Phrase("{v} complaints in 6 months", "近六月投诉{v}次", SERVICE, "int"),
    "complaints_rising": Phrase("complaints rising", "投诉增加", SERVICE, "bool"),
    "months_since_complaint": Phrase("last complaint {v} months ago", "最近一次投诉在{v}个月前", SERVICE, "int"),
    "faults_3m": Phrase("{v} network faults reported in 3 months", "近三月故障申告{v}次", SERVICE, "int"),
    "faults_6m": Phrase("{v} network faults reported in 6 months", "近六月故障申告{v}次", SERVICE, "int"),
    "faults_rising": Phrase("network faults rising", "故障申告增加", SERVICE, "bool"),
    "months_since_fault": Phrase("last network fault {v} months ago", "最近一次故障在{v}个月前", SERVICE, "int"),
    "cancellations_3m": Phrase("{v} services cancelled in 3 months", "近三月退订业务{v}项", MARKETING, "int"),
    "cancellations_6m": Phrase("{v} services cancelled in 6 months", "近六月退订业务{v}项", MARKETING, "int"),
    "port_out_inquiries_3m": Phrase("{v} number-porting inquiries in 3 months", "近三月携号转网咨询{v}次", MARKETING, "int"),
    "downgrades_6m": Phrase("{v} plan downgrades in 6 months", "近六月套餐降档{v}次", MARKETING, "int"),
    "months_since_downgrade": Phrase("plan downgraded {v} months ago", "{v}个月前套餐降档", MARKETING, "int"),
    "plan_changes_6m": Phrase("{v} plan changes in 6 months", "近六月套餐变更{v}次", MARKETING, "int"),
    "contract_months_left": Phrase("contract ends in {v} months", "合约{v}个月后到期", MARKETING, "int"),
    "agreement_months_left": Phrase("group agreement ends in {v} months", "集团协议{v}个月后到期", MARKETING, "int"),
    "months_since_recharge": Phrase("no top-up for {v} months", "{v}个月未充值", MARKETING, "int"),
    "recharge_irregular": Phrase("top-ups irregular", "充值不规律", MARKETING, "bool"),
    "recharge_cv6": Phrase("top-up amounts vary by {v}", "充值金额波动{v}", MARKETING, "share"),
    "arrears_months_6m": Phrase("in arrears {v} of the last 6 months", "近六月欠费{v}个月", MARKETING, "int"),
    "arrears_max_6m": Phrase("arrears up to {v} yuan", "最高欠费{v}元", MARKETING, "yuan"),
    "arpu_avg3": Phrase("spend {v} yuan a month (3 months)", "近三月月均消费{v}元", MARKETING, "yuan"),
    "arpu_avg6": Phrase("spend {v} yuan a month (6 months)", "近六月月均消费{v}元", MARKETING, "yuan"),
    "mou_avg3": Phrase("{v} minutes of use a month", "月均通话{v}分钟", SERVICE),
    "data_mb_avg3": Phrase("{v} MB of data a month", "月均流量{v}MB", SERVICE),
    "tenure_months": Phrase("customer for {v} months", "在网{v}个月", MARKETING, "int"),
    "tenure_years": Phrase("customer for {v} years", "在网{v}年", MARKETING),
    "plan_fee": Phrase("plan fee {v} yuan", "套餐月费{v}元", MARKETING, "yuan"),
    "sms_avg3": Phrase("{v} SMS a month", "月均短信{v}条", SERVICE),
    "recharge_amount_avg3": Phrase("tops up {v} yuan a month", "月均充值{v}元", MARKETING, "yuan"),
    "recharge_count_avg3": Phrase("{v} top-ups a month", "月均充值{v}次", MARKETING),
    "roaming_mou_avg3": Phrase("{v} roaming minutes a month", "月均漫游通话{v}分钟", SERVICE),
    "revenue_6m": Phrase("{v} yuan spent in 6 months", "近六月消费{v}元", MARKETING, "yuan"),
    "arpu_cv6": Phrase("monthly spend varies by {v}", "月消费波动{v}", MARKETING, "share"),
    "mou_cv6": Phrase("minutes of use vary by {v} month to month", "月通话时长波动{v}", SERVICE, "share"),
    "onnet_share": Phrase("{v} of minutes stay on our network this month", "本月{v}通话为网内通话", MARKETING, "share"),
    "contacts_3m": Phrase("{v} contacts with us in 3 months", "近三月接触{v}次", SERVICE, "int"),
    "is_premium": Phrase("premium plan: {v}", "高端品牌套餐：{v}", MARKETING, "bool"),
    "is_bundle": Phrase("bundled with broadband or TV: {v}", "融合业务（宽带/电视）：{v}", MARKETING, "bool"),
    "is_key_person": Phrase("key person of an enterprise group: {v}", "集团关键人：{v}", MARKETING, "bool"),
    "months_of_history": Phrase("{v} months of usage on record", "有{v}个月使用记录", MARKETING, "int"),
    "short_history": Phrase("new customer, short history: {v}", "新入网，历史较短：{v}", MARKETING, "bool"),
}

# The seven contact channels as the interface names them (GLOSSARY: 营业厅 / 热线 / IVR / 网站 / 短信 / WAP / 自助终端).
CHANNEL_NAMES = {
    "store": ("stores", "营业厅"), "hotline": ("the hotline", "热线"), "ivr": ("IVR", "IVR"),
    "website": ("the website", "网站"), "sms": ("SMS", "短信"), "wap": ("WAP", "WAP"),
    "self_service": ("self-service terminals", "自助终端"),
}
for _ch, (_en, _zh) in CHANNEL_NAMES.items():
    PHRASES[f"contacts_{_ch}_6m"] = Phrase(f"{{v}} contacts through {_en} in 6 months", f"近六月通过{_zh}接触{{v}}次",
                                           SERVICE, "int")
    PHRASES[f"inbound_share_{_ch}"] = Phrase(f"{{v}} of their own contacts through {_en}", f"{{v}}的主动接触通过{_zh}",
                                             SERVICE, "share")

# Measures of the monthly history (columns <measure>_m0.._m5) and their family.
MEASURE_FAMILY = {
    "arpu": MARKETING, "mou": SERVICE, "mou_onnet": SERVICE, "mou_offnet": MARKETING, "data_mb": SERVICE,
    "sms": SERVICE, "roaming_mou": SERVICE, "recharge_count": MARKETING, "recharge_amount": MARKETING,
    "arrears": MARKETING, "other_op_cs_calls": SERVICE, "other_op_ip_spend": MARKETING, "complaints": SERVICE,
    "faults": SERVICE, "plan_changes": MARKETING, "downgrades": MARKETING, "cancellations": MARKETING,
    "port_out_inquiries": MARKETING, "contacts": SERVICE,
}
MEASURE_NAMES = {
    "arpu": ("spend (yuan)", "消费(元)"), "mou": ("minutes of use", "通话分钟"),
    "mou_onnet": ("on-net minutes", "网内通话分钟"), "mou_offnet": ("off-net minutes", "网外通话分钟"),
    "data_mb": ("mobile data (MB)", "流量(MB)"), "sms": ("SMS", "短信条数"),
    "roaming_mou": ("roaming minutes", "漫游通话分钟"), "recharge_count": ("top-ups", "充值次数"),
    "recharge_amount": ("top-up amount (yuan)", "充值金额(元)"), "arrears": ("arrears (yuan)", "欠费(元)"),
    "other_op_cs_calls": ("calls to other operators' customer service", "拨打他网客服次数"),
    "other_op_ip_spend": ("spend on other operators' IP calls (yuan)", "他网IP消费(元)"),
    "complaints": ("complaints", "投诉次数"), "faults": ("network faults reported", "故障申告次数"),
    "plan_changes": ("plan changes", "套餐变更次数"), "downgrades": ("plan downgrades", "套餐降档次数"),
    "cancellations": ("services cancelled", "退订业务数"), "port_out_inquiries": ("number-porting inquiries", "携号转网咨询次数"),
    "contacts": ("contacts with us", "接触次数"),
}
CATEGORY_PHRASES = {
    "region": ("customers in {v} leave more often", "{v}地区客户离网率较高"),
    "brand": ("brand {v}", "品牌：{v}"),
    "payment_type": ("payment type {v}", "付费方式：{v}"),
    "vip_card": ("VIP card {v}", "VIP卡：{v}"),
    "customer_type": ("customer type {v}", "客户类型：{v}"),
    "group_class": ("group class {v}", "集团等级：{v}"),
}
SERVICE_WORDS = ("complaint", "fault", "mou", "data", "sms", "contact", "inbound", "cs_calls", "roaming")


def _value_text(value: Any, fmt: str) -> tuple[str, str]:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ("unknown", "未知")
    if isinstance(value, str):  # a category (region, brand, payment type)
        return (value, value)
    if fmt == "pct":
        return _pct(float(value))
    if fmt == "points":
        return _points(float(value))
    if fmt == "share":
        return (f"{float(value):.0%}",) * 2  # type: ignore[return-value]
    if fmt == "int":
        return (f"{round(float(value))}",) * 2  # type: ignore[return-value]
    if fmt == "yuan":
        return (f"{float(value):,.2f}",) * 2  # type: ignore[return-value]
    if fmt == "bool":
        return ("yes", "是") if bool(value) else ("no", "否")
    f = float(value)
    return (f"{f:,.1f}" if abs(f) < 100 else f"{f:,.0f}",) * 2  # type: ignore[return-value]


def value_text(value: Any) -> str | None:
    """A feature value as the ``value`` column of a reason holds it; None for a missing one.

    The same whatever type pandas gave the column: an integer column holding
    a null is float64 and a boolean one object, so an integral float reads
    as the integer it came from.

    >>> value_text(3), value_text(3.0), value_text(np.float64(50.0)), value_text(2.5), value_text(np.nan)
    ('3', '3', '50', '2.5', None)
    >>> value_text(np.True_), value_text(False), value_text("north")
    ('True', 'False', 'north')
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


_WINDOW = re.compile(r"_(m\d|3m|6m|avg3|avg6|rising|trend3|pct_change|consecutive_declines|cv6)$")


def concept(feature: str) -> str:
    """The measure behind a feature, so its windows give one reason, not three.

    >>> concept("other_op_cs_calls_3m"), concept("other_op_cs_calls_m0"), concept("mou_pct_change")
    ('other_op_cs_calls', 'other_op_cs_calls', 'mou')
    """
    return _WINDOW.sub("", feature)


def phrase_for(feature: str) -> Phrase:
    """The phrase of ``feature``, or a generic one naming it."""
    if feature in PHRASES:
        return PHRASES[feature]
    base, _, k = feature.rpartition("_m")
    if base in MEASURE_FAMILY and k.isdigit():
        when_en = "this month" if k == "0" else f"{k} months ago"
        when_zh = "本月" if k == "0" else f"{k}个月前"
        en, zh = MEASURE_NAMES.get(base, (base, base))
        fmt = "num" if base in ("arpu", "mou", "mou_onnet", "mou_offnet", "data_mb", "roaming_mou",
                                "recharge_amount", "arrears", "other_op_ip_spend") else "int"
        return Phrase(f"{en} {when_en}: {{v}}", f"{when_zh}{zh}：{{v}}", MEASURE_FAMILY[base], fmt)
    family = SERVICE if any(w in feature for w in SERVICE_WORDS) else MARKETING
    if feature in CATEGORY_PHRASES:
        en, zh = CATEGORY_PHRASES[feature]
        return Phrase(en, zh, family, "text")
    return Phrase(f"{feature}: {{v}}", f"{feature}：{{v}}", family)


def describe(feature: str, value: Any) -> dict[str, str]:
    """One reason: feature, English and Chinese phrase with the value, family.

    >>> describe("contract_months_left", 1)["reason_en"]
    'contract ends in 1 months'
    >>> describe("offnet_share_change", 0.12)["reason_zh"]
    '网外通话占比三个月上升12个百分点'
    """
    ph = phrase_for(feature)
    en, zh = _value_text(value, ph.fmt)
    return {"feature": feature, "reason_en": ph.en.format(v=en), "reason_zh": ph.zh.format(v=zh),
            "family": ph.family}


REASON_COLUMNS = ["key", "rank", "feature", "value", "contribution", "reason_en", "reason_zh", "family"]


def top_reasons(
    contributions: pd.DataFrame, features: pd.DataFrame, keys: Any, top: int = 5
) -> pd.DataFrame:
    """Long table of the ``top`` strongest positive contributions per row.

    Several windows of one measure (``complaints_3m``, ``complaints_6m``,
    ``complaints_m0``) give one reason: the strongest of them.

    ``contributions`` is ``ChurnModel.contributions`` (one column per feature
    plus ``bias``), ``features`` the same rows' feature values, ``keys`` the
    row identifiers. Columns: key, rank (1 = strongest), feature, value,
    contribution, reason_en, reason_zh, family.

    Reasons are picked from each row's ``4 * top`` strongest features
    (stable order, so equal contributions keep the column order); a feature
    whose measure already gave a reason is skipped. The choice is made for
    all rows at once in numpy; only the phrases are written row by row.
    """
    names = [c for c in contributions.columns if c != "bias"]
    c = contributions[names].to_numpy(dtype=float)
    k = min(top, len(names))
    if len(c) == 0 or k == 0:
        return pd.DataFrame(columns=REASON_COLUMNS)
    # a few more candidates than needed: windows of one measure collapse into one reason
    order = np.argsort(-c, axis=1, kind="stable")[:, : min(len(names), 4 * k)]
    width = order.shape[1]
    concept_ids = np.unique([concept(n) for n in names], return_inverse=True)[1]
    held = np.take_along_axis(c, order, axis=1)
    measure = concept_ids[order]
    # a candidate repeats a measure when an earlier (stronger) candidate of its row has it
    earlier = np.tril(np.ones((width, width), dtype=bool), -1)
    repeated = ((measure[:, :, None] == measure[:, None, :]) & earlier).any(axis=2)
    # sorted descending: past the first non-positive contribution every one is non-positive
    chosen = (held > 0) & ~repeated
    rank = np.cumsum(chosen, axis=1)
    chosen &= rank <= k
    row, pos = np.nonzero(chosen)  # row by row, strongest first
    feature = order[row, pos]
    out_value: list[str | None] = [None] * len(row)
    reason_en: list[str] = [""] * len(row)
    reason_zh: list[str] = [""] * len(row)
    family: list[str] = [""] * len(row)
    for j in np.unique(feature):
        at = np.flatnonzero(feature == j)
        name = names[j]
        ph = phrase_for(name)  # what describe() does, with the phrase looked up once per feature
        values = _cells(features[name], row[at])
        for i, value in zip(at, values, strict=True):
            out_value[i] = value_text(value)
            en, zh = _value_text(value, ph.fmt)
            reason_en[i], reason_zh[i], family[i] = ph.en.format(v=en), ph.zh.format(v=zh), ph.family
    return pd.DataFrame({
        "key": np.asarray(keys)[row] if len(row) else np.asarray(keys)[:0],
        "rank": rank[row, pos].astype(np.int64),
        "feature": [names[j] for j in feature],
        "value": out_value,
        "contribution": held[row, pos],
        "reason_en": reason_en,
        "reason_zh": reason_zh,
        "family": family,
    }, columns=REASON_COLUMNS)


def _cells(column: pd.Series, rows: np.ndarray) -> list[Any]:
    """``column.iloc[i]`` for each row, without a pandas call per cell where the dtype allows."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind not in "mM":
        return list(column.to_numpy()[rows])  # numpy scalars, as .iloc gives them
    return [column.iloc[i] for i in rows]
