"""A function's handler run with its own IAM role, as Lambda runs it, with moto enforcing IAM.

`function_role` takes the role SAM's transform generates for a function (its inline policies
and managed policies, intrinsics resolved against the stack stood up in moto), creates it in
moto's IAM, assumes it, and switches on moto's IAM access control: every AWS call the handler
makes is then signed with the role's credentials and refused unless a policy allows it.

What moto checks, and what this adds: moto evaluates a policy's actions for every service, and
its resources for S3 and SQS. Glue and Athena requests reach it with no resource, so a
statement naming a table or a workgroup would never match; `_GLUE_RESOURCE` and
`_athena_resource` name the resource each request acts on, as AWS's service authorization
reference does (a Glue table request checks the table's ARN; AWS also checks the catalog and
database ARNs, which tests/test_template.py reads statically). Conditions (s3:prefix,
kms:ViaService) are not evaluated by moto; tests/test_deliveries.py and the template tests
read them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from seslake_cli.stack import ACCOUNT_ID, REGION, LocalStack, environment
from tests.cfn import target_of, translate

#: moto's configuration for these tests: the AWS managed policies exist, as in an account.
MOTO_CONFIG: Any = {"iam": {"load_aws_managed_policies": True}}

#: Glue actions and the request fields that name what they act on.
_GLUE_RESOURCE = {
    "GetDatabase": ("Name", None),
    "GetTables": ("DatabaseName", None),
    "GetTable": ("DatabaseName", "Name"),
    "CreateTable": ("DatabaseName", "TableInput.Name"),
    "UpdateTable": ("DatabaseName", "TableInput.Name"),
    "DeleteTable": ("DatabaseName", "Name"),
}


def _field(body: dict[str, Any], path: str) -> str:
    value: Any = body
    for part in path.split("."):
        value = value.get(part, {}) if isinstance(value, dict) else {}
    return str(value)


def _glue_resource(response: Any) -> str:
    body = json.loads(response.body or "{}")
    database_field, table_field = _GLUE_RESOURCE.get(response._get_action(), (None, None))
    prefix = f"arn:aws:glue:{REGION}:{ACCOUNT_ID}"
    if database_field is None:
        return f"{prefix}:catalog"
    database = _field(body, database_field)
    if table_field is None:
        return f"{prefix}:database/{database}"
    return f"{prefix}:table/{database}/{_field(body, table_field)}"


def _athena_resource(response: Any) -> str:
    body = json.loads(response.body or "{}")
    workgroup = body.get("WorkGroup")
    if workgroup is None and "QueryExecutionId" in body:
        execution = response.athena_backend.executions.get(body["QueryExecutionId"])
        workgroup = execution.workgroup.name if execution and execution.workgroup else None
    return f"arn:aws:athena:{REGION}:{ACCOUNT_ID}:workgroup/{workgroup or 'primary'}"


def _deleted_keys(body: bytes) -> list[str]:
    import xmltodict

    objects = xmltodict.parse(body)["Delete"].get("Object", [])
    return [o["Key"] for o in (objects if isinstance(objects, list) else [objects])]


@contextmanager
def _resources_named() -> Iterator[None]:
    """Glue and Athena requests carry the resource they act on into moto's policy check, and a
    multi-object delete is authorized key by key: moto checks it against the bucket's ARN,
    AWS checks s3:DeleteObject on each key
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html)."""
    from moto.athena.responses import AthenaResponse
    from moto.glue.responses import GlueResponse
    from moto.iam.access_control import S3IAMRequest

    check_s3 = S3IAMRequest.check_action_permitted

    def check_each_key(request: Any, resource: str) -> None:
        bucket_only = "/" not in resource.split(":::", 1)[-1]
        if request._action == "s3:DeleteObject" and bucket_only and request._body:
            for key in _deleted_keys(request._body):
                check_s3(request, f"{resource}/{key}")
            return
        check_s3(request, resource)

    patched = [(GlueResponse, _glue_resource), (AthenaResponse, _athena_resource)]
    for cls, resolver in patched:
        cls._determine_resource = resolver  # type: ignore[attr-defined]
    S3IAMRequest.check_action_permitted = check_each_key  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        for cls, _ in patched:
            del cls._determine_resource  # type: ignore[attr-defined]
        S3IAMRequest.check_action_permitted = check_s3  # type: ignore[method-assign]


def role_of(stack: LocalStack, function: str) -> dict[str, Any]:
    """The IAM role SAM generates for `function`, with its policies resolved for this stack."""
    translated = translate(stack.template, stack.parameters)
    resources = translated["Resources"]
    role_name = target_of(resources[function]["Properties"]["Role"])
    assert role_name is not None
    properties = resources[role_name]["Properties"]
    resolved: dict[str, Any] = stack.resolve(
        {
            "AssumeRolePolicyDocument": properties["AssumeRolePolicyDocument"],
            "ManagedPolicyArns": properties.get("ManagedPolicyArns", []),
            "Policies": properties.get("Policies", []),
        }
    )
    resolved["RoleName"] = role_name
    return resolved


@contextmanager
def function_role(
    stack: LocalStack,
    function: str,
    edit: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Inside: boto3 signs with `function`'s role and moto refuses what the role does not allow.

    `edit` may change the resolved role (its "Policies") before it is created, to show a
    statement is needed. Set up data before entering: inside, the test's own calls are refused
    too unless the role allows them. Needs moto started with `MOTO_CONFIG` (AWS managed
    policies loaded: SAM attaches AWSLambdaBasicExecutionRole and others by ARN).
    """
    from moto.core.authorization import enable_iam_authentication

    role = role_of(stack, function)
    if edit is not None:
        edit(role)
    credentials = _create_and_assume(role, function)
    as_role = {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
    # boto3's default session caches the credentials it first found: start a fresh one.
    boto3.DEFAULT_SESSION = None
    try:
        with environment(dict(as_role)), _resources_named(), enable_iam_authentication():
            yield role
    finally:
        boto3.DEFAULT_SESSION = None


def _create_and_assume(role: dict[str, Any], session_name: str) -> dict[str, Any]:
    iam, sts = boto3.client("iam"), boto3.client("sts")
    arn = iam.create_role(
        RoleName=role["RoleName"],
        AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]),
    )["Role"]["Arn"]
    for policy in role["Policies"]:
        # SAM writes its own policies (the on-failure destination's) without a Version, which
        # AWS reads as 2008-10-17 and moto refuses; nothing in them depends on the version.
        document = {"Version": "2012-10-17", **policy["PolicyDocument"]}
        iam.put_role_policy(
            RoleName=role["RoleName"],
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(document),
        )
    for managed in role["ManagedPolicyArns"]:
        iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=managed)
    credentials: dict[str, Any] = sts.assume_role(RoleArn=arn, RoleSessionName=session_name)[
        "Credentials"
    ]
    return credentials


def without(role: dict[str, Any], action: str) -> None:
    """Drop, from the role's own inline policies, every statement that allows `action` (and
    a policy left with none)."""
    for policy in role["Policies"]:
        statements = policy["PolicyDocument"]["Statement"]
        policy["PolicyDocument"]["Statement"] = [
            s for s in statements if action not in json.dumps(s.get("Action"))
        ]
    role["Policies"] = [p for p in role["Policies"] if p["PolicyDocument"]["Statement"]]
