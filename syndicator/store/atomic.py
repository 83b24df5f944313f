"""Atomic steps as Lua scripts, the same on one Redis and on a Redis Cluster.

redis-py 5's asyncio cluster client has no transactions (no MULTI/EXEC, no WATCH), so the
store never uses them: `atomic(redis)` replaces `redis.pipeline(transaction=True)` with the
same shape of code. Commands queued on it run in one Lua script (`_SCRIPT`), which Redis
runs atomically; a key given to `watch()` is read at once (a SHA-1 of what it holds,
computed in Redis: `_DIGEST_OF`), and the script writes only if it still holds that value, else
`execute()` raises WatchError as EXEC did, and the caller's loop reads and computes again:
optimistic compare-and-set.

On one Redis every command of a step is in one script. On a cluster a script can only
touch the keys of one slot, so the commands are grouped by the slot of their first key
and each group is a script: atomic per slot. Store layout 5 gives the keys of one article
the hash tag `{a:ID}`, those of one category `{c:SLUG}`, of one hub subscription `{h:ID}`
(store/keys.py), so what must be atomic is one group. The guarded groups run first, one
at a time, the `lead` ones (an article's record) before the others, so a conflict in the
first writes nothing; the unguarded groups (writes to other slots: URL and content
indexes, global hashes, which are idempotent) follow, and a step re-run after a crash
between groups converges. A conflict in a later guarded group (a concurrent takedown or
eviction) leaves the earlier groups written, and the caller's retry recomputes from them.

Besides: `get_many` (MGET, split by slot on a cluster), `run_script` (EVALSHA, loading the
script on first use on whichever node answers) and `run_scripts` (many calls of one
script in one round trip; a cluster's pipeline takes no scripts).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import CoreCommands
from redis.crc import key_slot
from redis.exceptions import NoScriptError, WatchError

SORTED_UP_TO = 1000
"""Entries up to which a hash or set in a hash table is digested sorted (`_DIGEST_OF`)."""

_DIGEST_OF = """
local function digest(key)
  local encoding = redis.call('OBJECT', 'ENCODING', key)
  if not encoding then return '-' end
  if encoding ~= 'hashtable' then return redis.sha1hex(redis.call('DUMP', key)) end
  local hash = redis.call('TYPE', key)['ok'] == 'hash'
  local size = hash and redis.call('HLEN', key) or redis.call('SCARD', key)
  if size > SORTED_UP_TO then return redis.sha1hex(redis.call('DUMP', key)) end
  local parts, flat = {}, nil
  if hash then
    flat = redis.call('HGETALL', key)
    for i = 1, #flat, 2 do
      parts[#parts + 1] = #flat[i] .. ':' .. flat[i] .. #flat[i + 1] .. ':' .. flat[i + 1]
    end
  else
    flat = redis.call('SMEMBERS', key)
    for i = 1, #flat do parts[#parts + 1] = #flat[i] .. ':' .. flat[i] end
  end
  table.sort(parts)
  return redis.sha1hex(table.concat(parts))
end
""".replace("SORTED_UP_TO", str(SORTED_UP_TO))
"""What a key holds, as a SHA-1 ('-': no such key): of its DUMP, except for a hash or set in
a hash table, whose DUMP follows the table's order, which a mere read can change (Redis
rehashes a growing table a step at each lookup): the same content read twice gave two
digests, a spurious conflict, and on a cluster a step whose first group was already
written then ran again (a hub topic numbered twice, its first number without a manifest).
Up to SORTED_UP_TO entries those are digested from their sorted fields or members: in Lua
that costs some 6 times the DUMP, so a larger one (a long takedown list) keeps its DUMP,
and a read while its table grows may still cost a step a retry (steps over such keys are
idempotent: store/articles.py)."""

_SCRIPT = (
    _DIGEST_OF
    + """
local guards = tonumber(ARGV[1])
for g = 1, guards do
  if digest(KEYS[g]) ~= ARGV[1 + g] then return false end
end
local i, out = guards + 2, {}
while i <= #ARGV do
  local argc = tonumber(ARGV[i])
  out[#out + 1] = redis.call(unpack(ARGV, i + 1, i + argc))
  i = i + argc + 1
end
return out
"""
)
"""KEYS: the guarded keys, then one key of the group (for routing). ARGV[1]: how many
guards; then each guard's expected digest (`_DIGEST`); then each command as its argument
count and its arguments. Returns nil (a guard failed: nothing written) or the commands'
replies."""

_DIGEST = (
    _DIGEST_OF
    + """
local out = {}
for i, key in ipairs(KEYS) do out[i] = digest(key) end
return out
"""
)
"""What each of KEYS holds (`_DIGEST_OF`): what `watch` remembers, so a large watched hash
is never sent to the client and back. All the keys of a `watch` in one call (one a slot on
a cluster): a call a key was 1,000 script calls for a 500-entry feed's upserts, a tenth of
the Redis CPU of its ingest."""


def is_cluster(redis: Redis) -> bool:
    """Whether `redis` is a Redis Cluster client (store/connection.connect)."""
    return isinstance(redis, RedisCluster)


def _encode(value: Any) -> bytes:
    if type(value) is str:  # most arguments (names, members): the cheapest test first
        return value.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, float):
        return repr(value).encode()
    return str(value).encode()


def slot(key: str | bytes) -> int:
    """The cluster slot of `key` (its hash tag's, when it has one)."""
    return key_slot(_encode(key))


async def get_many(redis: Redis, keys: Sequence[str]) -> list[bytes | None]:
    """MGET of `keys` (any slots), values in their order."""
    if not keys:
        return []
    if is_cluster(redis):
        return await redis.mget_nonatomic(list(keys))  # type: ignore[attr-defined]
    return await redis.mget(list(keys))


_SHAS: dict[str, str] = {}


async def run_script(redis: Redis, body: str, keys: Sequence[str | bytes], args: Sequence[Any]) -> Any:
    """EVALSHA of `body`, with EVAL (which caches it) where the node does not know it yet."""
    sha = _SHAS.get(body) or _SHAS.setdefault(body, hashlib.sha1(body.encode()).hexdigest())
    try:
        return await redis.evalsha(sha, len(keys), *keys, *args)
    except NoScriptError:
        return await redis.eval(body, len(keys), *keys, *args)


async def run_scripts(
    redis: Redis, body: str, calls: Sequence[tuple[Sequence[str | bytes], Sequence[Any]]]
) -> list[Any]:
    """`body` once for each (keys, args) of `calls`, its replies in order: in one pipeline
    on one Redis; on a cluster, whose pipeline refuses scripts, as concurrent calls (each
    to its keys' node)."""
    if len(calls) <= 1 or is_cluster(redis):
        return list(await asyncio.gather(*(run_script(redis, body, k, a) for k, a in calls)))
    sha = _SHAS.get(body) or _SHAS.setdefault(body, hashlib.sha1(body.encode()).hexdigest())
    async with redis.pipeline(transaction=False) as pipe:
        for keys, args in calls:
            pipe.evalsha(sha, len(keys), *keys, *args)
        replies = await pipe.execute(raise_on_error=False)
    for n, reply in enumerate(replies):  # not loaded yet (a restarted Redis): EVAL loads it
        if isinstance(reply, NoScriptError):
            replies[n] = await run_script(redis, body, *calls[n])
        elif isinstance(reply, Exception):
            raise reply
    return replies


class _Recorder(CoreCommands):
    """redis-py's command methods, recording each command's arguments instead of sending."""

    def __init__(self, sink: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> None:
        self._sink = sink

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self._sink.append((args, options))
        return self


class Atomic:
    """A transaction-shaped object: `watch`, reads, `multi`, queued writes, `execute`.

    Like redis-py's transactional pipeline: after `watch()` and before `multi()` a command
    runs at once (a read); otherwise it is queued. `execute()` runs the queue as scripts
    (module docstring) and returns the replies in order, parsed as redis-py parses them.
    """

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._queue: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._recorder = _Recorder(self._queue)
        self._guards: dict[str, bytes] = {}
        self._lead: set[str] = set()
        self._immediate = False
        self._callbacks: dict[Any, Any] = {}  # command name -> its reply's callback (or None)

    async def __aenter__(self) -> Atomic:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._clear()

    async def reset(self) -> None:
        """Forget the watched keys and the queue (the step is abandoned)."""
        self._clear()

    def _clear(self) -> None:
        self._queue.clear()
        self._guards.clear()
        self._lead.clear()
        self._immediate = False

    async def watch(self, *keys: str, lead: bool = False) -> None:
        """Remember what `keys` hold now; `execute` writes nothing if any of them changed.

        On a cluster, `lead` keys' groups run first (an article's record before the
        indexes that list it), then the other guarded groups, then the rest."""
        self._immediate = True
        if lead:
            self._lead.update(keys)
        keys = tuple(k for k in keys if k not in self._guards)
        if not keys:
            return
        by_slot: dict[int, list[str]] = {}
        cluster = is_cluster(self.redis)
        for key in keys:
            by_slot.setdefault(slot(key) if cluster else 0, []).append(key)
        groups = list(by_slot.values())
        replies = await run_scripts(self.redis, _DIGEST, [(group, []) for group in groups])
        for group, digests in zip(groups, replies, strict=True):
            self._guards.update(zip(group, digests, strict=True))

    async def unwatch(self) -> None:
        self._guards.clear()
        self._immediate = False

    def multi(self) -> None:
        self._immediate = False

    def __getattr__(self, name: str) -> Any:
        if self._immediate:
            return getattr(self.redis, name)
        return getattr(self._recorder, name)

    async def execute(self) -> list[Any]:
        """Run what was queued; WatchError (nothing of a guarded group written) when a
        watched key changed since `watch`."""
        queue, guards, lead = list(self._queue), dict(self._guards), set(self._lead)
        self._clear()
        if not queue and not guards:
            return []
        cluster = is_cluster(self.redis)
        groups: dict[int, tuple[list[str], list[int]]] = {}  # slot → (guards, command numbers)
        for key in guards:
            groups.setdefault(slot(key) if cluster else 0, ([], []))[0].append(key)
        for n, (args, _options) in enumerate(queue):
            target = slot(args[1]) if cluster and len(args) > 1 else 0
            groups.setdefault(target, ([], []))[1].append(n)
        replies: list[Any] = [None] * len(queue)

        def order(group: tuple[list[str], list[int]]) -> int:
            watched = group[0]
            return 0 if lead.intersection(watched) else 1 if watched else 2

        # Guarded groups one at a time, leads first: a conflict in the first one leaves
        # everything unwritten. Then the unguarded ones, in one round trip a node.
        ordered = sorted(groups.values(), key=order)
        guarded = [g for g in ordered if g[0]]
        rest = [g for g in ordered if not g[0]]
        for watched, numbers in guarded:
            out = await run_script(self.redis, _SCRIPT, *self._call(queue, guards, watched, numbers))
            if out is None:
                raise WatchError("a watched key changed")
            for n, reply in zip(numbers, out, strict=True):
                replies[n] = self._parse(queue[n], reply)
        outs = await run_scripts(self.redis, _SCRIPT, [self._call(queue, guards, *g) for g in rest])
        for (_watched, numbers), out in zip(rest, outs, strict=True):
            for n, reply in zip(numbers, out, strict=True):
                replies[n] = self._parse(queue[n], reply)
        return replies

    @staticmethod
    def _call(
        queue: list[tuple[tuple[Any, ...], dict[str, Any]]],
        guards: dict[str, bytes],
        watched: list[str],
        numbers: list[int],
    ) -> tuple[list[str | bytes], list[Any]]:
        """KEYS and ARGV of `_SCRIPT` for one group."""
        route = watched[-1] if watched else queue[numbers[0]][0][1]
        argv: list[Any] = [len(watched)]
        argv.extend(guards[k] for k in watched)
        for n in numbers:
            args = queue[n][0]
            argv.append(len(args))
            argv.extend(map(_encode, args))
        return [*watched, route], argv

    def _parse(self, command: tuple[tuple[Any, ...], dict[str, Any]], reply: Any) -> Any:
        args, options = command
        name = args[0]
        if name in self._callbacks:  # a step's thousands of replies share a few commands
            callback = self._callbacks[name]
        else:
            callback = self._callbacks[name] = self.redis.response_callbacks.get(str(name).upper())
        if callback is None or reply is None:
            return reply
        if not options:
            return callback(reply)
        return callback(reply, **{k: v for k, v in options.items() if k != "keys"})


def atomic(redis: Redis) -> Atomic:
    """What replaces `redis.pipeline(transaction=True)` everywhere (module docstring)."""
    return Atomic(redis)
