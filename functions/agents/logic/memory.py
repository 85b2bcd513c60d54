"""Memory in three tiers, and packing the most relevant of it into a context window.

- working: what one model call sees, packed here under the window's 90% mark;
- short-term: the run's step outputs and summaries (the run's items, with its TTL);
- long-term: per-tenant facts and summaries of earlier runs, ranked by BM25 against the
  step's query (``bm25s``; no embedding service).

Pure: the caller loads items and estimates tokens with its calibrated ratio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

WINDOW_FILL = 0.9  # consolidate before a prompt passes 90% of the window
# Working memory: the notes a step sees besides its own inputs (dependencies, feedback) are
# the most relevant that fit this many tokens, whatever the window: most of a long history
# is noise for one task, and every token of it is paid for.
WORKING_NOTES_TOKENS = 1_500
MemoryTier = Literal["short", "long"]


@dataclass(frozen=True)
class MemoryItem:
    item_id: str
    text: str
    tier: MemoryTier
    kind: Literal["output", "summary", "fact"] = "output"
    covers: tuple[str, ...] = ()  # a summary: the items it stands for


@dataclass(frozen=True)
class Packed:
    chosen: tuple[MemoryItem, ...]
    left_out: tuple[MemoryItem, ...]  # did not fit: what a consolidation would summarise
    tokens: int


def rank(items: Sequence[MemoryItem], query: str) -> list[MemoryItem]:
    """Items by BM25 relevance to ``query``, most relevant first; ties keep their order."""
    if len(items) < 2 or not query.strip():
        return list(items)
    import bm25s  # noqa: PLC0415  # numpy-backed: imported only when memory is ranked

    corpus = [item.text for item in items]
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False
    )
    tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
    if not tokens.vocab:
        return list(items)
    documents, scores = retriever.retrieve(tokens, k=len(items), show_progress=False)
    score_of = {int(doc): float(score) for doc, score in zip(documents[0], scores[0], strict=True)}
    order = sorted(range(len(items)), key=lambda i: (-score_of.get(i, 0.0), i))
    return [items[i] for i in order]


def pack(
    items: Sequence[MemoryItem],
    query: str,
    budget_tokens: int,
    count: Callable[[str], int],
) -> Packed:
    """The most relevant items that fit ``budget_tokens``, whole; summaries stand in for
    the items they cover."""
    covered = {i for item in items if item.kind == "summary" for i in item.covers}
    candidates = [item for item in items if item.item_id not in covered]
    chosen: list[MemoryItem] = []
    left: list[MemoryItem] = []
    used = 0
    for item in rank(candidates, query):
        cost = count(item.text) + 8  # its heading
        if used + cost <= budget_tokens:
            chosen.append(item)
            used += cost
        else:
            left.append(item)
    return Packed(tuple(chosen), tuple(left), used)


def history_tokens(items: Sequence[MemoryItem], count: Callable[[str], int]) -> int:
    """What sending the whole history costs: every item a summary does not stand for."""
    covered = {i for item in items if item.kind == "summary" for i in item.covers}
    return sum(count(item.text) + 8 for item in items if item.item_id not in covered)


def truncate(text: str, tokens: int, count: Callable[[str], int]) -> str:
    """``text`` cut to about ``tokens`` (working memory is capped), marked when cut."""
    if count(text) <= tokens:
        return text
    ratio = len(text) / max(count(text), 1)
    return text[: max(int(tokens * ratio) - 20, 0)] + " [... cut to fit the context window]"
