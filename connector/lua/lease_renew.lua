-- Renew the lease only while it is still ours with this token (and the token is current).
-- KEYS[1] lease  KEYS[2] fence counter   ARGV[1] 'holder|token'  ARGV[2] TTL in ms  ARGV[3] token
-- Returns 1 renewed, 0 lost.
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', KEYS[2]) ~= ARGV[3] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
