"""Every service-to-service delivery in the stack, checked against the policies that must admit it.

moto enforces neither resource policies nor KMS key policies, so a delivery the receiving side
does not admit (SES publishing to a topic whose key it may not use, SNS sending to a queue
whose policy names another topic) would pass every local test and deliver nothing once
deployed. `problems` walks the deliveries the template declares (it finds them, so a new one
is checked too) and says what would be refused. It reads the template after SAM's transform,
with every optional piece switched on.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from tests.cfn import as_list, refers_to, statements, target_of

#: What a service principal needs on the key of an encrypted topic it publishes to.
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")


class Stack:
    """A translated template's resources, with the lookups the checks need."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, Any] = template["Resources"]

    def of_type(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, resource in self.resources.items():
            if resource["Type"] == kind:
                yield name, resource.get("Properties", {})

    def props(self, logical: str) -> dict[str, Any]:
        props: dict[str, Any] = self.resources[logical].get("Properties", {})
        return props

    def resource_policies(self, kind: str, list_key: str, logical: str) -> list[dict[str, Any]]:
        """The statements of every policy resource (topic or queue policy) naming `logical`."""
        found = []
        for _, props in self.of_type(kind):
            if any(refers_to(v, logical) for v in as_list(props.get(list_key, []))):
                found += list(statements(props["PolicyDocument"]))
        return found

    def role_statements(self, role: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for policy in self.props(role).get("Policies", []):
            found += statements(policy["PolicyDocument"])
        return found

    def function_role(self, function: str) -> str:
        role = target_of(self.props(function).get("Role"))
        assert role is not None, f"{function} has no role in the template"
        return role


def _text(value: Any) -> str:
    """A template value as text, for matching ARNs written with Fn::Sub."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return str(sub if isinstance(sub, str) else sub[0])
    return str(value)


def _allows(statement: dict[str, Any], action: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    return any(fnmatchcase(action.lower(), str(a).lower()) for a in as_list(statement["Action"]))


def _condition_values(statement: dict[str, Any], key: str) -> list[Any]:
    values: list[Any] = []
    for operator in statement.get("Condition", {}).values():
        for name, value in operator.items():
            if name.lower() == key.lower():
                values += as_list(value)
    return values


def admits_service(
    policy: list[dict[str, Any]],
    service: str,
    action: str,
    *,
    source: str | None = None,
    source_arn: str | None = None,
    account_scoped: bool = False,
) -> bool:
    """Whether a resource or key policy lets `service` do `action`, scoped to a source.

    `source` is the logical id the aws:SourceArn condition must name (a topic, a rule);
    `source_arn` a piece of the ARN pattern it must contain (SES configuration set, alarms);
    `account_scoped` also asks for aws:SourceAccount equal to this account.
    """
    for statement in policy:
        if not _allows(statement, action):
            continue
        if service not in as_list(statement.get("Principal", {}).get("Service", [])):
            continue
        arns = _condition_values(statement, "aws:SourceArn")
        if not arns:
            continue  # an unscoped grant is a confused-deputy risk: it does not count
        if source is not None and not any(refers_to(a, source) for a in arns):
            continue
        if source_arn is not None and not any(source_arn in _text(a) for a in arns):
            continue
        if account_scoped and {"Ref": "AWS::AccountId"} not in _condition_values(
            statement, "aws:SourceAccount"
        ):
            continue
        return True
    return False


def _key_branches(value: Any) -> list[Any]:
    if isinstance(value, dict) and "Fn::If" in value:
        return _key_branches(value["Fn::If"][1]) + _key_branches(value["Fn::If"][2])
    return [value]


def _topic_key_problems(stack: Stack, topic: str, service: str, source_arn: str) -> list[str]:
    key_id = stack.props(topic).get("KmsMasterKeyId")
    if key_id is None:
        return [f"{topic} is not encrypted"]
    problems = []
    for branch in _key_branches(key_id):
        if isinstance(branch, str) and branch.startswith("alias/aws/"):
            problems.append(
                f"{topic} uses the AWS managed key {branch}: its key policy cannot admit {service}"
            )
            continue
        key = target_of(branch)
        if key is None or stack.resources.get(key, {}).get("Type") != "AWS::KMS::Key":
            continue  # a key given as a parameter: its policy is the operator's (docs/deploy.md)
        policy = list(statements(stack.props(key)["KeyPolicy"]))
        for action in KEY_ACTIONS:
            if not admits_service(
                policy, service, action, source_arn=source_arn, account_scoped=True
            ):
                problems.append(
                    f"the key policy of {key} ({topic}) does not let {service} {action}"
                )
    return problems


def _publishes_to_topic(stack: Stack, topic: str, service: str, source_arn: str) -> list[str]:
    problems = _topic_key_problems(stack, topic, service, source_arn)
    policy = stack.resource_policies("AWS::SNS::TopicPolicy", "Topics", topic)
    if not admits_service(
        policy, service, "sns:Publish", source_arn=source_arn, account_scoped=True
    ):
        problems.append(f"the policy of {topic} does not let {service} publish ({source_arn})")
    return problems


def _sends_to_queue(stack: Stack, queue: str, service: str, source: str) -> list[str]:
    problems = []
    props = stack.props(queue)
    key = props.get("KmsMasterKeyId")
    managed_key = isinstance(key, str) and key.startswith("alias/aws/")
    if managed_key and not props.get("SqsManagedSseEnabled"):
        problems.append(f"{queue} uses the AWS managed key {key}: {service} cannot use it")
    policy = stack.resource_policies("AWS::SQS::QueuePolicy", "Queues", queue)
    if not admits_service(policy, service, "sqs:SendMessage", source=source):
        problems.append(f"the policy of {queue} does not let {service} send from {source}")
    return problems


def _invokes_function(stack: Stack, function: str, service: str, source: str | None) -> list[str]:
    for _, props in stack.of_type("AWS::Lambda::Permission"):
        if not refers_to(props.get("FunctionName"), function) or props["Principal"] != service:
            continue
        if source is not None and refers_to(props.get("SourceArn"), source):
            return []
        if source is None and props.get("SourceAccount") == {"Ref": "AWS::AccountId"}:
            return []
    return [f"no permission lets {service} invoke {function} (scoped to {source or 'account'})"]


def _role_allows(stack: Stack, role: str, action: str, resource: Any) -> bool:
    for statement in stack.role_statements(role):
        if _allows(statement, action) and any(
            r == resource or refers_to(r, target_of(resource) or "")
            for r in as_list(statement["Resource"])
        ):
            return True
    return False


def _trusts(stack: Stack, role: str, service: str, source_arn: str | None) -> bool:
    trust = list(statements(stack.props(role)["AssumeRolePolicyDocument"]))
    if source_arn is None:
        return any(
            _allows(s, "sts:AssumeRole") and service in as_list(s["Principal"].get("Service"))
            for s in trust
        )
    return admits_service(
        trust, service, "sts:AssumeRole", source_arn=source_arn, account_scoped=True
    )


def _firehose_problems(stack: Stack) -> list[str]:
    problems = []
    for name, props in stack.of_type("AWS::SES::ConfigurationSetEventDestination"):
        firehose = props["EventDestination"].get("KinesisFirehoseDestination")
        if firehose is None:
            continue
        role, stream = target_of(firehose["IAMRoleARN"]), target_of(firehose["DeliveryStreamARN"])
        assert role is not None and stream is not None
        if not _trusts(stack, role, "ses.amazonaws.com", "configuration-set/"):
            problems.append(f"{role} ({name}) does not trust SES of this configuration set")
        if not _role_allows(stack, role, "firehose:PutRecordBatch", firehose["DeliveryStreamARN"]):
            problems.append(f"{role} may not put records into {stream}")
        s3 = stack.props(stream)["ExtendedS3DestinationConfiguration"]
        writer = target_of(s3["RoleARN"])
        assert writer is not None
        if not _trusts(stack, writer, "firehose.amazonaws.com", None):
            problems.append(f"{writer} does not trust Firehose")
        for prefix_key in ("Prefix", "ErrorOutputPrefix"):
            prefix = _text(s3[prefix_key]).split("!{")[0]
            writable = [
                _text(r)
                for s in stack.role_statements(writer)
                if _allows(s, "s3:PutObject")
                for r in as_list(s["Resource"])
            ]
            if not any(w.endswith("/" + prefix + "*") for w in writable):
                problems.append(f"{writer} may not write {prefix_key} {prefix}")
    return problems


def _on_failure_problems(stack: Stack) -> list[str]:
    problems = []
    for _, props in stack.of_type("AWS::Lambda::EventInvokeConfig"):
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is None:
            continue
        function = target_of(props["FunctionName"])
        assert function is not None
        role = stack.function_role(function)
        if not _role_allows(stack, role, "sqs:SendMessage", destination):
            problems.append(
                f"{role} may not send {function}'s failures to {target_of(destination)}"
            )
    return problems


def _bucket_key_problems(stack: Stack) -> list[str]:
    """With KmsKeyArn, every role that reads or writes the lake bucket may use that key."""
    problems = []
    for name, _ in stack.of_type("AWS::IAM::Role"):
        touches_objects = any(
            _allows(s, "s3:GetObject") or _allows(s, "s3:PutObject")
            for s in stack.role_statements(name)
        )
        if not touches_objects:
            continue
        for action in ("kms:Decrypt", "kms:GenerateDataKey"):
            if not any(
                _allows(s, action) and {"Ref": "KmsKeyArn"} in as_list(s["Resource"])
                for s in stack.role_statements(name)
            ):
                problems.append(f"{name} reads or writes the lake but may not {action} KmsKeyArn")
    return problems


def _topic_problems(stack: Stack) -> list[str]:
    """SES publishing events, CloudWatch publishing alarms."""
    found: list[str] = []
    for _, props in stack.of_type("AWS::SES::ConfigurationSetEventDestination"):
        sns = props["EventDestination"].get("SnsDestination")
        if sns is not None:
            topic = target_of(sns["TopicARN"])
            assert topic is not None
            source = "configuration-set/${ConfigurationSetName}"
            found += _publishes_to_topic(stack, topic, "ses.amazonaws.com", source)
    alarm_topics = {
        target_of(action)
        for _, props in stack.of_type("AWS::CloudWatch::Alarm")
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions")
        for action in props.get(key, [])
    }
    for topic in sorted(t for t in alarm_topics if t):
        found += _publishes_to_topic(stack, topic, "cloudwatch.amazonaws.com", ":alarm:")
    return found


def _subscription_problems(stack: Stack) -> list[str]:
    """SNS to SQS and Lambda, EventBridge rules to their targets, S3 to Lambda."""
    found: list[str] = []
    for _, props in stack.of_type("AWS::SNS::Subscription"):
        topic, endpoint = target_of(props["TopicArn"]), target_of(props["Endpoint"])
        assert topic is not None and endpoint is not None
        if props["Protocol"] == "sqs":
            found += _sends_to_queue(stack, endpoint, "sns.amazonaws.com", topic)
        elif props["Protocol"] == "lambda":
            found += _invokes_function(stack, endpoint, "sns.amazonaws.com", topic)
    for rule, props in stack.of_type("AWS::Events::Rule"):
        for target in props.get("Targets", []):
            for arn in [target["Arn"], target.get("DeadLetterConfig", {}).get("Arn")]:
                logical = target_of(arn)
                kind = stack.resources.get(logical or "", {}).get("Type")
                if kind == "AWS::SQS::Queue":
                    assert logical is not None
                    found += _sends_to_queue(stack, logical, "events.amazonaws.com", rule)
                elif kind == "AWS::Lambda::Function":
                    assert logical is not None
                    found += _invokes_function(stack, logical, "events.amazonaws.com", rule)
    for _, props in stack.of_type("AWS::S3::Bucket"):
        for config in props.get("NotificationConfiguration", {}).get("LambdaConfigurations", []):
            function = target_of(config["Function"])
            assert function is not None
            found += _invokes_function(stack, function, "s3.amazonaws.com", None)
    return found


def problems(template: dict[str, Any]) -> list[str]:
    """What would be refused once deployed; empty when every delivery is admitted."""
    stack = Stack(template)
    return (
        _topic_problems(stack)
        + _subscription_problems(stack)
        + _firehose_problems(stack)
        + _on_failure_problems(stack)
        + _bucket_key_problems(stack)
    )
