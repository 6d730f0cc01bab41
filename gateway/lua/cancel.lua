-- Request the cancel of one order, in the partition's slot {p}.
-- KEYS: 1 order  2 command stream  3 event stream  4 trail
-- ARGV: 1 command (msgpack)  2 at  3 process  4 events maxlen
-- Returns {'ok', hgetall...} | {'same', hgetall...} (already pending_cancel) | {'err', code}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'err', 'order_not_found'}
end
local h = hgetall(KEYS[1])
if h.status == 'pending_cancel' then
  local _, flat = hgetall(KEYS[1])
  local out = {'same'}
  for i = 1, #flat do out[#out + 1] = flat[i] end
  return out
end
if TERMINAL[h.status] then
  return {'err', 'order_not_open'}
end
local nxt = next_status(h.status, 'cancel_requested', tonumber(h.cum_qty))
if not nxt then
  return {'err', 'order_in_flight'}
end
local at = ARGV[2]
local entry = redis.call('XADD', KEYS[2], '*', 'm', ARGV[1])
redis.call('HSET', KEYS[1], 'status', nxt, 'updated_at', at)
trail(KEYS[4], at, 'cancel_requested', 'api', ARGV[3], {stream = KEYS[2], entry_id = entry})
h.status = nxt
emit(KEYS[3], ARGV[4], h, 'cancel_requested', at, nil)
local _, flat = hgetall(KEYS[1])
local out = {'ok'}
for i = 1, #flat do out[#out + 1] = flat[i] end
return out
