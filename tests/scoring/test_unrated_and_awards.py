"""Evaluations nobody gave (never a silent 0) and 评先评优 eligibility (合阳)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.scoring import Scheme
from api.scoring.presets import PRESETS
from api.scoring.results import StepKind
from api.scoring.scheme import ComponentKind, UnratedPolicy
from tests.scoring.factories import D, Ledger, Timeline, evaluations, member, run

XUANHUA = PRESETS["xuanhua"]
HEYANG = PRESETS["heyang"]


def test_every_weighted_evaluation_of_a_preset_says_what_unrated_means() -> None:
    for scheme in PRESETS.values():
        for component in scheme.components:
            if component.kind is not ComponentKind.DAILY:
                assert "when_unrated" in component.model_fields_set, scheme.slug


def test_an_excluded_evaluation_is_left_out_and_the_weights_renormalised() -> None:
    # 宣化: no 自评 (weight 0.1); daily 60, 互评 80, 商评 90 over the remaining 0.9.
    evaluated = evaluations("m1", mutual=80, committee=90)
    result = run(XUANHUA, "2024-H1", [member("m1")], [], evaluated)["m1"]
    assert result.missing_evaluations == (ComponentKind.SELF,)
    assert ComponentKind.SELF not in result.components
    assert result.total == ((D(60) * D("0.3") + D(24) + D(27)) / D("0.9")).quantize(D("0.01"))
    total_step = [s for s in result.derivation if s.kind is StepKind.TOTAL][-1]
    assert "÷ 计入的权重 0.9" in total_step.detail


def test_a_required_evaluation_is_counted_zero_and_says_so() -> None:
    # 宣化 requires 商评: a round cannot close without it; a period scored without is explicit.
    evaluated = evaluations("m1", self=80, mutual=80)
    result = run(XUANHUA, "2024-H1", [member("m1")], [], evaluated)["m1"]
    assert result.missing_evaluations == (ComponentKind.COMMITTEE,)
    assert result.components[ComponentKind.COMMITTEE] == 0
    steps = [s.detail for s in result.derivation if s.rule == ComponentKind.COMMITTEE]
    assert steps == ["组织评定(未评,方案规定必评,按 0 计) 0 × 0.3 = 0"]


def test_the_daily_component_cannot_be_excluded() -> None:
    definition = XUANHUA.model_dump(mode="json")
    definition["components"][0]["when_unrated"] = UnratedPolicy.EXCLUDE
    with pytest.raises(ValidationError, match="日常积分人人都有，「未评时」不能选 'exclude'"):
        Scheme.model_validate(definition)


@settings(max_examples=100, deadline=None)
@given(
    given_scores=st.dictionaries(
        st.sampled_from([ComponentKind.SELF, ComponentKind.MUTUAL, ComponentKind.COMMITTEE]),
        st.decimals(min_value=0, max_value=100, places=2),
    ),
    bonus=st.integers(min_value=0, max_value=20),
)
def test_an_all_excluded_scheme_scores_within_the_parts_given(
    given_scores: dict[ComponentKind, Decimal], bonus: int
) -> None:
    """Whatever is missing, the total lies between the smallest and largest part given (a
    missing part is never a 0 pulling it down), and equals the plain weighted sum when all
    parts are there."""
    definition = XUANHUA.model_dump(mode="json")
    for component in definition["components"][1:]:
        component["when_unrated"] = UnratedPolicy.EXCLUDE
    scheme = Scheme.model_validate(definition)
    ledger = Ledger()
    entries = [ledger.add("m1", "commitment_kept", bonus)] if bonus else []
    scores = {kind.value: str(score) for kind, score in given_scores.items()}
    evaluated = evaluations("m1", **scores)
    result = run(scheme, "2024-H1", [member("m1")], entries, evaluated)["m1"]
    assert result.total is not None and result.points is not None
    parts = [result.points, *given_scores.values()]
    assert min(parts) - D("0.01") <= result.total <= max(parts) + D("0.01")
    assert set(result.missing_evaluations) == {
        c.kind for c in scheme.components[1:] if c.kind not in given_scores
    }
    if len(given_scores) == 3:
        weights = {c.kind: c.weight for c in scheme.components}
        expected = result.points * weights[ComponentKind.DAILY] + sum(
            score * weights[kind] for kind, score in given_scores.items()
        )
        assert result.total == expected


def test_heyang_members_with_demerits_not_offset_are_not_eligible_for_awards() -> None:
    ledger = Ledger()
    subjects = [member("m1"), member("m2"), member("m3")]
    timeline = Timeline(HEYANG, subjects)
    march = timeline.run(
        "2024-03",
        [
            ledger.add("m1", "activity_day_absent", 3),
            ledger.add("m2", "activity_day_leave", 1),
            ledger.add("m2", "volunteer_service", 2),
        ],
    )
    assert (march["m1"].award_eligible, march["m1"].award_reason) == (
        False,
        "记分未被奖励积分全部抵消,不得推荐评先评优",
    )
    assert (march["m2"].award_eligible, march["m2"].award_reason) == (True, None)
    assert march["m3"].award_eligible is True
    award = [s for s in march["m1"].derivation if s.kind is StepKind.AWARD]
    assert [s.detail for s in award] == ["总分 > 0 → 记分未被奖励积分全部抵消,不得推荐评先评优"]
    # The demerits carry over until offset: two volunteer services in April clear m1's 3.
    april = timeline.run(
        "2024-04",
        [ledger.add("m1", "volunteer_service", 2), ledger.add("m1", "volunteer_service", 2)],
    )
    assert april["m1"].award_eligible is True


def test_schemes_without_an_award_bar_say_nothing_about_eligibility() -> None:
    result = run(PRESETS["lutou"], "2024-03", [member("m1", category="A")])["m1"]
    assert (result.award_eligible, result.award_reason) == (None, None)
    assert not [s for s in result.derivation if s.kind is StepKind.AWARD]
