-- Persist a FIX session's sequence numbers and a batch of outbound messages in one step
-- (write-ahead: runs BEFORE the bytes reach the socket), optionally recording the ids the
-- application gave those messages as sent (the connector: ClOrdID -> MsgSeqNum).
-- KEYS[1] fix_state (hash)  KEYS[2] fix_out (hash seq -> raw)  KEYS[3] fix_fence (string)
-- KEYS[4] (optional) fix_sent (hash id -> seq; kept across resets: ids are unique for good,
--         and a reset must not make a sent message look unsent)
-- ARGV[1] fencing token ('' = unfenced)  ARGV[2] next_sender  ARGV[3] next_target
-- ARGV[4] '1' = reset (clear stored messages first)  ARGV[5] now (creation time on reset)
-- ARGV[6] number of messages M  ARGV[7 .. 6+2M] seq, raw pairs;  then id, seq pairs (KEYS[4])
-- A fenced write succeeds only while KEYS[3] holds exactly this token: a stale leader whose
-- lease was taken over (and the fence counter bumped) can no longer write. Returns M.
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
local last_msg, n = 6 + 2 * m, #ARGV
local function hset_range(key, from, to)
  local i = from
  while i <= to do
    local last = math.min(i + 999, to)
    redis.call('HSET', key, unpack(ARGV, i, last))
    i = last + 1
  end
end
hset_range(KEYS[2], 7, last_msg)
if n > last_msg then
  if not KEYS[4] then
    return redis.error_reply('ERR store_save: sent ids given without the fix_sent key')
  end
  hset_range(KEYS[4], last_msg + 1, n)
end
return m
