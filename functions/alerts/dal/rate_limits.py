"""Per-channel token buckets (``logic/token_bucket.py``), in Redis or in DynamoDB.

Both answer ``try_take(channel_id, capacity, now)`` the same way; ``rate_limiter()`` picks
Redis when ``REDIS_URL`` is set (one round trip: a Lua script reads, refills and takes
atomically) and DynamoDB otherwise (a read, then a write conditional on the version read;
on a lost race it reads again).
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import ClientError

from alerts.logic.token_bucket import Bucket, take
from cognitionos.dynamodb import is_condition_failure

MAX_RACES = 5
BUCKET_KEPT_S = 3600  # an idle bucket is full again within a minute; TTL tidies it


class RateLimiter(Protocol):
    def try_take(self, channel_id: str, capacity: int, now: float) -> bool: ...


class DynamoDbRateLimiter:
    """Item ``CHANNEL#<id>`` / ``RATE`` in the alerts table: tokens, updated_at, version."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def try_take(self, channel_id: str, capacity: int, now: float) -> bool:
        key = {"pk": f"CHANNEL#{channel_id}", "sk": "RATE"}
        for _ in range(MAX_RACES):
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
            bucket = Bucket(float(item["tokens"]), float(item["updated_at"])) if item else None
            version = int(item["version"]) if item else 0
            taken, after = take(bucket, capacity, now)
            if not taken:
                return False
            try:
                self._table.put_item(
                    Item={
                        **key,
                        "tokens": _decimal(after.tokens),
                        "updated_at": _decimal(after.updated_at),
                        "version": version + 1,
                        "expires_at": int(now) + BUCKET_KEPT_S,
                    },
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR version = :v"
                        if item
                        else "attribute_not_exists(pk)"
                    ),
                    **({"ExpressionAttributeValues": {":v": version}} if item else {}),
                )
            except ClientError as exc:
                if not is_condition_failure(exc):
                    raise
                continue  # another dispatcher took a token meanwhile: look again
            return True
        raise RuntimeError(f"rate limiter of {channel_id}: lost {MAX_RACES} races in a row")


# KEYS[1] bucket; ARGV: capacity, now (s), ttl (s). Returns 1 if a token was taken.
_TAKE = """
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated_at')
local capacity = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil then
  tokens = capacity
else
  local elapsed = math.max(0, now - updated)
  tokens = math.min(capacity, tokens + elapsed * capacity / 60.0)
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated_at', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return taken
"""


class RedisRateLimiter:
    """Hash ``cognitionos:rate:<channel id>``: the same bucket, refilled and taken in Lua."""

    def __init__(self, redis_client: Any) -> None:
        self._redis = redis_client
        self._take = redis_client.register_script(_TAKE)

    def try_take(self, channel_id: str, capacity: int, now: float) -> bool:
        key = f"cognitionos:rate:{channel_id}"
        return bool(self._take(keys=[key], args=[capacity, repr(now), BUCKET_KEPT_S]))


def redis_client(url: str) -> Any:
    """A client with timeouts that fit a 30 s function; imported here, not at cold start of
    the functions that never use Redis."""
    import redis  # noqa: PLC0415 (~60 ms to import: only when REDIS_URL is set)

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _decimal(value: float) -> Any:
    from decimal import Decimal  # noqa: PLC0415

    return Decimal(repr(round(value, 6)))
