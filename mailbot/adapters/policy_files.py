"""Reads policy files from ``policies/`` and the bank holidays their calendars name.

The only I/O around policies: reading TOML and asking the ``holidays`` package for the
nation's bank holidays. Parsing and validation live in ``mailbot.domain.policy_schema``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import holidays

from mailbot.domain.errors import PolicyError
from mailbot.domain.policy import Policy
from mailbot.domain.policy_schema import parse_policy
from mailbot.domain.working_days import LONDON, WorkingCalendar

# The policies shipped beside the package; an installed copy may point elsewhere by config.
DEFAULT_POLICY_DIR = Path(__file__).resolve().parents[2] / "policies"


def load_policy_file(path: Path) -> Policy:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(str(path), "-", "file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(str(path), "-", f"is not valid TOML: {error}") from error
    policy = parse_policy(str(path), data)
    if policy.key != path.stem:
        raise PolicyError(str(path), "partnership.key",
                          f"is {policy.key!r} but the file is named {path.name}; make them match")
    return policy


def policy_paths(directory: Path = DEFAULT_POLICY_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def load_policy(name: str, directory: Path = DEFAULT_POLICY_DIR) -> Policy:
    return load_policy_file(directory / f"{name}.toml")


def load_all(directory: Path = DEFAULT_POLICY_DIR) -> dict[str, Policy]:
    """Every policy in ``directory``; reference prefixes must differ so references never clash."""
    policies: dict[str, Policy] = {}
    for path in policy_paths(directory):
        policy = load_policy_file(path)
        clash = next((p for p in policies.values()
                      if p.reference_prefix == policy.reference_prefix), None)
        if clash:
            raise PolicyError(str(path), "partnership.reference_prefix",
                              f"{policy.reference_prefix!r} is already used by {clash.key}.toml;"
                              " choose another")
        policies[path.stem] = policy
    return policies


def calendar_for(policy: Policy) -> WorkingCalendar:
    """A working calendar with the bank holidays of the policy's UK nation."""
    bank_holidays = holidays.country_holidays("GB", subdiv=policy.nation)
    return WorkingCalendar(bank_holidays, LONDON, policy.close_of_business)
