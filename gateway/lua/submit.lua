-- Submit one new order, all or nothing, in the partition's slot {p}.
-- KEYS k_* and ARGV a_*: locals named by the layout gateway/calls.py SUBMIT (spliced before
-- this body by gateway/scripts.py).
-- (events and trail steps are encoded by the caller: Redis is the shared, single-threaded part)
-- Returns {'ok', command entry id} | {'dup', existing order id} | {'err', code, retry_after_ms}
local existing = redis.call('GET', k_idempotency)
if existing then
  return {'dup', existing}  -- the caller reads that order and compares the body fingerprint
end
if redis.call('EXISTS', k_order) == 1 then
  return {'err', 'id_collision', '0'}
end

local account, venue, side = a_account, a_venue, a_side
local halts = redis.call('HMGET', k_halt, HALT_ALL, HALT_VENUE .. venue, HALT_ACCOUNT .. account)
if halts[1] or halts[2] or halts[3] then
  return {'err', 'halted', '0'}
end

local qty, notional = tonumber(a_quantity), tonumber(a_notional)
if qty > tonumber(a_max_quantity) then return {'err', 'risk_max_quantity', '0'} end
if notional > tonumber(a_max_notional) then return {'err', 'risk_max_notional', '0'} end
local acct = redis.call('HMGET', k_account, 'open_orders', 'buy_day', 'buy_notional', 'tb_tokens', 'tb_ms')
local open = tonumber(acct[1] or '0')
if open >= tonumber(a_max_open_orders) then return {'err', 'risk_max_open_orders', '0'} end
local day = a_day
local bought = 0
if acct[2] == day then bought = tonumber(acct[3] or '0') end
if side == 'buy' and bought + notional > tonumber(a_max_daily_buy) then
  return {'err', 'risk_daily_buy_notional', '0'}
end
-- token bucket (not money: floats are fine); Redis's clock so every worker shares one bucket
local rate, burst = tonumber(a_rate), tonumber(a_burst)
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens = burst
if acct[4] then
  tokens = math.min(burst, tonumber(acct[4]) + (now_ms - tonumber(acct[5])) * rate / 1000)
end
if tokens < 1 then
  return {'err', 'rate_limited', int(math.ceil((1 - tokens) * 1000 / rate))}
end

-- accepted: write everything
local order_id, qty_text, at, process, maxlen = a_order_id, a_quantity, a_at, a_process, a_events_maxlen
local entry = redis.call('XADD', k_cmd_stream, '*', 'm', a_command)
redis.call('HSET', k_order, 'order_id', order_id, 'partition', a_partition, 'account', account,
  'client_order_id', a_client_order_id, 'symbol', a_symbol, 'side', side, 'type', a_type,
  'quantity', qty_text, 'price', a_price, 'time_in_force', a_time_in_force, 'venue', venue,
  'when_closed', a_when_closed, 'status', 'pending_new', 'cum_qty', '0', 'leaves_qty', qty_text,
  'notional', '0', 'risk_notional', a_notional, 'fills', '[]', 'created_at', at, 'updated_at', at,
  'fp', a_fingerprint, F_CLORDID, order_id, 'cmd_entry', entry)
redis.call('SET', k_idempotency, order_id)
if side == 'buy' then bought = bought + notional end
redis.call('HSET', k_account, 'open_orders', int(open + 1), 'buy_day', day,
  'buy_notional', int(bought), 'tb_tokens', string.format('%.6f', tokens - 1), 'tb_ms', int(now_ms))
redis.call('ZADD', k_account_orders, 0, order_id)
redis.call('ZADD', k_account_open, 0, order_id)
redis.call('ZADD', k_open_orders, 0, order_id)
redis.call('RPUSH', k_trail, a_received, a_enqueued_before .. entry .. a_enqueued_after)
redis.call('XADD', k_events, 'MAXLEN', '~', maxlen, '*', 'm', a_submitted)
return {'ok', entry}
