"""Reads policy files from ``policies/`` and the bank holidays their calendars name.

The only I/O around policies: reading TOML and asking the ``holidays`` package for the
nation's bank holidays. Validation is ``policy_toml``'s (pydantic, then the domain's
cross-checks).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

from mailbot.adapters.policy_toml import parse_policy
from mailbot.domain.errors import PolicyError, PolicyProblems
from mailbot.domain.policy import Policy
from mailbot.domain.working_days import LONDON, WorkingCalendar
from mailbot.shipped import shipped_dir

# The policies shipped with the package; a config's policies_dir may point elsewhere.
DEFAULT_POLICY_DIR = shipped_dir("policies")
PLACEHOLDER = "FILL IN"  # what `mailbot policies new` leaves for the partnership to write


def load_policy_file(path: Path) -> Policy:
    """The policy in ``path``; raises ``PolicyProblems`` listing every problem of the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(str(path), "-", "file not found") from None
    except OSError as error:
        raise PolicyError(str(path), "-", f"cannot be read: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(str(path), "-", f"is not valid TOML: {error}",
                          "Fix the TOML at the line shown.") from error
    unfinished = unfinished_keys(path, data)
    if unfinished:
        raise PolicyProblems(unfinished)
    policy = parse_policy(str(path), data)
    if policy.key != path.stem:
        raise PolicyError(str(path), "partnership.key",
                          f"is {policy.key!r} but the file is named {path.name}; make them match")
    return policy


def policy_problems(path: Path) -> list[PolicyError]:
    """Every place still to fill in, else every problem the file has (none: valid)."""
    try:
        load_policy_file(path)
    except PolicyProblems as error:
        return error.problems
    except PolicyError as error:
        return [error]
    return []


def unfinished_keys(path: Path, data: dict) -> list[PolicyError]:
    return [PolicyError(str(path), key, f"still says {PLACEHOLDER!r}",
                        "Replace it with your procedure's own words (policies/ADDING.md).")
            for key in placeholders(data)]


def placeholders(data: object, key: str = "") -> list[str]:
    """The dotted keys whose text still holds the starting file's FILL IN marker."""
    if isinstance(data, str):
        return [key or "-"] if PLACEHOLDER in data else []
    if isinstance(data, dict):
        return [k for name, value in data.items()
                for k in placeholders(value, f"{key}.{name}" if key else name)]
    if isinstance(data, list):
        return [k for i, value in enumerate(data) for k in placeholders(value, f"{key}[{i}]")]
    return []


def policy_paths(directory: Path = DEFAULT_POLICY_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def load_policy(name: str, directory: Path = DEFAULT_POLICY_DIR) -> Policy:
    return load_policy_file(directory / f"{name}.toml")


def calendar_for(policy: Policy, zone: ZoneInfo = LONDON) -> WorkingCalendar:
    """A working calendar with the bank holidays of the policy's UK nation, in the config's
    time zone (deadlines close at close of business there)."""
    import holidays  # not on import: `mailbot policies show` and `cases show` never count days

    bank_holidays = holidays.country_holidays("GB", subdiv=policy.nation)
    return WorkingCalendar(bank_holidays, zone, policy.close_of_business)
