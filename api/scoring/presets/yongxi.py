"""涌溪乡 “流动红旗” (seed 004, part 5): village branches, every two months, 100 points.

≥95: the top three get 600/500/400 yuan; [85, 95): the top three get half; <85 nothing; first
place gets the 流动红旗. Reading of the seed: the prize goes by overall place (1st, 2nd, 3rd)
and its amount by the band of that branch's own total; the red flag goes to first place
whatever its score. "考核排名最后且分数85分以下 1次…2次…3次以上" counts occurrences in the
year (not a run): 1st time 表态发言, 2nd 取消年终参评资格, 3rd and later 乡纪委问责.
Choices where the seed leaves numbers open: the split of the 100 points over the 10
indicators, and 2 consecutive flags for more branch funds. (Losing the year's bonus without
any flag is decided on the year's results, outside a period.)
"""

from api.scoring.scheme import Scheme


def _indicator(code: str, name: str, max_points: str) -> dict[str, object]:
    return {
        "code": code,
        "name": name,
        "kind": "bonus",
        "min_points": "0",
        "max_points": max_points,
        "cap_per_period": max_points,
    }


_LAST_BELOW_85 = {
    "all_of": [
        {"measure": "flag", "flag": "bottom"},
        {"measure": "total", "op": "lt", "value": "85"},
    ]
}

SCHEME = Scheme.model_validate(
    {
        "slug": "yongxi",
        "name": "涌溪乡大党建“流动红旗”考核",
        "subject_kind": "branch",
        "period": "two_months",
        "accumulation": "reset",
        "scoring": {"mode": "additive", "base": "0", "minimum": "0", "maximum": "100"},
        "items": [
            _indicator("party_building", "党组织建设", "20"),
            _indicator("poverty_alleviation", "扶贫工作", "15"),
            _indicator("family_planning", "计划生育", "10"),
            _indicator("social_governance", "综治维稳", "10"),
            _indicator("work_safety", "安全生产", "10"),
            _indicator("civil_affairs", "民政民生", "10"),
            _indicator("village_stationed", "同步小康驻村和“暖心秘书”工作", "10"),
            _indicator("sanitation", "整脏治乱", "5"),
            _indicator("finance_tax", "财政税收", "5"),
            _indicator("clean_governance", "党风廉政", "5"),
        ],
        "streaks": [
            {
                "when": _LAST_BELOW_85,
                "count": 1,
                "match": "exactly",
                "counting": "in_cycle",
                "action": {"code": "statement", "label": "排名最后且低于85分,作表态发言"},
            },
            {
                "when": _LAST_BELOW_85,
                "count": 2,
                "match": "exactly",
                "counting": "in_cycle",
                "action": {"code": "no_year_end_award", "label": "取消年终参评资格"},
            },
            {
                "when": _LAST_BELOW_85,
                "count": 3,
                "counting": "in_cycle",
                "action": {"code": "accountability", "label": "乡纪委问责"},
            },
            {
                "when": {"all_of": [{"measure": "flag", "flag": "red_flag"}]},
                "count": 2,
                "action": {"code": "more_funds", "label": "连续获得流动红旗,增加支部经费"},
            },
        ],
        "ranking": {
            "scopes": ["town"],
            "primary": "town",
            "flag_bottom": True,
            "first_place_flag": "red_flag",
            "prizes": [
                {"min": "95", "amounts": ["600", "500", "400"]},
                {"min": "85", "amounts": ["300", "250", "200"]},
            ],
        },
    }
)
