"""The breaker policy as one Lua script, so each step is atomic across processes sharing Redis.

It mirrors ``breaker_policy`` line for line (same integer-millisecond arithmetic); the differential
property test in ``tests/resilience`` replays random event sequences on both and compares them.

KEYS: 1 the hash ``circuit_breaker:<name>``,
      2 the probe counter ``{circuit_breaker:<name>}:probes``.
ARGV: op, now_ms, failure_threshold, success_threshold, timeout_ms, period_ms, half_open_max,
      probe (0/1), probe_ttl_ms, [state, failure_times_csv, successes, opened_at] for force/merge.
Reply: {state, failure_times_csv, successes, opened_at, probes, allowed, probe, retry_after_ms|-1}.

Operator edits are read leniently, as the runbook writes them: a missing hash is CLOSED; a missing
``lastFailureTime`` or ``failureCount 0`` forgets the counted failures; an unknown state is CLOSED.
"""

from __future__ import annotations

__all__ = ["BREAKER_LUA"]

BREAKER_LUA = r"""
local h, pk = KEYS[1], KEYS[2]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local fth = tonumber(ARGV[3])
local sth = tonumber(ARGV[4])
local tmo = tonumber(ARGV[5])
local per = tonumber(ARGV[6])
local hmax = tonumber(ARGV[7])
local probe = ARGV[8] == '1'
local pttl = tonumber(ARGV[9])

local function split(csv)
  local out = {}
  if csv then
    for part in string.gmatch(csv, '[^,]+') do
      local n = tonumber(part)
      if n then out[#out + 1] = n end
    end
  end
  return out
end
local function d(n) return string.format('%d', n) end

local raw = redis.call('HMGET', h, 'state', 'failureCount', 'successCount', 'openedAt',
                       'failureTimes', 'lastFailureTime')
local exists = raw[1] ~= false
local st = raw[1]
if st ~= 'OPEN' and st ~= 'HALF_OPEN' then st = 'CLOSED' end
local times = split(raw[5])
if not raw[6] then times = {} end
local count = tonumber(raw[2]) or #times
if count < #times then
  local keep = {}
  for i = #times - count + 1, #times do keep[#keep + 1] = times[i] end
  times = keep
end
local succ = tonumber(raw[3]) or 0
local opened = tonumber(raw[4])
if opened == nil then
  if st == 'CLOSED' then opened = 0 else opened = now end
end
local probes = 0
if st ~= 'CLOSED' then probes = tonumber(redis.call('GET', pk)) or 0 end
if st == 'CLOSED' then succ = 0; opened = 0 end

local allowed, isprobe, retry = 0, 0, -1
local function drop()
  if probe and probes > 0 then probes = probes - 1 end
end
local function set_all(s, csv, sc, oa)
  st = s; times = split(csv); succ = tonumber(sc); opened = tonumber(oa); probes = 0
end

if op == 'acquire' then
  if st == 'OPEN' and now - opened >= tmo then
    st = 'HALF_OPEN'; times = {}; succ = 0; probes = 0
  end
  if st == 'CLOSED' then
    allowed = 1
  elseif st == 'OPEN' then
    retry = opened + tmo - now
  elseif probes < hmax then
    probes = probes + 1; allowed = 1; isprobe = 1
  end
elseif op == 'success' then
  drop()
  if st == 'HALF_OPEN' and probe then
    if succ + 1 >= sth then
      st = 'CLOSED'; times = {}; succ = 0; opened = 0; probes = 0
    else
      succ = succ + 1
    end
  end
elseif op == 'failure' then
  drop()
  if st == 'HALF_OPEN' then
    if probe then st = 'OPEN'; times = {now}; succ = 0; opened = now; probes = 0 end
  elseif st == 'CLOSED' then
    local recent = {}
    for _, t in ipairs(times) do
      if t > now - per then recent[#recent + 1] = t end
    end
    recent[#recent + 1] = now
    local kept = {}
    for i = math.max(1, #recent - fth + 1), #recent do kept[#kept + 1] = recent[i] end
    times = kept
    if #times >= fth then st = 'OPEN'; opened = now; succ = 0; probes = 0 end
  end
elseif op == 'release' then
  drop()
elseif op == 'force' then
  set_all(ARGV[10], ARGV[11], ARGV[12], ARGV[13])
elseif op == 'merge' then
  if (not exists) or (st == 'CLOSED' and ARGV[10] == 'OPEN') then
    set_all(ARGV[10], ARGV[11], ARGV[12], ARGV[13])
  else
    op = 'load'
  end
end

if op ~= 'load' then
  redis.call('HSET', h, 'state', st, 'failureCount', d(#times), 'successCount', d(succ))
  if st == 'CLOSED' then
    redis.call('HDEL', h, 'openedAt')
  else
    redis.call('HSET', h, 'openedAt', d(opened))
  end
  if #times > 0 then
    local parts = {}
    for i, t in ipairs(times) do parts[i] = d(t) end
    redis.call('HSET', h, 'failureTimes', table.concat(parts, ','),
               'lastFailureTime', d(times[#times]))
  else
    redis.call('HDEL', h, 'failureTimes', 'lastFailureTime')
  end
  if probes > 0 then
    redis.call('SET', pk, d(probes), 'PX', d(pttl))
  else
    redis.call('DEL', pk)
  end
end

local parts = {}
for i, t in ipairs(times) do parts[i] = d(t) end
return {st, table.concat(parts, ','), succ, opened, probes, allowed, isprobe, retry}
"""
