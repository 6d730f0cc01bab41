-- Shared prelude, prepended to every script by gateway/scripts.py (Redis has no include).
-- STATES is generated from gateway/states.py: "status|event" -> next status; TERMINAL from
-- gateway/model.py; the field names below from gateway/fields.py.
local STATES = __STATE_TABLE__
local TERMINAL = __TERMINAL__
__FIELDS__

-- integers as text without exponent (tostring(1e15) would give "1e+15")
local function int(x)
  return string.format('%d', x)
end

local function hgetall(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do
    t[flat[i]] = flat[i + 1]
  end
  return t, flat
end

-- the state machine: next status, or nil when the pair is not in the table
local function next_status(status, event, cum_qty)
  local nxt = STATES[status .. '|' .. event]
  if nxt == 'new' and cum_qty > 0 then
    nxt = 'partially_filled'
  end
  return nxt
end

-- one trail step: a JSON object appended to the order's trail list
local function step(at, name, component, process, detail)
  return cjson.encode({at = at, step = name, component = component, process = process,
    detail = detail or {}})
end

local function trail(key, at, name, component, process, detail)
  return redis.call('RPUSH', key, step(at, name, component, process, detail))
end

-- an order update on the partition's event stream (msgpack, format of gateway/codec.py)
local function emit(key, maxlen, h, event, at, extra)
  local e = {
    v = 1, k = 'order', order_id = h.order_id, account = h.account, symbol = h.symbol,
    side = h.side, status = h.status, event = event, quantity = tonumber(h.quantity),
    cum_qty = tonumber(h.cum_qty), leaves_qty = tonumber(h.leaves_qty),
    notional = tonumber(h.notional), at = at,
  }
  if h.price ~= nil and h.price ~= '' then e.price = h.price end
  if extra then
    for k, v in pairs(extra) do e[k] = v end
  end
  return redis.call('XADD', key, 'MAXLEN', '~', maxlen, '*', 'm', cmsgpack.pack(e))
end
