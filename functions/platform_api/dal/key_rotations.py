"""The pii-key-rotation job's progress: one item per key rotated to, in ``key-rotations``.

An item holds the cursor of the pass under way (the last subject examined, saved after
each page and when a run stops), whether a
subject on an unknown key was seen in it, and ``done`` once a pass reached the end of the
subject-keys table with every subject on the current key (or erased).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from platform_api.logic.key_rotation import RotationProgress

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class KeyRotations:
    def __init__(self, table: Table) -> None:
        self._table = table

    def load(self, target_key: str) -> RotationProgress | None:
        item = self._table.get_item(Key={"target_key_id": target_key}, ConsistentRead=True).get(
            "Item"
        )
        if item is None:
            return None
        return RotationProgress(
            target_key=target_key,
            source_key=_optional(item.get("source_key_id")),
            cursor=_optional(item.get("cursor")),
            pass_started_at=str(item["pass_started_at"]),
            saw_other_key=bool(item.get("saw_other_key")),
            done=bool(item.get("done")),
            done_at=_optional(item.get("done_at")),
        )

    def save(self, progress: RotationProgress, updated_at: str) -> None:
        """Overwrite the rotation's item. Two runs at once may each save their cursor; the
        one saved last wins, and a cursor set back only repeats work that is skipped."""
        item: dict[str, Any] = {
            "target_key_id": progress.target_key,
            "pass_started_at": progress.pass_started_at,
            "saw_other_key": progress.saw_other_key,
            "done": progress.done,
            "updated_at": updated_at,
        }
        for name, value in (
            ("source_key_id", progress.source_key),
            ("cursor", progress.cursor),
            ("done_at", progress.done_at),
        ):
            if value is not None:
                item[name] = value
        self._table.put_item(Item=item)


def _optional(value: Any) -> str | None:
    return None if value is None else str(value)
