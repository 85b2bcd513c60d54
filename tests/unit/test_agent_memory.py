"""Memory packing: BM25 relevance first, summaries stand in for what they cover, the window
is never passed."""

from __future__ import annotations

from agents.logic.memory import MemoryItem, pack, rank, truncate


def count(text: str) -> int:
    return len(text) // 4 + 1


def test_the_most_relevant_items_come_first() -> None:
    items = [
        MemoryItem("a", "the office coffee machine is broken", "long"),
        MemoryItem("b", "usage based pricing charges per token used", "long"),
        MemoryItem("c", "our pricing tiers are starter and growth", "long"),
    ]
    assert [i.item_id for i in rank(items, "pricing per token")][:2] == ["b", "c"]


def test_a_query_with_no_known_word_keeps_the_order() -> None:
    items = [MemoryItem("a", "alpha beta", "short"), MemoryItem("b", "gamma delta", "short")]
    assert [i.item_id for i in rank(items, "zeta")] == ["a", "b"]


def test_packing_stays_inside_the_budget_and_reports_what_it_left_out() -> None:
    items = [MemoryItem(str(i), f"note {i} " + "word " * 50, "short") for i in range(10)]
    packed = pack(items, "note", 200, count)
    assert packed.tokens <= 200
    assert len(packed.chosen) + len(packed.left_out) == 10 and packed.left_out


def test_a_summary_replaces_the_items_it_covers() -> None:
    items = [
        MemoryItem("x", "long detail " * 40, "short"),
        MemoryItem("s", "short summary of x", "short", "summary", covers=("x",)),
    ]
    packed = pack(items, "detail", 1000, count)
    assert [i.item_id for i in packed.chosen] == ["s"]


def test_truncation_marks_the_cut() -> None:
    assert truncate("word " * 1000, 50, count).endswith("[... cut to fit the context window]")
    assert truncate("short", 50, count) == "short"
