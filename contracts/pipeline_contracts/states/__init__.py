"""One module per state of the ASL (statemachines/pipeline.asl.json) that does work, named
after it, each defining that state's input and output; `registry.py` maps every state name to
them. Choice, Wait, Succeed and Fail states route and carry no contract of their own.

In ASL order:
  Find the file's manifest                  -> find_the_files_manifest.py
  Look again for the file's manifest        -> look_again_for_the_files_manifest.py
  Check intake                              -> check_intake.py
  Quarantine item                           -> quarantine_item.py
  Process modalities (Parallel)             -> process_modalities.py
    Transcribe each audio asset (Map)       -> transcribe_each_audio_asset.py
      Extract audio track                   -> extract_audio_track.py
      Transcribe audio                      -> transcribe_audio.py
      Check the job once more               -> check_the_job_once_more.py
      Check transcript quality              -> check_transcript_quality.py
    Analyze each visual asset (Map)         -> analyze_each_visual_asset.py
      Prepare media for the model           -> prepare_media_for_the_model.py
      Analyze with Bedrock                  -> analyze_with_bedrock.py
      Check vision output                   -> check_vision_output.py
  Reserve an alignment instance             -> reserve_an_alignment_instance.py
  Run alignment job                         -> run_alignment_job.py
  Check alignment quality                   -> check_alignment_quality.py
  Fuse modalities                           -> fuse_modalities.py
  Check final quality                       -> check_final_quality.py
  Write results                             -> write_results.py
  Announce the result                       -> announce_the_result.py
  Keep the unsent announcement              -> keep_the_unsent_announcement.py
  Record failure                            -> record_failure.py
  Send to dead-letter queue                 -> send_to_dead_letter_queue.py
The Pass states that end a failed asset ("Audio asset failed", "Visual asset failed") give an
`outcomes.AssetFailure`, the Map states' outputs list (their own modules say so).
"""
