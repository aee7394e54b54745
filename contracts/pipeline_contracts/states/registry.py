"""Every state of the ASL that takes or gives a contract, with its input and output.

The recorded-execution test validates each state's recorded input and output against these,
and the infrastructure test checks that every Task, Map and Parallel state of the synthesized
definition is listed. For a Lambda task the input is its payload and the output its answer;
for a Map or Parallel state, what its iterations or branches return.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from pipeline_contracts.states import (
    analyze_each_visual_asset,
    analyze_with_bedrock,
    announce_the_result,
    check_alignment_quality,
    check_final_quality,
    check_intake,
    check_the_job_once_more,
    check_transcript_quality,
    check_vision_output,
    extract_audio_track,
    find_the_files_manifest,
    fuse_modalities,
    index_for_search,
    keep_the_unsent_announcement,
    look_again_for_the_files_manifest,
    prepare_media_for_the_model,
    process_modalities,
    quarantine_item,
    record_failure,
    reserve_an_alignment_instance,
    run_alignment_job,
    send_to_dead_letter_queue,
    transcribe_audio,
    transcribe_each_audio_asset,
    write_results,
)


@dataclass(frozen=True)
class StateContract:
    """`input`/`output` are None where AWS defines the shape (a service's own request or
    response) rather than the pipeline."""

    input: Any
    output: Any

    def validate_input(self, value: object) -> None:
        if self.input is not None:
            TypeAdapter(self.input).validate_python(value)

    def validate_output(self, value: object) -> None:
        if self.output is not None:
            TypeAdapter(self.output).validate_python(value)


CONTRACTS: dict[str, StateContract] = {
    "Find the file's manifest": StateContract(
        find_the_files_manifest.FindManifestInput, find_the_files_manifest.FindManifestOutput
    ),
    "Look again for the file's manifest": StateContract(
        look_again_for_the_files_manifest.LookAgainInput,
        look_again_for_the_files_manifest.LookAgainOutput,
    ),
    "Check intake": StateContract(check_intake.CheckIntakeInput, check_intake.CheckIntakeOutput),
    "Quarantine item": StateContract(
        quarantine_item.QuarantineItemInput, quarantine_item.QuarantineItemOutput
    ),
    "Process modalities": StateContract(
        process_modalities.ProcessModalitiesInput, process_modalities.ProcessModalitiesOutput
    ),
    "Transcribe each audio asset": StateContract(
        transcribe_each_audio_asset.AudioIteration,
        transcribe_each_audio_asset.TranscribeEachAudioAssetOutput,
    ),
    "Extract audio track": StateContract(
        extract_audio_track.ExtractAudioTrackInput, extract_audio_track.ExtractAudioTrackOutput
    ),
    "Transcribe audio": StateContract(
        transcribe_audio.TranscribeAudioInput, transcribe_audio.TranscribeAudioOutput
    ),
    "Check the job once more": StateContract(
        check_the_job_once_more.CheckJobOnceMoreInput,
        check_the_job_once_more.CheckJobOnceMoreOutput,
    ),
    "Check transcript quality": StateContract(
        check_transcript_quality.CheckTranscriptQualityInput,
        check_transcript_quality.CheckTranscriptQualityOutput,
    ),
    "Analyze each visual asset": StateContract(
        analyze_each_visual_asset.VisionIteration,
        analyze_each_visual_asset.AnalyzeEachVisualAssetOutput,
    ),
    "Prepare media for the model": StateContract(
        prepare_media_for_the_model.PrepareMediaInput,
        prepare_media_for_the_model.PrepareMediaOutput,
    ),
    "Analyze with Bedrock": StateContract(
        analyze_with_bedrock.AnalyzeWithBedrockInput, analyze_with_bedrock.AnalyzeWithBedrockOutput
    ),
    "Check vision output": StateContract(
        check_vision_output.CheckVisionOutputInput, check_vision_output.CheckVisionOutputOutput
    ),
    # The request is SageMaker's CreateProcessingJob; the pipeline's part is the ResultSelector.
    "Reserve an alignment instance": StateContract(
        reserve_an_alignment_instance.ReserveAlignmentInstanceInput,
        reserve_an_alignment_instance.ReserveAlignmentInstanceOutput,
    ),
    "Run alignment job": StateContract(None, run_alignment_job.RunAlignmentJobOutput),
    "Check alignment quality": StateContract(
        check_alignment_quality.CheckAlignmentQualityInput,
        check_alignment_quality.CheckAlignmentQualityOutput,
    ),
    "Fuse modalities": StateContract(
        fuse_modalities.FuseModalitiesInput, fuse_modalities.FuseModalitiesOutput
    ),
    "Check final quality": StateContract(
        check_final_quality.CheckFinalQualityInput, check_final_quality.CheckFinalQualityOutput
    ),
    "Index for search": StateContract(
        index_for_search.IndexForSearchInput, index_for_search.IndexForSearchOutput
    ),
    "Write results": StateContract(
        write_results.WriteResultsInput, write_results.WriteResultsOutput
    ),
    # EventBridge's PutEvents and SQS's SendMessage: their requests carry our message bodies.
    "Announce the result": StateContract(announce_the_result.AnnounceTheResultInput, None),
    "Keep the unsent announcement": StateContract(
        keep_the_unsent_announcement.UnsentAnnouncement, None
    ),
    "Record failure": StateContract(
        record_failure.RecordFailureInput, record_failure.RecordFailureOutput
    ),
    "Send to dead-letter queue": StateContract(
        send_to_dead_letter_queue.SendToDeadLetterQueueInput, None
    ),
}
