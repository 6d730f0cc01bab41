-- Request the amendment of one order (quantity and/or price), in the partition's slot {p}.
-- KEYS: 1 order  2 account risk hash  3 command stream  4 event stream  5 trail
-- ARGV: 1 command (msgpack)  2 at  3 process  4 events maxlen  5 new quantity  6 new price ('' = none)
--       7 new risk notional (yen)  8 max_qty  9 max_notional  10 max_daily_buy  11 trading day
-- Returns {'ok', hgetall...} | {'err', code}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'err', 'order_not_found'}
end
local h = hgetall(KEYS[1])
if TERMINAL[h.status] then
  return {'err', 'order_not_open'}
end
local cum = tonumber(h.cum_qty)
local nxt = next_status(h.status, 'replace_requested', cum)
if not nxt then
  return {'err', 'order_in_flight'}
end
local qty = tonumber(ARGV[5])
if qty <= cum then
  return {'err', 'replace_below_filled'}
end
if qty > tonumber(ARGV[8]) then return {'err', 'risk_max_quantity'} end
local notional = tonumber(ARGV[7])
if notional > tonumber(ARGV[9]) then return {'err', 'risk_max_notional'} end
-- a buy amended to a larger value uses up more of the day's buy allowance
local delta = notional - tonumber(h.risk_notional or '0')
local day = ARGV[11]
if h.side == 'buy' and delta > 0 then
  local acct = redis.call('HMGET', KEYS[2], 'buy_day', 'buy_notional')
  local bought = 0
  if acct[1] == day then bought = tonumber(acct[2] or '0') end
  if bought + delta > tonumber(ARGV[10]) then
    return {'err', 'risk_daily_buy_notional'}
  end
  redis.call('HSET', KEYS[2], 'buy_day', day, 'buy_notional', int(bought + delta))
  redis.call('HSET', KEYS[1], 'risk_notional', int(notional))
end
local at = ARGV[2]
local entry = redis.call('XADD', KEYS[3], '*', 'm', ARGV[1])
redis.call('HSET', KEYS[1], 'status', nxt, 'updated_at', at, 'pending_quantity', ARGV[5],
  'pending_price', ARGV[6])
trail(KEYS[5], at, 'replace_requested', 'api', ARGV[3],
  {stream = KEYS[3], entry_id = entry, quantity = ARGV[5], price = ARGV[6]})
h.status = nxt
emit(KEYS[4], ARGV[4], h, 'replace_requested', at, nil)
local _, flat = hgetall(KEYS[1])
local out = {'ok'}
for i = 1, #flat do out[#out + 1] = flat[i] end
return out
