"""Alarms notify the topic, with thresholds that mean something."""

from __future__ import annotations

from tests.infrastructure.conftest import resources_of


def test_every_alarm_notifies_the_alarm_topic(template):
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    (topic_id,) = resources_of(template, "AWS::SNS::Topic")
    assert len(alarms) >= 30
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}], name
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching", name


def test_failure_alarms_fire_on_the_first_occurrence(template):
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    by_metric = {a["Properties"].get("MetricName"): a["Properties"] for a in alarms.values()}
    for metric in (
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionThrottled",
        "ApproximateNumberOfMessagesVisible",
    ):
        assert by_metric[metric]["Threshold"] == 1, metric
        assert by_metric[metric]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_gate_rejection_rate_alarm_uses_the_configured_ratio(template):
    alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
    (rate,) = [
        a["Properties"] for a in alarms if "quality gates" in a["Properties"]["AlarmDescription"]
    ]
    assert rate["Threshold"] == 0.2
    expression = next(m["Expression"] for m in rate["Metrics"] if "Expression" in m)
    assert "failed / (passed + failed)" in expression


def test_alarm_email_is_subscribed_only_when_configured(template):
    assert resources_of(template, "AWS::SNS::Subscription") == {}


def test_uploads_no_item_takes_are_alarmed(template):
    # Bundle files without a bundle and objects never dispatched: each one is an alarm
    alarms = resources_of(template, "AWS::CloudWatch::Alarm").values()
    (uploads,) = [
        a["Properties"]
        for a in alarms
        if "Uploads ended outside" in a["Properties"]["AlarmDescription"]
    ]
    assert uploads["Threshold"] == 1
    expression = next(m["Expression"] for m in uploads["Metrics"] if "Expression" in m)
    assert expression == "orphans + undispatched"
    names = {
        m["MetricStat"]["Metric"]["MetricName"] for m in uploads["Metrics"] if "MetricStat" in m
    }
    assert names == {"BundleFilesWithoutBundle", "ObjectsNotDispatched"}
