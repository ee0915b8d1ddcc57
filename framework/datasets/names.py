"""US first names with their gender: a small real text corpus for the language examples.

The lists are the 1990 US Census first-name frequency lists as shipped by the
``names`` package 0.3.0 by Trey Hunner (MIT licence; the data themselves are public
domain). They live next to this module in ``data/names/`` with their ``LICENSE``.

>>> from framework.datasets.names import load_first_names, NameVocab
>>> names, genders = load_first_names()
>>> names[:3], genders[:3]
(['aaron', 'abbey', 'abbie'], ['male', 'female', 'female'])
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["DATA_DIR", "GENDERS", "NameVocab", "load_first_names", "read_name_list", "split_names"]

DATA_DIR = Path(__file__).resolve().parent / "data" / "names"
GENDERS = ("female", "male")
_FILES = {"female": "dist.female.first", "male": "dist.male.first"}


def read_name_list(gender: str) -> dict[str, float]:
    """Map each lowercased first name of one list (``"male"`` or ``"female"``) to its frequency in percent."""
    if gender not in _FILES:
        raise ValueError(f"read_name_list: gender must be one of {GENDERS}, got {gender!r}")
    frequencies = {}
    for line in (DATA_DIR / _FILES[gender]).read_text(encoding="ascii").splitlines():
        fields = line.split()
        if fields:
            frequencies[fields[0].lower()] = float(fields[1])
    return frequencies


def load_first_names() -> tuple[list[str], list[str]]:
    """All distinct first names, sorted, with the gender (``"male"``/``"female"``) of each.

    331 names appear in both lists; each is labelled with the list in which it
    is more frequent (``"james"`` is male, ``"mary"`` female).
    """
    female, male = read_name_list("female"), read_name_list("male")
    names = sorted(set(female) | set(male))
    genders = ["male" if male.get(name, 0.0) > female.get(name, 0.0) else "female" for name in names]
    return names, genders


def split_names(items: Sequence, valid_fraction: float = 0.1, seed: int = 0) -> tuple[list, list]:
    """Shuffle ``items`` with a fixed seed and split them into (train, validation) lists."""
    import random

    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"split_names: valid_fraction must be in (0, 1), got {valid_fraction}")
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    n_valid = max(1, int(round(len(shuffled) * valid_fraction)))
    return shuffled[n_valid:], shuffled[:n_valid]


class NameVocab:
    """Characters of the names as integer ids; id 0 is the padding / boundary token ``"."``."""

    boundary = "."

    def __init__(self, names: Sequence[str]):
        letters = sorted({char for name in names for char in name})
        self.itos = [self.boundary] + letters
        self.stoi = {char: index for index, char in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, name: str) -> list[int]:
        """The ids of the characters of ``name``."""
        return [self.stoi[char] for char in name]

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of ``ids``, stopping at the first boundary token."""
        chars = []
        for index in ids:
            if index == 0:
                break
            chars.append(self.itos[index])
        return "".join(chars)
