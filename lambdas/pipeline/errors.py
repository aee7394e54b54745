"""Typed exceptions: their class names are the contract with the state machine.

Step Functions matches `Retry` and `Catch` on the error name, which for a Lambda is the
exception's class name. Never rename one without changing statemachines/pipeline.asl.json.

- Waiting for capacity (retried with backoff and jitter for hours): CapacityUnavailable (the
  pipeline's own admission control said wait), ServiceThrottled (a service said so anyway).
- Transient (retried a few times, quickly): ServiceUnavailable; VocabularyPending (retried
  every 20-60 s, a dozen times).
- Permanent (caught, never retried): everything else here, AccessDenied included.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class; not raised directly."""


class ServiceThrottled(PipelineError):
    """An AWS service throttled the call. Retried."""


class CapacityUnavailable(PipelineError):
    """Admission control: the quota this call spends is in use by other items. Retried with
    backoff for hours (the ASL's capacity retrier), so a burst is slower, never degraded."""


class ServiceUnavailable(PipelineError):
    """A transient service fault (5xx, timeout). Retried."""


class VocabularyPending(PipelineError):
    """A custom Transcribe vocabulary is still being built. Retried on its own schedule."""


class AccessDenied(PipelineError):
    """IAM (or an organization's SCP) refused a call. Not retried: the same role is refused
    the same way. The message names the action and the resource, as AWS words it."""


class ModelOutputInvalid(PipelineError):
    """The model's answer did not validate, even after the repair attempt. Not retried."""


class TranscriptionFailed(PipelineError):
    """Transcribe reported the job FAILED. Not retried: the same media fails the same way."""


class TranscriptionTimedOut(PipelineError):
    """The job had not finished when the item's transcribe timeout passed (checked once, in
    case only its completion event was lost). Not retried: the asset ends failed."""


class AlignmentFailed(PipelineError):
    """The alignment job's output is missing or unreadable. Not retried."""


class ResultWriteFailed(PipelineError):
    """Results could not be validated for publication. Not retried."""


class MediaNotPreparable(PipelineError):
    """The asset cannot be put into a form the model accepts (too large, undecodable).

    Not retried: the same bytes fail the same way. The vision branch records it and the
    item continues degraded.
    """


class AssetNotInPlan(PipelineError):
    """A Map iteration names an asset its item's plan does not list. Not retried: the plan is
    written once, before any iteration starts; the asset's iteration fails, the others go on."""


class ThresholdsInvalid(PipelineError):
    """The SSM thresholds are missing or do not validate. Not retried: an operator must fix them."""


# The contract, as the state machine must honour it (tests/infrastructure/test_error_contract):
# waiting for capacity is retried by every Lambda task for hours (with Lambda's own
# throttling); transient errors by every Lambda task, a few times; VocabularyPending by the
# task that starts transcription, on its own schedule; everything else is caught, never retried.
CAPACITY_ERRORS = (
    CapacityUnavailable.__name__,
    ServiceThrottled.__name__,
    "Lambda.TooManyRequestsException",
)
TRANSIENT_ERRORS = (ServiceUnavailable.__name__,)
RETRIED_ON_THEIR_OWN_SCHEDULE = {VocabularyPending.__name__: "Transcribe audio"}
