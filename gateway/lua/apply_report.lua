-- Apply a BATCH of execution reports (or cancel rejects) of ONE partition, in its slot {p}:
-- one script call for many reports (the per-call cost of Redis and of the client dominated),
-- each report still applied on its own and in the order given.
-- KEYS: 1 partition open zset  2 event stream, then 5 keys per report:
--       order, applied ExecIDs set, account risk hash, account open zset, trail
--       (the account keys must be those of the order's own account: checked against the record)
-- ARGV: 1 process  2 component  3 events maxlen, then 9 per report (same order as the keys):
--       exec_id ('' = none), event (gateway/states.py OrderEvent), last_qty,
--       last_px in 1/PX_SCALE yen, last_px text, at, reason, extra trail detail (JSON object),
--       ClOrdID the venue now knows the order by ('' = unchanged; set on replaced)
-- Returns a flat array, two per report: outcome, status after ('' when none). Outcomes:
--       applied | duplicate | unknown_order | wrong_account | invalid_transition | overfill
local process, component, maxlen = ARGV[1], ARGV[2], ARGV[3]
local OPEN, EVENTS = KEYS[1], KEYS[2]
-- only the fields this script reads or re-emits (cheaper than HGETALL)
local F = {'order_id', 'account', 'symbol', 'side', 'status', 'quantity', 'price', 'cum_qty',
  'notional', 'fills', 'pending_quantity', 'pending_price'}
local NF = #F
local STEP = {
  accepted = 'acknowledged', rejected = 'rejected', partial_fill = 'partially_filled',
  fill = 'filled', canceled = 'canceled', replaced = 'replaced',
  cancel_rejected = 'cancel_rejected', replace_rejected = 'replace_rejected', expired = 'expired',
}

local function apply_one(k, a)
  local K_ORDER, K_EXECS, K_ACCT, K_ACCT_OPEN, K_TRAIL =
    KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local vals = redis.call('HMGET', K_ORDER, unpack(F))
  if not vals[1] then  -- no order_id field: no such order
    return 'unknown_order', ''
  end
  local h = {}
  for i = 1, NF do
    if vals[i] then h[F[i]] = vals[i] end
  end
  local suffix = ':' .. (h.account or '')
  if string.sub(K_ACCT, -#suffix) ~= suffix or string.sub(K_ACCT_OPEN, -#suffix) ~= suffix then
    return 'wrong_account', ''
  end
  local exec_id, event = ARGV[a], ARGV[a + 1]
  if exec_id ~= '' and redis.call('SISMEMBER', K_EXECS, exec_id) == 1 then
    return 'duplicate', h.status
  end
  local px_text, at, reason = ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
  local detail = {}
  if ARGV[a + 7] ~= '{}' then detail = cjson.decode(ARGV[a + 7]) end
  if exec_id ~= '' then detail.exec_id = exec_id end
  if reason ~= '' then detail.reason = reason end

  local qty, cum = tonumber(h.quantity), tonumber(h.cum_qty)
  local last_qty, last_px = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local is_fill = (event == 'fill' or event == 'partial_fill')
  if is_fill then
    if last_qty <= 0 then
      detail.refused = 'fill without quantity'
      trail(K_TRAIL, at, 'report_refused', component, process, detail)
      return 'invalid_transition', h.status
    end
    if not STATES[h.status .. '|fill'] then  -- done orders take no fills (checked before overfill)
      detail.refused = 'fill for an order in status ' .. h.status
      trail(K_TRAIL, at, 'report_refused', component, process, detail)
      return 'invalid_transition', h.status
    end
    if cum + last_qty > qty then
      detail.refused = 'overfill'
      detail.last_qty = last_qty
      detail.cum_qty = cum
      detail.quantity = qty
      trail(K_TRAIL, at, 'overfill_refused', component, process, detail)
      return 'overfill', h.status
    end
    cum = cum + last_qty
    -- the quantities decide: a fill that leaves nothing open completes the order
    if cum == qty then event = 'fill' else event = 'partial_fill' end
  end
  local nxt = next_status(h.status, event, cum)
  if not nxt then
    detail.refused = 'transition ' .. h.status .. ' + ' .. event .. ' is not in the state machine'
    trail(K_TRAIL, at, 'report_refused', component, process, detail)
    return 'invalid_transition', h.status
  end

  local updates = {'status', nxt, 'updated_at', at}
  if is_fill then
    local notional = tonumber(h.notional) + last_qty * last_px
    -- append to the JSON array as text: no decode / encode of the fills so far
    local fill = cjson.encode({exec_id = exec_id, qty = last_qty, px = px_text, at = at})
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
    detail.last_px = px_text
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
    redis.call('HDEL', K_ORDER, 'pending_quantity', 'pending_price')
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
  if ARGV[a + 8] ~= '' and event == 'replaced' then
    updates[#updates + 1] = F_CLORDID
    updates[#updates + 1] = ARGV[a + 8]
  end
  redis.call('HSET', K_ORDER, unpack(updates))
  if exec_id ~= '' then redis.call('SADD', K_EXECS, exec_id) end
  if TERMINAL[nxt] then
    redis.call('HINCRBY', K_ACCT, 'open_orders', -1)
    redis.call('ZREM', K_ACCT_OPEN, h.order_id)
    redis.call('ZREM', OPEN, h.order_id)
  end

  trail(K_TRAIL, at, STEP[event] or event, component, process, detail)
  local extra = {}
  if exec_id ~= '' then extra.exec_id = exec_id end
  if is_fill then
    extra.last_qty = last_qty
    extra.last_px = px_text
  end
  if reason ~= '' then extra.reason = reason end
  emit(EVENTS, maxlen, h, event, at, extra)
  return 'applied', nxt
end

local n = (#KEYS - 2) / 5
if n ~= math.floor(n) or #ARGV ~= 3 + 9 * n then
  return redis.error_reply('ERR apply_report: 2 + 5n keys and 3 + 9n arguments expected')
end
local out = {}
for i = 0, n - 1 do
  local outcome, status = apply_one(3 + 5 * i, 4 + 9 * i)
  out[#out + 1] = outcome
  out[#out + 1] = status or ''
end
return out
