"""template.yaml as data, and its resources stood up in moto from their own definitions.

`seslake demo`, `seslake invoke` and the tests build the stack's bucket, topic, queues,
subscription, Glue database and tables and Athena workgroup from the properties written in
template.yaml, so what runs locally is what `sam deploy` creates (the topics' KMS key
included). Only the intrinsic functions those properties use are resolved: Ref, Sub, GetAtt, If.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from .errors import TemplateError

#: The project files the stack on moto is made of: template.yaml, functions/ and events/, linked
#: into the package (and copied into its wheel), so an installed `seslake` has them too.
ROOT = Path(__file__).resolve().parent / "data"
TEMPLATE = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
STACK_NAME = "seslake"


_NO_VALUE = object()  # AWS::NoValue: the property is left out


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, !GetAtt ...) as their long form."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
        return {name: value}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml with short-form tags in their long form (`{"Fn::Sub": ...}`)."""
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506
    return loaded


def load_handler(name: str) -> ModuleType:
    """functions/<name>/app.py as a fresh module (each function is its own Lambda)."""
    path = ROOT / "functions" / name / "app.py"
    if not path.is_file():
        known = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())
        raise TemplateError(f"no function {name!r} (functions: {', '.join(known)})")
    spec = importlib.util.spec_from_file_location(f"seslake_function_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LocalContext:
    """The Lambda context a handler gets when it runs here."""

    def __init__(self, name: str = "seslake-local") -> None:
        self.function_name = name
        self.memory_limit_in_mb = 1024
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        self.aws_request_id = f"{name}-request"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    """os.environ with `values` set (None: unset) for the duration, then as it was."""
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def cloudformation_endpoint(received: list[dict[str, Any]]) -> Iterator[str]:
    """A local URL standing in for a custom resource's ResponseURL; responses PUT there are
    appended to `received`."""

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/cloudformation"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class LocalStack:
    """The stack's resources in moto: physical ids by logical id, and their attributes."""

    template: dict[str, Any]
    physical: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """A property value with Ref, Fn::Sub, Fn::GetAtt and Fn::If resolved."""
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return _NO_VALUE if value["Ref"] == "AWS::NoValue" else self._ref(value["Ref"])
        if set(value) == {"Fn::If"}:
            name, then, otherwise = value["Fn::If"]
            return self.resolve(then if self.condition(name) else otherwise)
        if set(value) == {"Fn::GetAtt"}:
            logical, attribute = value["Fn::GetAtt"]
            return self._get_att(logical, attribute)
        if set(value) == {"Fn::Sub"}:
            return self._sub(value["Fn::Sub"])
        unknown = [k for k in value if k.startswith("Fn::")]
        if unknown:
            raise TemplateError(f"cannot resolve {unknown[0]} locally")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> str:
        pseudo = {
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical:
            return self.physical[name]
        raise TemplateError(f"Ref {name}: not a parameter or a resource created locally")

    def _get_att(self, logical: str, attribute: str) -> str:
        try:
            return self.attributes[(logical, attribute)]
        except KeyError:
            raise TemplateError(f"GetAtt {logical}.{attribute} is not known locally") from None

    def _sub(self, spec: str | list[Any]) -> str:
        text, extra = (spec, {}) if isinstance(spec, str) else (spec[0], spec[1])

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(self.resolve(extra[name]))
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return self._get_att(logical, attribute)
            return self._ref(name)

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def properties(self, logical: str) -> dict[str, Any]:
        resolved: dict[str, Any] = self.resolve(
            self.template["Resources"][logical].get("Properties", {})
        )
        return resolved

    def condition(self, name: str) -> bool:
        """The value of a template condition for the parameters in use."""
        return self._truth(self.template.get("Conditions", {})[name])

    def _truth(self, spec: Any) -> bool:
        if isinstance(spec, dict) and "Condition" in spec:
            return self.condition(spec["Condition"])
        if isinstance(spec, dict) and "Fn::Equals" in spec:
            left, right = (self.resolve(v) for v in spec["Fn::Equals"])
            return bool(str(left) == str(right))
        if isinstance(spec, dict) and "Fn::Not" in spec:
            return not self._truth(spec["Fn::Not"][0])
        if isinstance(spec, dict) and "Fn::And" in spec:
            return all(self._truth(v) for v in spec["Fn::And"])
        if isinstance(spec, dict) and "Fn::Or" in spec:
            return any(self._truth(v) for v in spec["Fn::Or"])
        raise TemplateError(f"cannot evaluate condition {spec!r} locally")

    def of_type(self, kind: str) -> list[str]:
        """Logical ids of the resources of a type that this stack's conditions create."""
        return [
            n
            for n, r in self.template["Resources"].items()
            if r["Type"] == kind and ("Condition" not in r or self.condition(r["Condition"]))
        ]

    def function_environment(self, logical: str) -> dict[str, str]:
        """The environment a function gets: Globals merged with its own variables."""
        variables = dict(
            self.template.get("Globals", {})
            .get("Function", {})
            .get("Environment", {})
            .get("Variables", {})
        )
        own = self.template["Resources"][logical]["Properties"].get("Environment", {})
        variables.update(own.get("Variables", {}))
        return {k: str(self.resolve(v)) for k, v in variables.items()}


def stand_up(template: dict[str, Any] | None = None, session: Any = None) -> LocalStack:
    """Create the template's data resources in (moto-backed) AWS; call inside `mock_aws()`."""
    import boto3

    aws: Any = session or boto3.Session(region_name=REGION)
    stack = LocalStack(template or load_template())
    stack.parameters = {
        name: str(spec["Default"])
        for name, spec in stack.template.get("Parameters", {}).items()
        if "Default" in spec
    }
    s3, sns, sqs = aws.client("s3"), aws.client("sns"), aws.client("sqs")
    glue, athena = aws.client("glue"), aws.client("athena")
    for logical in stack.of_type("AWS::S3::Bucket"):
        name = stack.properties(logical)["BucketName"]
        s3.create_bucket(Bucket=name)
        stack.physical[logical] = name
        stack.attributes[(logical, "Arn")] = f"arn:aws:s3:::{name}"
    kms = aws.client("kms")
    for logical in stack.of_type("AWS::KMS::Key"):
        props = stack.properties(logical)
        key = kms.create_key(
            Description=props.get("Description", ""), Policy=json.dumps(props["KeyPolicy"])
        )["KeyMetadata"]
        stack.physical[logical] = key["KeyId"]
        stack.attributes[(logical, "Arn")] = key["Arn"]
    for logical in stack.of_type("AWS::SNS::Topic"):
        props = stack.properties(logical)
        encryption = (
            {"KmsMasterKeyId": props["KmsMasterKeyId"]} if "KmsMasterKeyId" in props else {}
        )
        arn = sns.create_topic(Name=props["TopicName"], Attributes=encryption)["TopicArn"]
        stack.physical[logical] = arn
        stack.attributes[(logical, "TopicArn")] = arn
    queues = stack.of_type("AWS::SQS::Queue")
    # Queues without a redrive policy (the dead-letter queues) first.
    queues.sort(key=lambda n: "RedrivePolicy" in stack.template["Resources"][n]["Properties"])
    for logical in queues:
        props = stack.properties(logical)
        attributes: dict[str, Any] = {
            "VisibilityTimeout": str(props.get("VisibilityTimeout", 30)),
            "MessageRetentionPeriod": str(props.get("MessageRetentionPeriod", 345600)),
        }
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        stack.physical[logical] = url
        stack.attributes[(logical, "Arn")] = arn
        stack.attributes[(logical, "QueueName")] = props["QueueName"]
    for logical in stack.of_type("AWS::SNS::Subscription"):
        props = stack.properties(logical)
        raw = str(props.get("RawMessageDelivery", False)).lower()
        arn = sns.subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes={"RawMessageDelivery": raw},
        )["SubscriptionArn"]
        stack.physical[logical] = arn
    for logical in stack.of_type("AWS::Glue::Database"):
        props = stack.properties(logical)
        glue.create_database(DatabaseInput=props["DatabaseInput"])
        stack.physical[logical] = props["DatabaseInput"]["Name"]
    for logical in stack.of_type("AWS::Glue::Table"):
        props = stack.properties(logical)
        glue.create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])
        stack.physical[logical] = props["TableInput"]["Name"]
    for logical in stack.of_type("AWS::Athena::WorkGroup"):
        props = stack.properties(logical)
        config = props.get("WorkGroupConfiguration", {})
        athena.create_work_group(
            Name=props["Name"],
            Configuration={"ResultConfiguration": config.get("ResultConfiguration", {})},
        )
        stack.physical[logical] = props["Name"]
    return stack
