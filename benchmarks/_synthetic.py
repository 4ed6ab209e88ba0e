"""Synthetic short survey answers from templates: fast, deterministic, varied enough
that texts rarely repeat (used by bench_ray.py and bench_million.py)."""

from __future__ import annotations

import random

_OPENERS = ["Honestly,", "For me,", "In our village,", "Most days", "Since last year", "As a mother,", "At the clinic",
            "When I was pregnant", "My husband says", "Our neighbours think", "To be fair,", "Sometimes", "Usually",
            "In the rainy season", "After the training", "Before the programme"]
_SUBJECTS = ["the bus fare", "the nurse", "the waiting time", "food at home", "the radio messages", "my mother-in-law",
             "the health worker", "school fees", "the market price of maize", "clean water", "the new clinic",
             "the community meeting", "our savings group", "the vaccination day", "the growth card", "the pharmacy"]
_VERBS = ["makes it hard to", "helps us", "stops us from being able to", "reminds me to", "costs too much to",
          "is the reason we", "does not let us", "encourages families to", "takes time away from", "makes it easier to"]
_ACTS = ["follow the feeding advice", "visit the clinic", "buy vegetables", "breastfeed longer", "keep the baby healthy",
         "save money", "trust the advice", "cook enough food", "travel to town", "ask questions", "weigh the child",
         "share meals", "plant a garden", "attend the sessions", "take the medicine", "rest after birth"]
_TAILS = ["", " every week.", " when money is short.", " because of the distance.", " and that worries me.",
          " which my family appreciates.", ", I think.", " during the dry months.", " unless someone helps.",
          " more than before."]


def answer(i: int, rng: random.Random) -> str:
    text = (f"{rng.choice(_OPENERS)} {rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_ACTS)}"
            f"{rng.choice(_TAILS) or '.'}")
    if rng.random() < 0.3:
        text += f" {rng.choice(_SUBJECTS).capitalize()} {rng.choice(_VERBS)} {rng.choice(_ACTS)}."
    return f"{text} (#{i})"  # the respondent number keeps every answer unique, as real answers mostly are


def answers(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [answer(i, rng) for i in range(n)]


def write_csv(path, n: int, seed: int = 0) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["respondent", "answer"])
        for i, t in enumerate(answers(n, seed)):
            w.writerow([f"r{i}", t])
