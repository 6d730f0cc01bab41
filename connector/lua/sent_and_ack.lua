-- After a batch was written ahead and handed to the socket: the orders' trail steps and the
-- stream acknowledgements of ONE partition, in one call (all keys share the tag {p}).
-- KEYS[1] og:{p}:cmd:<VENUE>   KEYS[2..] og:{p}:trail:<id>, one per step
-- ARGV[1] consumer group  ARGV[2] number of entry ids N  ARGV[3..2+N] entry ids
-- ARGV[3+N..] one JSON trail step per trail key, in KEYS order
local n = tonumber(ARGV[2])
local acked = 0
if n > 0 then
  acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 3, 2 + n))
end
for i = 2, #KEYS do
  redis.call('RPUSH', KEYS[i], ARGV[2 + n + i - 1])
end
return acked
