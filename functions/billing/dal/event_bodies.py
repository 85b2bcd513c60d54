"""The event-bodies bucket: Stripe events too large to queue, one object per event id.

Objects are encrypted by the bucket's default (the stack's KMS key); nothing here names a
key. Writing an event again writes the same bytes under the same key, so a retry is harmless.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from cognitionos.aws import client

# S3 answers 403, not 404, for a missing key to a caller without s3:ListBucket, which no
# function has: either way the body is not there for us, and the caller decides what that means.
NOT_THERE = frozenset({"NoSuchKey", "404", "AccessDenied", "403"})


class EventBodies:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        client("s3").put_object(
            Bucket=self._bucket, Key=key, Body=data, ContentType="application/json"
        )

    def get(self, key: str) -> bytes | None:
        try:
            response = client("s3").get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in NOT_THERE:
                return None
            raise
        data: bytes = response["Body"].read()
        return data

    def delete(self, key: str) -> None:
        """Delete the object; deleting one that is already gone succeeds."""
        client("s3").delete_object(Bucket=self._bucket, Key=key)
