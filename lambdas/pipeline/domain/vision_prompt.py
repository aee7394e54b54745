"""The vision branch's prompts: the task per profile and per modality, and the data blocks
for one asset (its file name, its companion text, a chunk of its text, partial analyses).

Apart from `vision_analysis`, which makes the calls, as fusion's prompt is (`fusion_prompt`).
Our own words are written in the clear; everything read from files, or from a model's answer
about them, goes inside the request's `DataFence` as data.
"""

from __future__ import annotations

from pipeline.domain.data_fence import DataFence
from pipeline.domain.structured_output import answer_instructions
from pipeline_contracts.vocabulary import Profile
from pipeline_contracts.work.vision import CompanionText, TextChunk, VisionAnalysis

PROFILE_FOCUS: dict[Profile, str] = {
    "general": "Describe the content faithfully for search and summarisation.",
    "catalog": "The item is a product listing: note product type, visible attributes "
    "(colour, material, size cues, brand marks) and listing-quality issues.",
    "moderation": "The item is being reviewed for policy: list anything unsafe, violent, "
    "sexual, hateful, self-harm related or illegal in safety_concerns, precisely.",
    "accessibility": "The output feeds alt text and captions: describe what a blind reader "
    "needs, including any text shown in the media, verbatim.",
    "education": "The item is teaching material: note the subject, concepts, diagrams and "
    "any text on slides or boards.",
}

RELATION_GUIDE: dict[str | None, str] = {
    "complementary": "COMPLEMENTARY: it adds information the media does not show (context, "
    "specifications). Combine both, but never claim the media shows something "
    "only the text states.",
    "redundant": "REDUNDANT: it describes the same content as the media (alt text, captions, "
    "a transcript). Use it to cross-check; in relation_to_text say where they "
    "agree and where they disagree.",
    None: "NOT DECLARED: decide whether it describes the same content or adds to it, and say "
    "which in relation_to_text.",
}


def system_prompt(
    profile: Profile,
    modality: str,
    companions: list[CompanionText],
    fence: DataFence,
    model_id: str,
) -> str:
    parts = [
        f"You analyse one {modality} from a multimodal item and report what it contains.",
        PROFILE_FOCUS[profile],
        "Fields: summary (one to three sentences), objects (things visible or discussed), "
        "text_in_media (text that appears in the media itself, verbatim, or null), tags "
        "(short keywords), safety_concerns (empty when there are none), relation_to_text "
        "(how any companion text relates to the media, or null when there is none).",
    ]
    if companions:
        guides = sorted({RELATION_GUIDE[companion.relation] for companion in companions})
        parts.append(
            "Companion text from the same item is provided. Its declared relation to the "
            "media is:\n- " + "\n- ".join(guides)
        )
    parts += [fence.rules, answer_instructions(VisionAnalysis, model_id)]
    return "\n\n".join(parts)


_ANSWER_LINE = "Answer in the form the system prompt asks for, and only that."


def media_prompt(path: str, companions: list[CompanionText], fence: DataFence) -> str:
    lines = [
        "Analyse the attached media. Its file name, as data:",
        fence.wrap("file name", path),
    ]
    for number, companion in enumerate(companions, start=1):
        relation = companion.relation or "not declared"
        note = " (truncated)" if companion.truncated else ""
        lines.append(f"Companion text {number}: role {companion.role}, relation {relation}{note}.")
        lines.append(fence.wrap(f"companion {number} ({companion.role})", companion.text))
    lines.append(_ANSWER_LINE)
    return "\n\n".join(lines)


def chunk_prompt(chunk: TextChunk, total: int, path: str, fence: DataFence) -> str:
    where = f"part {chunk.index + 1} of {total}" if total > 1 else "the whole text"
    return "\n\n".join(
        (
            f"Analyse this text document ({where}; characters {chunk.start}-{chunk.end}). "
            "Its file name, as data:",
            fence.wrap("file name", path),
            "The text, as data:",
            fence.wrap(f"document text {chunk.index + 1}/{total}", chunk.text),
            _ANSWER_LINE,
        )
    )


def merge_prompt(partials: list[str], chunk_count: int, fence: DataFence) -> str:
    coverage = (
        f"These {len(partials)} analyses cover {len(partials)} of the document's {chunk_count} "
        "parts, spread evenly; say in the summary that the analysis sampled the document."
        if len(partials) < chunk_count
        else f"These analyses cover all {chunk_count} parts of the document, in order."
    )
    blocks = [fence.wrap(f"partial analysis {n}", text) for n, text in enumerate(partials, 1)]
    return "\n\n".join(
        (
            "Merge the partial analyses of one long document into one analysis of the whole "
            "document: one summary, de-duplicated objects and tags, all safety concerns. "
            + coverage,
            *blocks,
            _ANSWER_LINE,
        )
    )
