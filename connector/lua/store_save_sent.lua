-- The session store write of the connector: sequence numbers, a batch of outbound messages AND
-- the ClOrdIDs they carry, in one step (write-ahead: runs BEFORE the bytes reach the socket).
-- KEYS[1] fix_state  KEYS[2] fix_out  KEYS[3] fix_fence  KEYS[4] fix_sent (ClOrdID -> seq)
-- ARGV[1] fencing token ('' = unfenced)  ARGV[2] next_sender  ARGV[3] next_target
-- ARGV[4] '1' = reset  ARGV[5] now  ARGV[6] number of messages M
-- ARGV[7 .. 6+2M] seq, raw pairs; then ClOrdID, seq pairs
-- Same contract as connector/fix/lua/store_save.lua, plus KEYS[4] (kept across resets:
-- ClOrdIDs are unique for good, and a reset must not make a sent order look unsent).
local token = ARGV[1]
if token ~= '' then
  local current = redis.call('GET', KEYS[3])
  if current ~= token then
    return redis.error_reply('FENCED token ' .. token .. ' is not current (' .. tostring(current) .. ')')
  end
end
if ARGV[4] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'creation_time', ARGV[5])
end
redis.call('HSET', KEYS[1], 'next_sender', ARGV[2], 'next_target', ARGV[3])
local m = tonumber(ARGV[6])
local first, last_msg, n = 7, 6 + 2 * m, #ARGV
local i = first
while i <= last_msg do
  local last = math.min(i + 999, last_msg)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, last))
  i = last + 1
end
i = last_msg + 1
while i <= n do
  local last = math.min(i + 999, n)
  redis.call('HSET', KEYS[4], unpack(ARGV, i, last))
  i = last + 1
end
return m
