"""template.yaml as CloudFormation receives it, and the policy statements in it.

`translate` runs SAM's own transform (aws-sam-translator, the library `sam deploy` and
CloudFormation use), so tests see the roles, permissions and event source mappings SAM
generates, not only what template.yaml spells out.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

from seslake_cli.stack import ACCOUNT_ID, REGION, STACK_NAME, load_template

#: Every optional piece of the stack switched on, so every delivery path is in the template.
ALL_ON = {
    "EnableDirectSnsTrigger": "true",
    "CreateFirehoseStream": "true",
    "IngestEventBridge": "true",
    "AlarmEmail": "ops@example.com",
}


class _NoManagedPolicyNames:
    """The template names managed policies by ARN only, so no IAM lookup is needed."""

    def load(self) -> dict[str, str]:
        return {}


def translate(
    template: dict[str, Any] | None = None, parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """The CloudFormation template SAM's transform makes of template.yaml (code as if packaged)."""
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(template or load_template())
    for name, resource in sam["Resources"].items():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if key in properties:  # what `sam package` puts there
                properties[key] = f"s3://packaged-code/{name}.zip"
    values = {
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::StackName": STACK_NAME,
        **(parameters or {}),
    }
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)  # the transform asks boto3 for it too
    translated: dict[str, Any] = transform(sam, values, _NoManagedPolicyNames())
    return translated


def statements(
    document: Any, conditions: dict[str, bool] | None = None
) -> Iterator[dict[str, Any]]:
    """The statements of a policy document, with `Fn::If` statements resolved: by `conditions`
    where it names the condition, else both branches (whichever a deploy may choose)."""
    items = document.get("Statement", []) if isinstance(document, dict) else document
    for item in items if isinstance(items, list) else [items]:
        yield from _branches(item, conditions or {})


def _branches(item: Any, conditions: dict[str, bool]) -> Iterator[dict[str, Any]]:
    if isinstance(item, dict) and set(item) == {"Fn::If"}:
        name, then, otherwise = item["Fn::If"]
        chosen = (
            [then, otherwise]
            if name not in conditions
            else [then if conditions[name] else otherwise]
        )
        for branch in chosen:
            yield from _branches(branch, conditions)
    elif isinstance(item, dict) and item != {"Ref": "AWS::NoValue"}:
        yield item


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def refers_to(value: Any, logical: str) -> bool:
    """Whether a template value is a Ref or GetAtt of the resource `logical`."""
    if not isinstance(value, dict):
        return False
    if value.get("Ref") == logical:
        return True
    get_att = value.get("Fn::GetAtt")
    if isinstance(get_att, list) and get_att and get_att[0] == logical:
        return True
    if isinstance(get_att, str) and get_att.split(".")[0] == logical:
        return True
    sub = value.get("Fn::Sub")
    return isinstance(sub, str) and sub.startswith(("${" + logical + "}", "${" + logical + "."))


def target_of(value: Any) -> str | None:
    """The logical id a Ref or GetAtt names (None for anything else)."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att:
            return str(get_att[0])
    return None
