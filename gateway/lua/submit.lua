-- Submit one new order, all or nothing, in the partition's slot {p}.
-- KEYS: 1 order  2 idempotency  3 account risk hash  4 account orders zset  5 account open zset
--       6 partition open zset  7 command stream  8 event stream  9 trail  10 halt hash
-- ARGV: 1 order_id  2 fingerprint  3 account  4 venue  5 side  6 quantity
--       7 notional (yen, integer, rounded up)  8 max_qty  9 max_notional  10 max_open
--       11 max_daily_buy  12 rate (orders/s)  13 burst  14 trading day  15 command (msgpack)
--       16 at  17 process  18 events maxlen  19 client_order_id  20 symbol  21 type
--       22 price ('' for market)  23 time_in_force  24 when_closed  25 partition
--       26 the 'submitted' event (msgpack)  27 the 'received' trail step (JSON)
--       28, 29 the 'enqueued' trail step (JSON) before and after its command entry id
-- (events and trail steps are encoded by the caller: Redis is the shared, single-threaded part)
-- Returns {'ok', command entry id} | {'dup', existing order id} | {'err', code, retry_after_ms}
local existing = redis.call('GET', KEYS[2])
if existing then
  return {'dup', existing}  -- the caller reads that order and compares the body fingerprint
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'err', 'id_collision', '0'}
end

local account, venue, side = ARGV[3], ARGV[4], ARGV[5]
local halts = redis.call('HMGET', KEYS[10], HALT_ALL, HALT_VENUE .. venue, HALT_ACCOUNT .. account)
if halts[1] or halts[2] or halts[3] then
  return {'err', 'halted', '0'}
end

local qty, notional = tonumber(ARGV[6]), tonumber(ARGV[7])
if qty > tonumber(ARGV[8]) then return {'err', 'risk_max_quantity', '0'} end
if notional > tonumber(ARGV[9]) then return {'err', 'risk_max_notional', '0'} end
local acct = redis.call('HMGET', KEYS[3], 'open_orders', 'buy_day', 'buy_notional', 'tb_tokens', 'tb_ms')
local open = tonumber(acct[1] or '0')
if open >= tonumber(ARGV[10]) then return {'err', 'risk_max_open_orders', '0'} end
local day = ARGV[14]
local bought = 0
if acct[2] == day then bought = tonumber(acct[3] or '0') end
if side == 'buy' and bought + notional > tonumber(ARGV[11]) then
  return {'err', 'risk_daily_buy_notional', '0'}
end
-- token bucket (not money: floats are fine); Redis's clock so every worker shares one bucket
local rate, burst = tonumber(ARGV[12]), tonumber(ARGV[13])
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
local order_id, qty_text, at, process, maxlen = ARGV[1], ARGV[6], ARGV[16], ARGV[17], ARGV[18]
local entry = redis.call('XADD', KEYS[7], '*', 'm', ARGV[15])
redis.call('HSET', KEYS[1], 'order_id', order_id, 'partition', ARGV[25], 'account', account,
  'client_order_id', ARGV[19], 'symbol', ARGV[20], 'side', side, 'type', ARGV[21],
  'quantity', qty_text, 'price', ARGV[22], 'time_in_force', ARGV[23], 'venue', venue,
  'when_closed', ARGV[24], 'status', 'pending_new', 'cum_qty', '0', 'leaves_qty', qty_text,
  'notional', '0', 'risk_notional', ARGV[7], 'fills', '[]', 'created_at', at, 'updated_at', at,
  'fp', ARGV[2], F_CLORDID, order_id, 'cmd_entry', entry)
redis.call('SET', KEYS[2], order_id)
if side == 'buy' then bought = bought + notional end
redis.call('HSET', KEYS[3], 'open_orders', int(open + 1), 'buy_day', day,
  'buy_notional', int(bought), 'tb_tokens', string.format('%.6f', tokens - 1), 'tb_ms', int(now_ms))
redis.call('ZADD', KEYS[4], 0, order_id)
redis.call('ZADD', KEYS[5], 0, order_id)
redis.call('ZADD', KEYS[6], 0, order_id)
redis.call('RPUSH', KEYS[9], ARGV[27], ARGV[28] .. entry .. ARGV[29])
redis.call('XADD', KEYS[8], 'MAXLEN', '~', maxlen, '*', 'm', ARGV[26])
return {'ok', entry}
