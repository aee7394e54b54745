"""The capacity ledger: what every execution has taken of the account's quotas (DynamoDB).

One table, shared by all executions, one item per quota:
- a slot pool (`slots#transcribe`, `slots#sagemaker#ml.m5.large`): a string set of holders
  and their count. Taking a slot is one conditional update (count below the limit, holder not
  in the set), so two executions can never both take the last slot; taking it again with the
  same holder is a no-op, so a retried task does not take two.
- a token bucket per model (`rate#bedrock#<model>`): requests and tokens left, and when they
  were last refilled. Taking is read, refill, conditional write on the version read
  (optimistic, on a version number): a lost race is read again, a few times, then reported
  as a short wait.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError

from pipeline.adapters.aws_errors import error_code, translated_aws_errors
from pipeline.domain.admission import Bucket, BucketLevel

_RACES_BEFORE_WAITING = 5


class DynamoDbCapacity:
    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self._table = (dynamodb or boto3.resource("dynamodb")).Table(table_name)

    # --- slots -----------------------------------------------------------------------------

    def take_slot(self, pool: str, holder: str, limit: int) -> bool:
        """True when `holder` holds a slot of `pool` (newly or already); False when full."""
        try:
            with translated_aws_errors("DynamoDB"):
                self._table.update_item(
                    Key={"quota": pool},
                    UpdateExpression="ADD holders :holder, in_use :one",
                    ConditionExpression=(
                        "(attribute_not_exists(in_use) OR in_use < :limit) "
                        "AND NOT contains(holders, :name)"
                    ),
                    ExpressionAttributeValues={
                        ":holder": {holder},
                        ":name": holder,
                        ":one": 1,
                        ":limit": limit,
                    },
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return holder in self.holders(pool)
        return True

    def release_slot(self, pool: str, holder: str) -> bool:
        """Give a slot back; False when `holder` held none (already released)."""
        try:
            with translated_aws_errors("DynamoDB"):
                self._table.update_item(
                    Key={"quota": pool},
                    UpdateExpression="DELETE holders :holder ADD in_use :minus_one",
                    ConditionExpression="contains(holders, :name)",
                    ExpressionAttributeValues={
                        ":holder": {holder},
                        ":name": holder,
                        ":minus_one": -1,
                    },
                )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def holders(self, pool: str) -> set[str]:
        with translated_aws_errors("DynamoDB"):
            item = self._table.get_item(
                Key={"quota": pool}, ConsistentRead=True, ProjectionExpression="holders"
            ).get("Item")
        return {str(name) for name in (item or {}).get("holders", set())}

    def pools(self) -> list[str]:
        """Every slot pool in the ledger (a handful: one per service and instance type)."""
        names: list[str] = []
        kwargs: dict[str, Any] = {"ProjectionExpression": "quota"}
        while True:
            with translated_aws_errors("DynamoDB"):
                page = self._table.scan(**kwargs)
            names.extend(str(item["quota"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [name for name in names if name.startswith("slots#")]

    # --- token buckets ---------------------------------------------------------------------

    def take_from_bucket(self, bucket: Bucket, now: float) -> float:
        """Take one request and `bucket.tokens` tokens; 0.0 when taken, else the seconds to
        wait before they can be (or a short wait when other executions kept winning races)."""
        for _ in range(_RACES_BEFORE_WAITING):
            with translated_aws_errors("DynamoDB"):
                item = self._table.get_item(Key={"quota": bucket.name}, ConsistentRead=True).get(
                    "Item"
                )
            level = (
                BucketLevel(
                    requests=float(item["requests"]),
                    tokens=float(item["tokens"]),
                    at=float(item["at"]),
                )
                if item
                else None
            )
            taken, wait = bucket.take(level, now)
            if taken is None:
                return wait
            version = int(item["version"]) if item else 0
            try:
                with translated_aws_errors("DynamoDB"):
                    self._table.put_item(
                        Item={
                            "quota": bucket.name,
                            "requests": Decimal(str(round(taken.requests, 6))),
                            "tokens": Decimal(str(round(taken.tokens, 3))),
                            "at": Decimal(str(round(taken.at, 6))),
                            "version": version + 1,
                        },
                        # On the version read, not the time: two callers can read at one instant.
                        ConditionExpression=(
                            "attribute_not_exists(quota)" if item is None else "#version = :read"
                        ),
                        **(
                            {}
                            if item is None
                            else {
                                "ExpressionAttributeNames": {"#version": "version"},
                                "ExpressionAttributeValues": {":read": version},
                            }
                        ),
                    )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                continue  # another execution took first: read the new level
            return 0.0
        return 1.0
