import random
from tests.unit.intake.samples import TEXTS

def test_fuzz(plan_object, images, media, documents, binaries):
    rng = random.Random(123)
    samples = {**images, **media, **TEXTS, **documents, **binaries}
    exts = [""]
    counts = {}
    for round_ in range(40):
        for name, body in samples.items():
            b = bytearray(body)
            op = rng.choice(["flip", "cut", "splice", "zero"])
            if op == "flip":
                for _ in range(rng.randint(1, 50)):
                    i = rng.randrange(len(b)); b[i] = rng.getrandbits(8)
            elif op == "cut":
                b = b[: rng.randrange(1, len(b) + 1)]
            elif op == "splice":
                other = rng.choice(list(samples.values()))
                i = rng.randrange(len(b)); b = b[:i] + other[: rng.randrange(1, len(other)+1)]
            else:
                i = rng.randrange(len(b)); j = min(len(b), i + rng.randint(1, 4000)); b[i:j] = bytes(j - i)
            ext = rng.choice(exts)
            plan = plan_object(f"incoming/{name}-{round_}{'.' + ext if ext else ''}", bytes(b))
            key = plan.rejection.code.value if plan.rejection else "OK"
            counts[key] = counts.get(key, 0) + 1
    print(counts)
