-- Give the lease up on a clean stop (a standby takes over at once). KEYS[1] lease
-- ARGV[1] 'holder|token'. Returns 1 released, 0 not ours.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
