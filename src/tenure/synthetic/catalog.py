"""Fixed reference data of the synthetic province: geography, plans, names.

The province is Fujian: nine prefecture-level branches (地市分公司) with their
counties and districts, written in pinyin. Weights are rough population shares.
"""

from __future__ import annotations

import numpy as np

# (region, Chinese name, weight, counties)
REGIONS: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("Fuzhou", "福州", 0.21, ("Gulou", "Taijiang", "Cangshan", "Mawei", "Jin'an", "Changle",
                              "Minhou", "Lianjiang", "Luoyuan", "Minqing", "Yongtai", "Fuqing")),
    ("Xiamen", "厦门", 0.13, ("Siming", "Huli", "Jimei", "Haicang", "Tong'an", "Xiang'an")),
    ("Putian", "莆田", 0.07, ("Chengxiang", "Hanjiang", "Licheng", "Xiuyu", "Xianyou")),
    ("Sanming", "三明", 0.06, ("Sanyuan", "Shaxian", "Yong'an", "Mingxi", "Qingliu", "Ninghua",
                               "Datian", "Youxi", "Jiangle", "Taining", "Jianning")),
    ("Quanzhou", "泉州", 0.21, ("Fengze", "Luojiang", "Quangang", "Shishi", "Jinjiang", "Nan'an",
                                "Hui'an", "Anxi", "Yongchun", "Dehua")),
    ("Zhangzhou", "漳州", 0.12, ("Xiangcheng", "Longwen", "Longhai", "Changtai", "Yunxiao",
                                 "Zhangpu", "Zhao'an", "Dongshan", "Nanjing", "Pinghe", "Hua'an")),
    ("Nanping", "南平", 0.06, ("Yanping", "Jianyang", "Shaowu", "Wuyishan", "Jian'ou", "Shunchang",
                               "Pucheng", "Guangze", "Songxi", "Zhenghe")),
    ("Longyan", "龙岩", 0.07, ("Xinluo", "Yongding", "Zhangping", "Changting", "Shanghang",
                               "Wuping", "Liancheng")),
    ("Ningde", "宁德", 0.07, ("Jiaocheng", "Fu'an", "Fuding", "Xiapu", "Gutian", "Pingnan",
                              "Shouning", "Zhouning", "Zherong")),
)
REGION_NAMES = np.array([r[0] for r in REGIONS], dtype=object)
REGION_CN = np.array([r[1] for r in REGIONS], dtype=object)
REGION_WEIGHTS = np.array([r[2] for r in REGIONS]) / sum(r[2] for r in REGIONS)
# Flat county table with the index of the region each belongs to.
CITY_NAMES = np.array([c for r in REGIONS for c in r[3]], dtype=object)
CITY_REGION = np.array([i for i, r in enumerate(REGIONS) for _ in r[3]])
CITY_OFFSETS = np.cumsum([0] + [len(r[3]) for r in REGIONS])[:-1]
CITY_COUNTS = np.array([len(r[3]) for r in REGIONS])

SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈"), dtype=object)
GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建文辉鹏海燕志宏斌晓红云峰俊亮欣怡婷宇浩然子轩梓涵雨晨思琪嘉"), dtype=object)

GROUP_WORDS = np.array(["华信", "海峡", "闽通", "联创", "恒达", "鑫源", "东南", "榕城", "鹭岛", "汇丰",
                        "新华", "兴业", "中天", "远航", "宏图", "金山", "清源", "武夷", "开元", "泰和"], dtype=object)
INDUSTRIES = np.array(["government", "finance", "education", "healthcare", "manufacturing",
                       "retail", "logistics", "it_services"], dtype=object)
INDUSTRY_WEIGHTS = np.array([0.14, 0.10, 0.14, 0.09, 0.22, 0.12, 0.09, 0.10])
INDUSTRY_SUFFIX = np.array(["市财政局", "农商银行", "第一中学", "人民医院", "制造有限公司",
                            "商贸有限公司", "物流有限公司", "科技有限公司"], dtype=object)
KEY_PERSON_TITLES = np.array(["总经理", "办公室主任", "财务总监", "信息科科长", "副总经理", "行政经理"], dtype=object)

# Tariff plans: id, name, brand, payment type, fee, voice minutes, data MB, bundle, premium.
PLANS: tuple[tuple[str, str, str, str, float, int, int, bool, bool], ...] = (
    ("P101", "神州行 8元卡", "local", "prepaid", 8.0, 0, 0, False, False),
    ("P102", "神州行 18元套餐", "local", "prepaid", 18.0, 100, 1024, False, False),
    ("P103", "神州行 38元套餐", "local", "prepaid", 38.0, 200, 5120, False, False),
    ("P104", "神州行 58元套餐", "local", "prepaid", 58.0, 300, 10240, False, False),
    ("P201", "动感地带 28元潮玩卡", "youth", "prepaid", 28.0, 100, 10240, False, False),
    ("P202", "动感地带 48元潮玩卡", "youth", "prepaid", 48.0, 200, 30720, False, False),
    ("P203", "动感地带 78元畅享", "youth", "postpaid", 78.0, 300, 40960, False, False),
    ("P301", "畅享 58元套餐", "local", "postpaid", 58.0, 300, 20480, False, False),
    ("P302", "畅享 88元套餐", "local", "postpaid", 88.0, 500, 30720, False, False),
    ("P303", "畅享 128元套餐", "local", "postpaid", 128.0, 800, 51200, False, False),
    ("P401", "全球通 128元", "premium", "postpaid", 128.0, 600, 40960, False, True),
    ("P402", "全球通 188元", "premium", "postpaid", 188.0, 1000, 61440, False, True),
    ("P403", "全球通 288元", "premium", "postpaid", 288.0, 1500, 102400, False, True),
    ("P404", "全球通 388元", "premium", "postpaid", 388.0, 2500, 153600, False, True),
    ("P501", "家庭融合 99元", "family", "postpaid", 99.0, 500, 30720, True, False),
    ("P502", "家庭融合 169元", "family", "postpaid", 169.0, 1000, 61440, True, False),
    ("P503", "家庭融合 239元", "family", "postpaid", 239.0, 1500, 102400, True, False),
)
PLAN_IDS = np.array([p[0] for p in PLANS], dtype=object)
PLAN_BRAND = np.array([p[2] for p in PLANS], dtype=object)
PLAN_PAYMENT = np.array([p[3] for p in PLANS], dtype=object)
PLAN_FEE = np.array([p[4] for p in PLANS])
PLAN_BUNDLE = np.array([p[7] for p in PLANS])
PLAN_PREMIUM = np.array([p[8] for p in PLANS])
BRANDS = ("local", "youth", "premium", "family")


def plans_by_brand(brand: str, payment_type: str) -> np.ndarray:
    """Indexes into PLANS of one brand and payment type, cheapest first."""
    idx = np.flatnonzero((PLAN_BRAND == brand) & (PLAN_PAYMENT == payment_type))
    return idx[np.argsort(PLAN_FEE[idx], kind="stable")]


MSISDN_PREFIXES = np.array([134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159,
                            178, 182, 183, 184, 187, 188, 198])
