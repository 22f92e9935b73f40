"""Alice's Adventures in Wonderland, the embedded text for character-level language models (no download)."""
from __future__ import annotations

import gzip
from importlib import resources

ALICE_SOURCE = (
    "Lewis Carroll, Alice's Adventures in Wonderland (1865), the Millennium Fulcrum Edition 3.0 as published "
    "by Project Gutenberg (EBook #11, https://www.gutenberg.org/ebooks/11); public domain. Chapters I-XII, "
    "without the Project Gutenberg header and licence."
)


def load_alice() -> str:
    """The text of *Alice's Adventures in Wonderland* (144,342 characters, 69 distinct; see ``ALICE_SOURCE``),
    shipped gzip-compressed inside the package (53 KB)."""
    with resources.files("eigengrad.datasets").joinpath("data/alice.txt.gz").open("rb") as f:
        return gzip.decompress(f.read()).decode("utf-8")
