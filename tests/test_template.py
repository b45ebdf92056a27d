"""template.yaml wiring, read as data: what the ingest path needs to be safe and complete."""

from __future__ import annotations

from typing import Any

from seslake_cli.stack import load_template
from tests.cfn import as_list, statements

TEMPLATE: dict[str, Any] = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def function_statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    """A function's own policy statements, both branches of each `Fn::If`."""
    return [s for p in function["Properties"].get("Policies", []) for s in statements(p)]


def test_functions_run_python312_with_the_layer() -> None:
    assert TEMPLATE["Globals"]["Function"]["Runtime"] == "python3.12"
    assert TEMPLATE["Globals"]["Function"]["Layers"] == [{"Ref": "SeslakeLayer"}]
    assert RESOURCES["SeslakeLayer"]["Metadata"]["BuildMethod"] == "python3.12"


def test_sqs_trigger_reports_batch_item_failures_and_has_a_dlq() -> None:
    queue_event = RESOURCES["IngestSnsFunction"]["Properties"]["Events"]["Queue"]["Properties"]
    assert queue_event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    redrive = RESOURCES["EventsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}


def test_s3_function_has_an_on_failure_destination_and_reads_only_the_raw_prefix() -> None:
    props = RESOURCES["IngestS3Function"]["Properties"]
    assert props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    rules = props["Events"]["RawObject"]["Properties"]["Filter"]["S3Key"]["Rules"]
    assert rules == [{"Name": "prefix", "Value": {"Fn::Sub": "${RawPrefix}/"}}]


def test_every_event_type_is_published_to_the_topic() -> None:
    destination = RESOURCES["ConfigurationSetSnsDestination"]["Properties"]["EventDestination"]
    assert destination["MatchingEventTypes"] == {"Ref": "EventTypes"}
    default = TEMPLATE["Parameters"]["EventTypes"]["Default"].split(",")
    assert sorted(default) == sorted(
        [
            "send",
            "reject",
            "bounce",
            "complaint",
            "delivery",
            "open",
            "click",
            "renderingFailure",
            "deliveryDelay",
            "subscription",
        ]
    )


def test_topic_policy_lets_only_ses_of_this_account_publish() -> None:
    (statement,) = RESOURCES["EventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


def test_bucket_is_encrypted_private_and_tls_only() -> None:
    bucket = RESOURCES["LakeBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    (deny,) = RESOURCES["LakeBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_function_policies_name_actions_and_never_write_the_raw_prefix() -> None:
    for name, function in of_type("AWS::Serverless::Function").items():
        for statement in function_statements(function):
            assert "*" not in "".join(statement["Action"]), name
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            if "s3:PutObject" in statement["Action"] and name != "EraseFunction":
                assert all("${RawPrefix}" not in r["Fn::Sub"] for r in resources), name
    # The one exception rewrites raw objects without an erased address; it marks them, and
    # ingest_s3 skips a marked object (tests/functional/test_erase.py), so nothing loops.
    erase = function_statements(of_type("AWS::Serverless::Function")["EraseFunction"])
    assert any("s3:PutObject" in s["Action"] for s in erase)


def _columns(table: str) -> list[dict[str, str]]:
    columns: list[dict[str, str]] = RESOURCES[table]["Properties"]["TableInput"][
        "StorageDescriptor"
    ]["Columns"]
    return columns


def test_glue_ses_events_columns_equal_the_schema_module() -> None:
    from seslake.schema import EVENT_PARTITIONS, glue_columns

    assert _columns("SesEventsTable") == glue_columns()
    keys = RESOURCES["SesEventsTable"]["Properties"]["TableInput"]["PartitionKeys"]
    assert keys == glue_columns(EVENT_PARTITIONS)


def test_glue_ses_requests_has_the_key_columns() -> None:
    from seslake.schema import REQUEST_KEY_COLUMNS, glue_columns

    assert _columns("SesRequestsTable") == glue_columns(REQUEST_KEY_COLUMNS)


def test_partition_projection_covers_every_event_type_and_day() -> None:
    from seslake.schema import EVENT_TYPES

    params = RESOURCES["SesEventsTable"]["Properties"]["TableInput"]["Parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.event_type.type"] == "enum"
    assert params["projection.event_type.values"].split(",") == list(EVENT_TYPES)
    assert params["projection.dt.type"] == "date"
    assert params["projection.dt.format"] == "yyyy-MM-dd"
    assert params["projection.dt.range"].endswith(",NOW+1DAYS")  # open-ended
    template = params["storage.location.template"]["Fn::Sub"]
    assert template.endswith("/ses_events/event_type=${!event_type}/dt=${!dt}/")


def test_views_custom_resource_reruns_with_each_layer_version() -> None:
    views = RESOURCES["Views"]
    assert views["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["CreateViewsFunction", "Arn"]}
    assert views["Properties"]["Layer"] == {"Ref": "SeslakeLayer"}
    assert set(views["DependsOn"]) == {"SesEventsTable", "SesRequestsTable"}


def test_workgroup_enforces_encrypted_results_and_a_scan_limit() -> None:
    config = RESOURCES["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["BytesScannedCutoffPerQuery"] == {"Ref": "BytesScannedCutoffPerQuery"}
    result = config["ResultConfiguration"]
    condition, with_key, without_key = result["EncryptionConfiguration"]["Fn::If"]
    assert condition == "WithKms"  # results use the lake's key when it has one
    assert with_key == {"EncryptionOption": "SSE_KMS", "KmsKey": {"Ref": "KmsKeyArn"}}
    assert without_key == {"EncryptionOption": "SSE_S3"}


def test_load_internal_is_triggered_by_the_internal_prefix_only() -> None:
    props = RESOURCES["LoadInternalFunction"]["Properties"]
    rules = props["Events"]["InternalObject"]["Properties"]["Filter"]["S3Key"]["Rules"]
    assert rules == [{"Name": "prefix", "Value": {"Fn::Sub": "${InternalPrefix}/"}}]
    assert props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"


FUNCTIONS = of_type("AWS::Serverless::Function")


def test_every_function_has_a_dlq_or_an_on_failure_destination() -> None:
    for name, function in FUNCTIONS.items():
        props = function["Properties"]
        if name == "CreateViewsFunction":  # CloudFormation waits on it and is told every failure
            continue
        if name in ("BackfillFunction", "EraseFunction"):  # invoked synchronously by their
            continue  # state machines, which retry them and record each failed batch
        destination = props.get("EventInvokeConfig", {}).get("DestinationConfig", {})
        assert destination.get("OnFailure", {}).get("Type") == "SQS", name


def test_functions_never_write_under_a_prefix_that_triggers_one() -> None:
    triggers = {"${RawPrefix}/", "${InternalPrefix}/"}
    for name, function in FUNCTIONS.items():
        if name == "EraseFunction":  # marks what it rewrites under raw; ingest_s3 skips it
            continue
        for statement in function_statements(function):
            if not {"s3:PutObject", "s3:DeleteObject"} & set(statement["Action"]):
                continue
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                text = resource["Fn::Sub"] if isinstance(resource, dict) else resource
                assert not any(f"/{t}" in text for t in triggers), (name, text)


def test_no_wildcard_actions_and_no_wildcard_data_resources() -> None:
    for name, function in FUNCTIONS.items():
        for statement in function_statements(function):
            assert all("*" not in action for action in statement["Action"]), name
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                sub = isinstance(resource, dict) and "Fn::Sub" in resource
                text = resource["Fn::Sub"] if sub else str(resource)
                assert text != "*" and not text.endswith(":::*"), (name, text)


def test_lifecycle_rules_expire_raw_quarantine_and_old_versions() -> None:
    rules = {
        r["Id"]: r for r in RESOURCES["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    }
    assert rules["expire-raw"]["ExpirationInDays"] == {"Ref": "RawRetentionDays"}
    assert rules["expire-quarantine"]["ExpirationInDays"] == {"Ref": "QuarantineRetentionDays"}
    assert rules["expire-replaced-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0


def test_alarms_cover_the_dlq_quarantine_errors_and_ses_thresholds() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")
    assert set(alarms) >= {
        "DeadLetterAlarm",
        "QuarantineAlarm",
        "IngestErrorsAlarm",
        "BounceRateAlarm",
        "ComplaintRateAlarm",
    }
    assert alarms["BounceRateAlarm"]["Properties"]["Threshold"] == 0.05
    assert alarms["ComplaintRateAlarm"]["Properties"]["Threshold"] == 0.001
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_alarms_read_only_metrics_the_code_emits() -> None:
    """A renamed metric would leave its alarm silent forever (missing data is not breaching)."""
    import re

    from tests.conftest import ROOT

    code = (ROOT / "layers/seslake/seslake/telemetry.py").read_text() + "".join(
        p.read_text() for p in (ROOT / "functions").glob("*/app.py")
    )
    emitted = set(re.findall(r'name="([A-Za-z]+)"', code))
    read = {
        query["MetricStat"]["Metric"]["MetricName"]
        for alarm in of_type("AWS::CloudWatch::Alarm").values()
        for query in alarm["Properties"].get("Metrics", [])
        if query.get("MetricStat", {}).get("Metric", {}).get("Namespace") == "seslake"
    } | {
        alarm["Properties"]["MetricName"]
        for alarm in of_type("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "seslake"
    }
    assert {"HardBounces", "RowsWritten"} <= read
    assert read <= emitted


def test_eventbridge_rule_takes_every_ses_email_event_into_the_queue_only_when_asked() -> None:
    from seslake.schema import EVENTBRIDGE_DETAIL_TYPES

    rule = RESOURCES["SesEventBridgeRule"]
    assert rule["Condition"] == "WithEventBridge"
    assert TEMPLATE["Parameters"]["IngestEventBridge"]["Default"] == "false"
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.ses"]
    assert pattern["detail-type"] == list(EVENTBRIDGE_DETAIL_TYPES)  # what the ingest reads
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    # Both queues accept EventBridge messages from this rule alone.
    queue_statements = RESOURCES["EventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (from_rule,) = [s["Fn::If"][1] for s in queue_statements if "Fn::If" in s]
    dlq_policy = RESOURCES["EventsDeadLetterQueuePolicy"]
    assert dlq_policy["Condition"] == "WithEventBridge"
    (dlq_statement,) = dlq_policy["Properties"]["PolicyDocument"]["Statement"]
    for statement in (from_rule, dlq_statement):
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["SesEventBridgeRule", "Arn"]}}
        }


def test_optional_pieces_sit_behind_parameters() -> None:
    assert RESOURCES["DirectSnsSubscription"]["Condition"] == "DirectSnsTrigger"
    assert RESOURCES["FirehoseStream"]["Condition"] == "WithFirehose"
    assert RESOURCES["ConfigurationSetFirehoseDestination"]["Condition"] == "WithFirehose"
    firehose = RESOURCES["FirehoseStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert firehose["Prefix"] == {"Fn::Sub": "${RawPrefix}/"}  # lands where ingest_s3 listens


def test_lambda_failure_records_never_share_a_queue_with_ses_messages() -> None:
    """A redrive of the events DLQ into the events queue must hold SES messages only."""
    redrive = RESOURCES["EventsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    for name, function in FUNCTIONS.items():
        on_failure = function["Properties"].get("EventInvokeConfig", {})
        destination = on_failure.get("DestinationConfig", {}).get("OnFailure", {})
        if destination:
            assert destination["Destination"] == {
                "Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]
            }, name


def test_sqs_trigger_bounds_concurrency_at_the_poller_not_by_reservation() -> None:
    props = RESOURCES["IngestSnsFunction"]["Properties"]
    assert "ReservedConcurrentExecutions" not in props  # the poller would throttle into the DLQ
    queue = props["Events"]["Queue"]["Properties"]
    assert queue["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "IngestMaximumConcurrency"}}
    assert RESOURCES["EventsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] >= 5


def test_every_function_logs_to_a_group_with_retention() -> None:
    for name, function in FUNCTIONS.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        props = RESOURCES[group]["Properties"]
        assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup", name
        assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_stateful_resources_are_retained() -> None:
    for name in ("LakeBucket", "EventsQueue", "EventsDeadLetterQueue", "FailedInvocationsQueue"):
        assert RESOURCES[name]["DeletionPolicy"] == "Retain", name
        assert RESOURCES[name]["UpdateReplacePolicy"] == "Retain", name
    ownership = RESOURCES["LakeBucket"]["Properties"]["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_a_backlog_and_failed_invocations_raise_alarms() -> None:
    age = RESOURCES["QueueBacklogAlarm"]["Properties"]
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert age["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsQueue", "QueueName"]}}
    ]
    failed = RESOURCES["FailedInvocationsAlarm"]["Properties"]
    assert failed["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["FailedInvocationsQueue", "QueueName"]
    }


def _glue_tables(function: str, action: str) -> set[str]:
    """The Glue tables a function may act on with `action`, by name."""
    tables = set()
    for statement in function_statements(RESOURCES[function]):
        if action in statement["Action"]:
            for resource in as_list(statement["Resource"]):
                text = resource["Fn::Sub"]
                if ":table/" in text:
                    tables.add(text.rsplit("/", 1)[1])
    return tables


def test_catalog_roles_manage_only_their_own_tables() -> None:
    from seslake.views import load_views

    views = {v.name for v in load_views()}
    for function in ("CreateViewsFunction", "LoadInternalFunction"):
        assert _glue_tables(function, "glue:CreateTable") == views, function
        assert _glue_tables(function, "glue:GetTable") == views | {"ses_events", "ses_requests"}
    for function in ("CreateViewsFunction", "LoadInternalFunction"):
        assert _glue_tables(function, "glue:UpdateTable") == views | {"ses_requests"}
