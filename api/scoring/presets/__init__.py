"""方案预设: one scheme per seed system, each in its own file, registered by slug."""

from api.scoring.presets import (
    chengzhuang,
    guodian_jingyuan,
    heyang,
    lutou,
    nitun,
    university,
    xuanhua,
    yongxi,
)
from api.scoring.scheme import Scheme

PRESETS: dict[str, Scheme] = {
    scheme.slug: scheme
    for scheme in (
        nitun.SCHEME,
        nitun.VILLAGE_SCHEME,
        heyang.SCHEME,
        lutou.SCHEME,
        xuanhua.SCHEME,
        university.SCHEME,
        guodian_jingyuan.SCHEME,
        chengzhuang.SCHEME,
        yongxi.SCHEME,
    )
}

__all__ = ["PRESETS"]
