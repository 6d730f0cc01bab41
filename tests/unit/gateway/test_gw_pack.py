"""The fast RESP packer used for pipelined script calls encodes exactly like redis-py."""

from redis.asyncio.connection import Connection

from gateway.scripts import pack_commands


def test_pack_matches_redis_py_for_every_argument_type():
    args = ["EVALSHA", "abc", 2, "og:{1}:k", "日本", b"\x00\xff", 0, -5, 10**15, "0.5", ""]
    expected = b"".join(Connection().pack_command(*args))
    assert pack_commands([args]) == expected


def test_pack_concatenates_commands_in_order():
    a, b = ["PING"], ["ECHO", "x"]
    assert pack_commands([a, b]) == pack_commands([a]) + pack_commands([b])


def test_packed_script_calls_equal_the_plain_evalsha_commands():
    from gateway.scripts import Script, pack_script_calls

    s = Script("submit")
    calls = [(s, ["og:{1}:a", "og:{1}:b"], ["x", 7, b"\x00"]), (s, ["k"], [])]
    expected = pack_commands([["EVALSHA", s.sha, len(k), *k, *a] for _, k, a in calls])
    assert pack_script_calls(calls) == expected


def test_pre_encoded_arguments_pack_as_their_plain_values():
    from gateway.resp import resp_bulk
    from gateway.scripts import Script, pack_script_calls

    s = Script("submit")
    plain = [(s, ["og:{1}:a"], ["B01", 10_000, "0.5", b"\x00"])]
    pre = [(s, [resp_bulk("og:{1}:a")], [resp_bulk("B01"), resp_bulk(10_000), "0.5", b"\x00"])]
    assert pack_script_calls(pre) == pack_script_calls(plain)
