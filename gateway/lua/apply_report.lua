-- Apply one execution report (or cancel reject) to an order, in the partition's slot {p}.
-- KEYS: 1 order  2 applied ExecIDs set  3 account risk hash  4 account open zset
--       5 partition open zset  6 event stream  7 trail
--       (3 and 4 must be the keys of the order's own account: checked against the record)
-- ARGV: 1 exec_id ('' = none)  2 event (gateway/states.py OrderEvent)  3 last_qty
--       4 last_px in 1/PX_SCALE yen  5 last_px text  6 at  7 process  8 component  9 reason
--       10 events maxlen  11 extra trail detail (JSON object)
--       12 ClOrdID the venue now knows the order by ('' = unchanged; set on replaced)
-- Returns {'applied', status} | {'duplicate', status} | {'unknown_order'} | {'wrong_account'}
--       | {'invalid_transition', status} | {'overfill', status}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'unknown_order'}
end
local exec_id, event = ARGV[1], ARGV[2]
-- only the fields this script reads or re-emits (cheaper than HGETALL)
local F = {'order_id', 'account', 'symbol', 'side', 'status', 'quantity', 'price', 'cum_qty',
  'notional', 'fills', 'pending_quantity', 'pending_price'}
local vals = redis.call('HMGET', KEYS[1], unpack(F))
local h = {}
for i = 1, #F do
  if vals[i] then h[F[i]] = vals[i] end
end
local suffix = ':' .. (h.account or '')
if string.sub(KEYS[3], -#suffix) ~= suffix or string.sub(KEYS[4], -#suffix) ~= suffix then
  return {'wrong_account'}
end
if exec_id ~= '' and redis.call('SISMEMBER', KEYS[2], exec_id) == 1 then
  return {'duplicate', h.status}
end
local at, process, component, reason, maxlen = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local detail = {}
if ARGV[11] ~= '{}' then detail = cjson.decode(ARGV[11]) end
if exec_id ~= '' then detail.exec_id = exec_id end
if reason ~= '' then detail.reason = reason end

local qty, cum = tonumber(h.quantity), tonumber(h.cum_qty)
local last_qty, last_px = tonumber(ARGV[3]), tonumber(ARGV[4])
local is_fill = (event == 'fill' or event == 'partial_fill')
if is_fill then
  if last_qty <= 0 then
    detail.refused = 'fill without quantity'
    trail(KEYS[7], at, 'report_refused', component, process, detail)
    return {'invalid_transition', h.status}
  end
  if not STATES[h.status .. '|fill'] then  -- done orders take no fills (checked before overfill)
    detail.refused = 'fill for an order in status ' .. h.status
    trail(KEYS[7], at, 'report_refused', component, process, detail)
    return {'invalid_transition', h.status}
  end
  if cum + last_qty > qty then
    detail.refused = 'overfill'
    detail.last_qty = last_qty
    detail.cum_qty = cum
    detail.quantity = qty
    trail(KEYS[7], at, 'overfill_refused', component, process, detail)
    return {'overfill', h.status}
  end
  cum = cum + last_qty
  -- the quantities decide: a fill that leaves nothing open completes the order
  if cum == qty then event = 'fill' else event = 'partial_fill' end
end
local nxt = next_status(h.status, event, cum)
if not nxt then
  detail.refused = 'transition ' .. h.status .. ' + ' .. event .. ' is not in the state machine'
  trail(KEYS[7], at, 'report_refused', component, process, detail)
  return {'invalid_transition', h.status}
end

local updates = {'status', nxt, 'updated_at', at}
if is_fill then
  local notional = tonumber(h.notional) + last_qty * last_px
  -- append to the JSON array as text: no decode / encode of the fills so far
  local fill = cjson.encode({exec_id = exec_id, qty = last_qty, px = ARGV[5], at = at})
  local fills = h.fills or '[]'
  if fills == '[]' or fills == '{}' then
    h.fills = '[' .. fill .. ']'
  else
    h.fills = string.sub(fills, 1, -2) .. ',' .. fill .. ']'
  end
  h.notional = int(notional)
  h.cum_qty = int(cum)
  for _, v in ipairs({'cum_qty', h.cum_qty, 'notional', h.notional, 'fills', h.fills}) do
    updates[#updates + 1] = v
  end
  detail.last_qty = last_qty
  detail.last_px = ARGV[5]
end
if event == 'replaced' then
  if h.pending_quantity and h.pending_quantity ~= '' then
    qty = tonumber(h.pending_quantity)
    h.quantity = h.pending_quantity
  end
  if h.pending_price and h.pending_price ~= '' then h.price = h.pending_price end
  for _, v in ipairs({'quantity', h.quantity, 'price', h.price or ''}) do
    updates[#updates + 1] = v
  end
end
if event == 'replaced' or event == 'replace_rejected' then
  redis.call('HDEL', KEYS[1], 'pending_quantity', 'pending_price')
  h.pending_quantity, h.pending_price = nil, nil
end
local leaves = qty - cum
if TERMINAL[nxt] then leaves = 0 end
h.leaves_qty = int(leaves)
h.status = nxt
updates[#updates + 1] = 'leaves_qty'
updates[#updates + 1] = h.leaves_qty
if reason ~= '' then
  updates[#updates + 1] = 'reason'
  updates[#updates + 1] = reason
end
if ARGV[12] ~= '' and event == 'replaced' then
  updates[#updates + 1] = 'clordid'
  updates[#updates + 1] = ARGV[12]
end
redis.call('HSET', KEYS[1], unpack(updates))
if exec_id ~= '' then redis.call('SADD', KEYS[2], exec_id) end
if TERMINAL[nxt] then
  redis.call('HINCRBY', KEYS[3], 'open_orders', -1)
  redis.call('ZREM', KEYS[4], h.order_id)
  redis.call('ZREM', KEYS[5], h.order_id)
end

local STEP = {
  accepted = 'acknowledged', rejected = 'rejected', partial_fill = 'partially_filled',
  fill = 'filled', canceled = 'canceled', replaced = 'replaced',
  cancel_rejected = 'cancel_rejected', replace_rejected = 'replace_rejected', expired = 'expired',
}
trail(KEYS[7], at, STEP[event] or event, component, process, detail)
local extra = {}
if exec_id ~= '' then extra.exec_id = exec_id end
if is_fill then
  extra.last_qty = last_qty
  extra.last_px = ARGV[5]
end
if reason ~= '' then extra.reason = reason end
emit(KEYS[6], maxlen, h, event, at, extra)
return {'applied', nxt}
