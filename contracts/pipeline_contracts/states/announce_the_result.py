""" "Announce the result" (events:putEvents) sends the `ItemProcessed` detail that "Write
results" returned; when EventBridge does not take it, "Keep the unsent announcement" keeps it.
The item is processed either way: its record is already written."""

from __future__ import annotations

from pipeline_contracts.records import ItemProcessed

AnnounceTheResultInput = ItemProcessed
