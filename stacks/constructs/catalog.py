"""A Glue database and table over results/, so Athena can query every ItemResult.

Results are written one JSON object per line under results/dt=YYYY-MM-DD/; partition
projection means no crawler and no MSCK REPAIR: new days are queryable at once.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_s3 as s3
from constructs import Construct

COLUMNS = [
    ("schema_version", "string"),
    ("item_id", "string"),
    ("status", "string"),
    ("degraded_branches", "array<string>"),
    ("kind", "string"),
    ("source", "struct<bucket:string,key:string,version_id:string>"),
    ("execution_arn", "string"),
    ("profile", "string"),
    ("modalities", "array<string>"),
    (
        "gates",
        "array<struct<name:string,passed:boolean,score:double,threshold:double,reason:string>>",
    ),
    (
        "fused",
        "struct<profile:string,provider:string,model_id:string,title:string,summary:string,"
        "key_points:array<string>,consistency:string>",
    ),
    ("derived_files", "map<string,string>"),
    ("model_ids", "array<string>"),
    (
        "timings",
        "struct<received_at:string,started_at:string,finished_at:string,duration_s:double>",
    ),
]


class ResultsCatalog(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, processed_bucket: s3.IBucket
    ) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                description="Multimodal Pipeline results"
            ),
        )
        location = f"s3://{processed_bucket.bucket_name}/results/"
        self.table = glue.CfnTable(
            self,
            "ItemResults",
            catalog_id=account,
            database_name=self.database.ref,
            table_input=glue.CfnTable.TableInputProperty(
                name="item_results",
                description="One row per processed or degraded item (ItemResult v1)",
                table_type="EXTERNAL_TABLE",
                parameters={
                    "classification": "json",
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": "2024-01-01,NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    "storage.location.template": location + "dt=${dt}/",
                },
                partition_keys=[glue.CfnTable.ColumnProperty(name="dt", type="string")],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"ignore.malformed.json": "false"},
                    ),
                    columns=[
                        glue.CfnTable.ColumnProperty(name=name, type=kind) for name, kind in COLUMNS
                    ],
                ),
            ),
        )
