-- Take (or keep) the leader lease of a FIX session. KEYS[1] lease  KEYS[2] fence counter
-- ARGV[1] holder id  ARGV[2] TTL in ms
-- A free lease is taken with SET NX PX and a fresh fencing token (INCR of the counter, so every
-- new term has a larger token than any before it; the session store accepts writes only with
-- the current one). The holder that already has it keeps its token. Returns the token, or 0.
local cur = redis.call('GET', KEYS[1])
if cur then
  local holder, token = string.match(cur, '^(.*)|(%d+)$')
  if holder == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(token)
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'NX', 'PX', ARGV[2])
return token
