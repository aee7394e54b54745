"""Every shape that crosses a boundary of the Multimodal Pipeline, defined once.

Pure pydantic, installed as one wheel wherever a boundary is crossed: the Lambda layer, the
alignment job's wheelhouse, the local mode and the tests. Where a shape is, by what it is:

- `states/`: one module per state of the ASL, named after it, with its input and output
  (`states/__init__.py` lists them in ASL order; `states/registry.py` maps state names).
- `item.py`: the execution input, the intake's plan (also the alignment job's input), the
  summary the state carries. `manifest.py`: what a bundle's manifest.json may say.
- `work/`: the files one step writes to S3 for another: transcripts, the model's replies and
  vision results, the alignment job's report and its summary, fusion's draft.
- `records.py`: the published records, the ItemProcessed event, the dead-letter message.
- `events.py`: the AWS events that start work outside the state machine's tasks.
- `outcomes.py`: gate verdicts and failures, shared by the above. `vocabulary.py`: the small
  closed sets (modalities, profiles...). `naming.py`: bucket prefixes, work-file keys and the
  `mmp-` names the code writes and the stack grants.
"""
