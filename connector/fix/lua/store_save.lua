-- Persist a FIX session's sequence numbers and a batch of outbound messages in one step.
-- KEYS[1] fix_state (hash)  KEYS[2] fix_out (hash seq -> raw)  KEYS[3] fix_fence (string)
-- ARGV[1] fencing token ('' = unfenced)  ARGV[2] next_sender  ARGV[3] next_target
-- ARGV[4] '1' = reset (clear stored messages first)  ARGV[5] now (creation time on reset)
-- ARGV[6..] seq, raw, seq, raw, ...
-- A fenced write succeeds only while KEYS[3] holds exactly this token: a stale leader whose
-- lease was taken over (and the fence counter bumped) can no longer write.
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
local n = #ARGV
local i = 6
while i <= n do
  local last = math.min(i + 999, n)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, last))
  i = last + 1
end
return (n - 5) / 2
