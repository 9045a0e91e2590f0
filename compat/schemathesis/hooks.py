"""schemathesis hooks for roomgate.

`issued_before` (revoke_tokens) must not be in the future, which no schema can say: a generated date-time after now
is moved to now, so a valid case stays valid; values that are not RFC 3339 date-times are left alone, so a negative
case stays negative.

`unique_name` is unique per account, so a generated name that an earlier case already took is refused with 422
(10012, a conflict that no schema can express). Every name of a valid length gets a suffix unique to this run,
keeping its length within 1..=255; names invalid on their own (empty, too long, not a string) are left alone, and
control characters are never cut off, so a negative case stays negative.
"""

import datetime
import itertools
import re

import schemathesis

MAX_LEN = 255
_counter = itertools.count(1)
_SUFFIX = re.compile(r" #\d+$")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _unique(name: str) -> str:
    # A case may be sent more than once (retries, shrinking): replace the suffix, never stack them.
    base = _SUFFIX.sub("", name)
    suffix = f" #{next(_counter)}"
    if len(base) + len(suffix) <= MAX_LEN:
        return base + suffix
    if _CONTROL.search(base):
        return name
    return base[: MAX_LEN - len(suffix)] + suffix


@schemathesis.hook
def before_call(ctx, case, kwargs):
    body = case.body
    if isinstance(body, dict):
        name = body.get("unique_name")
        if isinstance(name, str) and 1 <= len(name) <= MAX_LEN:
            body["unique_name"] = _unique(name)
        _not_in_the_future(body)


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _not_in_the_future(body: dict) -> None:
    value = body.get("issued_before")
    if not isinstance(value, str) or not _RFC3339.match(value):
        return
    try:
        at = datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return
    if at.tzinfo is None:
        return
    now = datetime.datetime.now(datetime.timezone.utc)
    if at > now:
        body["issued_before"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
