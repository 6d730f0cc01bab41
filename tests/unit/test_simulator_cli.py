"""``ordergate simulator`` flags merged with the config file; ``simulator-ctl`` requests."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from simulators.exchange import cli, ctl
from simulators.exchange.config import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_flags_alone_give_one_session_named_after_the_comp_ids() -> None:
    cfg = cli.build_config(
        parse("--venue", "TSE", "--sender-comp-id", "TSE", "--target-comp-id", "OG")
    )
    assert [s.name for s in cfg.sessions] == ["FIX.4.4:TSE->OG"]


def test_sender_comp_id_defaults_to_the_venue() -> None:
    cfg = cli.build_config(parse("--venue", "JNX"))
    assert cfg.sessions[0].sender_comp_id == "JNX"
    assert cfg.sessions[0].target_comp_id == "ORDERGATE"


def test_rehearsal_flags_apply_to_every_session(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(
        '[[session]]\nSenderCompID = "T"\nTargetCompID = "A"\n'
        '[[session]]\nSenderCompID = "T"\nTargetCompID = "B"\n'
    )
    cfg = cli.build_config(
        parse(
            "--config", str(path), "--reset-on-logon", "--cancel-on-disconnect", "--heartbeat-check"
        )
    )
    assert all(s.settings["ResetOnLogon"] is True for s in cfg.sessions)
    assert all(s.cancel_on_disconnect and s.heartbeat_check for s in cfg.sessions)


def test_flag_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text("[simulator]\nport = 1111\ncontrol_port = 2222\n")
    cfg = cli.build_config(parse("--config", str(path), "--port", "3333"))
    assert (cfg.port, cfg.control_port) == (3333, 2222)


def test_comp_id_flags_with_sessions_in_the_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text('[[session]]\nSenderCompID = "T"\nTargetCompID = "A"\n')
    with pytest.raises(ConfigError, match="not both"):
        cli.build_config(parse("--config", str(path), "--target-comp-id", "X"))


def test_bad_config_file_makes_run_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sim.toml"
    path.write_text("[simulator]\nprot = 1\n")
    assert cli.run(parse("--config", str(path))) == 2
    assert "unknown key 'prot'" in capsys.readouterr().err


def ctl_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    ctl.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_ctl_fault_parameters_become_json_values() -> None:
    method, path, body = ctl.request(
        ctl_args("fault", "drop_outbound", "count=2", "--session", "S")
    )
    assert (method, path, body) == (
        "POST",
        "/faults",
        {"fault": "drop_outbound", "count": 2, "session": "S"},
    )


def test_ctl_phase_clock_follows_the_clock_again() -> None:
    assert ctl.request(ctl_args("phase", "clock"))[2] == {"phase": None}


def test_ctl_kill_switch_off_releases() -> None:
    assert ctl.request(ctl_args("kill-switch", "--off"))[2] == {"active": False}


def test_ctl_cancel_on_disconnect_posts_its_switch() -> None:
    method, path, body = ctl.request(ctl_args("cancel-on-disconnect", "--session", "ORDERGATE"))
    assert (method, path, body) == (
        "POST",
        "/cancel-on-disconnect",
        {"active": True, "session": "ORDERGATE"},
    )


def test_ctl_parameter_without_equals_is_refused() -> None:
    with pytest.raises(ValueError, match="key=value"):
        ctl.fault_body("drop_outbound", ["count"], None)


def test_ctl_unreachable_simulator_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from support.procs import free_port

    args = ctl_args("--port", str(free_port()), "state")
    assert ctl.run(args) == 2
    assert "cannot reach" in capsys.readouterr().err
