"""The feature spec: what travels with a model, and what it leaves out."""

from __future__ import annotations

from predictive_scoring.features.spec import FIT, INTENT, FeatureSpec, learn_feature_spec
from tests.features.helpers import features_config, lead_data


def _spec() -> FeatureSpec:
    data = lead_data(
        leads=[("a", "2024-01-01"), ("b", "2024-01-02")],
        events=[("a", "2024-01-03", "demo_request"), ("b", "2024-01-04", "page_view")],
    )
    return learn_feature_spec(data, features_config())


def test_the_spec_round_trips_through_json() -> None:
    spec = _spec()
    assert FeatureSpec.from_dict(spec.to_dict()) == spec


def test_event_types_are_learned_and_name_their_features() -> None:
    spec = _spec()
    assert spec.event_types == ("demo_request", "page_view")
    assert spec.decayed_column("demo_request", spec.half_lives_days[0]).startswith("decayed_demo")
    assert set(spec.group(INTENT)) == {f.name for f in spec.features if f.group == INTENT}
    assert spec.group(FIT) == [f.name for f in spec.features if f.group == FIT]


def test_leaky_fields_are_dropped_with_their_reason() -> None:
    spec = _spec()
    without = spec.without_fields({"demo_request"})
    assert not any(f.field == "demo_request" for f in without.features)
    assert without.dropped["demo_request"] == "flagged by the leakage audit"
    assert len(without.features) < len(spec.features)
