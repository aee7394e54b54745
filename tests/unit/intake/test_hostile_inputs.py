"""Damaged and hostile bytes end in a plan (accepted or quarantined), never in a crash."""

from __future__ import annotations

import random

from pipeline.models.item import RejectionCode
from tests.unit.intake.samples import TEXTS


def _mutate(body: bytes, rng: random.Random, donor: bytes) -> bytes:
    data = bytearray(body)
    operation = rng.choice(["flip", "cut", "splice", "zero"])
    if operation == "flip":
        for _ in range(rng.randint(1, 50)):
            data[rng.randrange(len(data))] = rng.getrandbits(8)
    elif operation == "cut":
        data = data[: rng.randrange(1, len(data) + 1)]
    elif operation == "splice":
        data = data[: rng.randrange(len(data))] + donor[: rng.randrange(1, len(donor) + 1)]
    else:
        start = rng.randrange(len(data))
        end = min(len(data), start + rng.randint(1, 4000))
        data[start:end] = bytes(end - start)
    return bytes(data)


def test_mutated_files_are_planned_not_crashed(plan_object, images, media, documents, binaries):
    # Given every sample, damaged in a few seeded ways (bit flips, cuts, splices, zeroed runs)
    rng = random.Random(20260101)
    samples = {**images, **media, **TEXTS, **documents, **binaries}
    bodies = list(samples.values())
    outcomes: set[str] = set()
    for round_number in range(3):
        for name, body in samples.items():
            damaged = _mutate(body, rng, rng.choice(bodies))
            # When the gate plans the damaged file (no extension: the content decides)
            plan = plan_object(f"incoming/{name}-{round_number}", damaged)
            # Then it ends in a plan: accepted, or rejected with a code and a sentence
            assert plan.accepted == (plan.rejection is None)
            if plan.rejection is not None:
                assert plan.rejection.message.strip()
                outcomes.add(plan.rejection.code.value)
    # And the damage is mostly recognised as such
    assert RejectionCode.CORRUPT_MEDIA.value in outcomes
