"""A local run, in the order it happens: synthesize, emulate, ingest, pump the queue, collect.

Everything AWS-shaped runs inside one in-process moto (`mock_aws`), with the patches in
`moto_patches` and the stand-ins in `standins/`. The ingestion path runs as deployed:
S3 (EventBridge notifications) -> rule -> SQS buffer -> dispatcher Lambda -> executions.

- `runner`: `LocalRun`, the orchestrator that wires the pieces below together.
- `uploads`: which files become which objects in the ingest bucket.
- `lambda_host`: the real handlers, run in-process under each function's role and environment.
- `pump`: the event source mappings and the executions, polled until every item is done.
- `collect`: each item's execution and record, read back out of the emulated buckets.
- `report`: what a run reports (outcomes, counts, summary.json).
"""
