"""Search: everything processed, findable by words or by an image.

- An S3 Vectors bucket and index (serverless: nothing to pay while nobody searches), named by
  the embedding model and dimension, cosine distance, with the long metadata (snippet,
  locations) non-filterable. Encrypted with the stack's key.
- The search ledger (DynamoDB): the embedding cache and which item holds which vectors
  (lambdas/pipeline/adapters/search_ledger.py).
- "Index for search" (IndexForSearch), the state just before "Write results".
- The search function applications invoke (IAM-authorized: lambda:InvokeFunction), which
  `mmpipe search --stack` calls too.
- ForgetVectors: an item that ends without a result, or whose result is deleted, leaves the
  index (rules on execution endings and on the processed bucket's "Object Deleted").
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3vectors as s3vectors
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from pipeline.config import EMBEDDING_DIMENSIONS
from pipeline_contracts.naming import RESULTS_PREFIX, WORK_PREFIX
from pipeline_contracts.search import NON_FILTERABLE_KEYS
from stacks.constructs.encrypted import encrypted_table
from stacks.constructs.execution_endings import execution_endings_rule
from stacks.constructs.grants import (
    grant_item_access,
    grant_missing_object_checks,
    grant_object_read,
)
from stacks.constructs.pipeline_function import PipelineFunction, TaskFunctions

# The source of the pipeline's own events (the ASL's "Announce the result").
ITEM_EVENTS_SOURCE = "multimodal-pipeline"
# The embedding cache (BatchGetItem, PutItem) and the vector ledger (GetItem; PutItem of an
# item's count; UpdateItem: the conditional claim of an object and its pending removals;
# DeleteItem).
INDEXER_LEDGER_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
FORGETTER_LEDGER_ACTIONS = ("dynamodb:GetItem", "dynamodb:DeleteItem")


class Search(TaskFunctions):
    # Built by forget_items_of(), once the state machine exists.
    forgetter: PipelineFunction

    def _build(self) -> None:
        settings = self._config.search
        assert settings.dimension in EMBEDDING_DIMENSIONS[settings.embedding_model]
        key = self._storage.key
        self.vector_bucket = s3vectors.CfnVectorBucket(
            self,
            "VectorBucket",
            encryption_configuration=s3vectors.CfnVectorBucket.EncryptionConfigurationProperty(
                sse_type="aws:kms", kms_key_arn=key.key_arn
            ),
        )
        self.index = s3vectors.CfnIndex(
            self,
            "Index",
            vector_bucket_arn=self.vector_bucket.attr_vector_bucket_arn,
            index_name=settings.index_name,
            data_type="float32",
            dimension=settings.dimension,
            distance_metric="cosine",
            metadata_configuration=s3vectors.CfnIndex.MetadataConfigurationProperty(
                non_filterable_metadata_keys=list(NON_FILTERABLE_KEYS)
            ),
        )
        # S3 Vectors reads the key to encrypt and decrypt vectors on the callers' behalf.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("indexing.s3vectors.amazonaws.com")],
                actions=["kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                    "ForAnyValue:StringEquals": {
                        "kms:EncryptionContextKeys": ["aws:s3vectors:arn"]
                    },
                },
            )
        )
        self.ledger = encrypted_table(self, "Ledger", key, "key")
        self.indexer = self._build_indexer()
        self.search_function = self._build_search_function()

    @property
    def tasks(self) -> list[PipelineFunction]:
        return [self.indexer]

    @property
    def index_arn(self) -> str:
        return self.index.attr_index_arn

    def _index_environment(self, function: PipelineFunction) -> None:
        # The bucket's name is the last part of its ARN ("...:bucket/<name>").
        bucket_name = (
            Stack.of(self)
            .split_arn(self.vector_bucket.attr_vector_bucket_arn, ArnFormat.SLASH_RESOURCE_NAME)
            .resource_name
        )
        function.add_environment("VECTOR_BUCKET_NAME", str(bucket_name))
        function.add_environment("VECTOR_INDEX_NAME", self._config.search.index_name)

    def _grant_index(self, function: PipelineFunction, actions: list[str]) -> None:
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=actions, resources=[self.index_arn])
        )

    def _grant_embedding_model(self, function: PipelineFunction) -> None:
        stack = Stack.of(self)
        model = self._config.search.embedding_model
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[
                    f"arn:{stack.partition}:bedrock:{stack.region}::foundation-model/{model}"
                ],
            )
        )

    def _build_indexer(self) -> PipelineFunction:
        indexer = self._task(
            "IndexForSearch",
            "index_for_search",
            "Embeds a finished item's pieces (cache first) into the S3 Vectors index",
            # It waits on Bedrock and S3 Vectors, holding one item's pieces (a few MB).
            memory_mb=512,
            # 400 pieces at Bedrock's pace take a minute or two; a timeout leaves the item
            # degraded and its vectors are removed (the IndexingFailed rule).
            timeout=Duration.minutes(10),
        )
        storage, key = self._storage, self._storage.key
        self._index_environment(indexer)
        indexer.add_environment("SEARCH_TABLE", self.ledger.table_name)
        # Prepared images, text chunks, branch results, keyframes, the plan and fusion's draft.
        grant_object_read(indexer.role, storage.processed, WORK_PREFIX, key)
        grant_missing_object_checks(indexer.role, storage.processed)
        # Captions files are read from the upload itself (an exact version).
        grant_object_read(
            indexer.role, storage.ingest, self._config.ingest_prefix, key, versions=True
        )
        grant_missing_object_checks(indexer.role, storage.ingest)
        grant_item_access(self.ledger, indexer.role, key, INDEXER_LEDGER_ACTIONS)
        self._grant_index(
            indexer, ["s3vectors:PutVectors", "s3vectors:DeleteVectors", "s3vectors:GetIndex"]
        )
        self._grant_embedding_model(indexer)
        return indexer

    def _build_search_function(self) -> PipelineFunction:
        function = PipelineFunction(
            self,
            "SearchFunction",
            handler="search",
            description="Finds processed items by words or by an image (S3 Vectors)",
            shared=self._shared,
            key=self._storage.key,
            config=self._config,
            memory_mb=512,
            timeout=Duration.seconds(30),
        )
        self._index_environment(function)
        # QueryVectors with a filter or returned metadata needs GetVectors too.
        self._grant_index(
            function, ["s3vectors:QueryVectors", "s3vectors:GetVectors", "s3vectors:GetIndex"]
        )
        self._grant_embedding_model(function)
        return function

    def forget_items_of(
        self, state_machine: sfn.IStateMachine, *, dead_letter_queue: sqs.IQueue
    ) -> None:
        """An item whose execution ends without a result, or whose result is deleted, leaves
        the index."""
        self.forgetter = PipelineFunction(
            self,
            "ForgetVectors",
            handler="forget_search_vectors",
            description="Removes from the search index the vectors of items without a result",
            shared=self._shared,
            key=self._storage.key,
            config=self._config,
            memory_mb=256,
        )
        self._index_environment(self.forgetter)
        self.forgetter.add_environment("SEARCH_TABLE", self.ledger.table_name)
        grant_item_access(
            self.ledger, self.forgetter.role, self._storage.key, FORGETTER_LEDGER_ACTIONS
        )
        self._grant_index(self.forgetter, ["s3vectors:DeleteVectors"])
        self.failed_rule = execution_endings_rule(
            self,
            "ItemEndedWithoutResult",
            state_machine=state_machine,
            statuses=["FAILED", "TIMED_OUT", "ABORTED"],
            target=self.forgetter,
            dead_letter_queue=dead_letter_queue,
            description="Executions that ended without a result: their vectors leave the index",
        )
        processed = self._storage.processed
        self.search_failed_rule = events.Rule(
            self,
            "IndexingFailed",
            description="Items whose indexing failed (degraded, branch search): no vectors left",
            event_pattern=events.EventPattern(
                source=[ITEM_EVENTS_SOURCE],
                detail_type=["ItemProcessed"],
                detail={"degraded_branches": ["search"]},
            ),
            targets=[self.forgetter.event_target(dead_letter_queue)],
        )
        # A deleted result: its item leaves the index, unless a current version remains.
        grant_object_read(self.forgetter.role, processed, RESULTS_PREFIX, self._storage.key)
        grant_missing_object_checks(self.forgetter.role, processed)
        self.deleted_rule = events.Rule(
            self,
            "ResultDeleted",
            description="A result deleted from the processed bucket: its vectors leave the index",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Deleted"],
                detail={
                    "bucket": {"name": [processed.bucket_name]},
                    "object": {"key": [{"prefix": RESULTS_PREFIX}]},
                },
            ),
            targets=[self.forgetter.event_target(dead_letter_queue)],
        )
