"""The policy schema: every shipped policy loads, cites its seed, and uses the contract's role
keys; a broken policy is refused with the file, the key and the problem."""

from __future__ import annotations

import copy
import re
import shutil
import tomllib

import pytest

from mailbot.adapters.policy_files import (
    DEFAULT_POLICY_DIR,
    load_policy,
    load_policy_file,
    policy_paths,
)
from mailbot.adapters.policy_toml import parse_policy
from mailbot.domain.errors import PolicyError, PolicyProblems
from mailbot.domain.policy import Policy
from mailbot.domain.policy_checks import shared_prefixes

SHIPPED = ["berkshire", "bury", "birmingham", "bromley", "hackney"]
CONTRACT_ROLES = {"practitioner", "line_manager", "safeguarding_lead", "senior_manager",
                  "head_of_service", "head_teacher", "director", "chief_officer",
                  "business_manager", "cp_chair", "iro", "icsc", "board_chair", "lsscp",
                  "scrutineer"}


def minimal() -> dict:
    """The smallest valid policy, as parsed TOML."""
    return {
        "partnership": {"key": "test", "name": "Test Partnership", "reference_prefix": "TEST"},
        "immediate_risk": {"guidance": "Call 999."},
        "roles": {"practitioner": {"name": "Practitioner", "level": "case"},
                  "board_chair": {"name": "Chair", "level": "partnership"}},
        "stages": [
            {"number": 1, "name": "Talk", "responsible": ["practitioner"],
             "phases": [{"amount": 5, "unit": "working_days", "what": "Talk it through."}]},
            {"number": 2, "name": "Chair", "responsible": ["board_chair"],
             "decision_maker": "board_chair",
             "phases": [{"amount": 5, "unit": "working_days", "what": "Decide."}]},
        ],
    }


def load_all(directory=DEFAULT_POLICY_DIR) -> dict[str, Policy]:
    """Every policy of a folder, as `mailbot policies check` reads them: prefixes must differ."""
    policies = {str(path): load_policy_file(path) for path in policy_paths(directory)}
    clashes = shared_prefixes(policies)
    if clashes:
        raise PolicyProblems(clashes)
    return {policy.key: policy for policy in policies.values()}


def test_the_five_shipped_policies_load():
    assert sorted(load_all()) == sorted(SHIPPED)


def test_the_example_in_the_schema_readme_is_a_valid_policy():
    readme = (DEFAULT_POLICY_DIR / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", readme, re.S).group(1)
    policy = parse_policy("README.md", tomllib.loads(example))
    assert policy.key == "example" and policy.skip_rules[0].to_stage == 2


def test_the_minimal_policy_parses_with_the_documented_defaults():
    policy = parse_policy("test.toml", minimal())
    assert policy.nation == "ENG" and policy.close_of_business.isoformat() == "17:00:00"
    assert policy.chasers.reminder_working_days_before == 1
    assert policy.form.required == ("child_name", "referrer_name", "referrer_email", "summary")


def test_reference_prefixes_are_unique_across_the_shipped_policies():
    prefixes = [policy.reference_prefix for policy in load_all().values()]
    assert len(prefixes) == len(set(prefixes))


# Roles a seed has that the contract's list does not name: the chair of Berkshire's Stage
# Four meeting and of Birmingham's Stage Five meeting, whose meeting makes the decision.
ROLES_BEYOND_THE_CONTRACT = {"meeting_chair"}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_policy_uses_only_the_contract_role_keys(name):
    assert set(load_policy(name).roles) <= CONTRACT_ROLES | ROLES_BEYOND_THE_CONTRACT


@pytest.mark.parametrize("name", SHIPPED)
def test_every_rule_of_a_shipped_policy_says_where_it_comes_from(name):
    policy = load_policy(name)
    assert policy.source_document and policy.immediate_risk_source
    for stage in policy.stages:
        rules = [stage, *stage.phases, *stage.notify, *stage.conditional_roles]
        assert all(rule.source for rule in rules), stage.number
    assert all(rule.source for rule in policy.skip_rules)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_policy_ends_with_a_decision_maker_and_immediate_risk_guidance(name):
    policy = load_policy(name)
    assert policy.last_stage.decision_maker
    assert len(policy.immediate_risk_guidance) > 40
    assert policy.general_guidance


def broken(change) -> PolicyError:
    data = copy.deepcopy(minimal())
    change(data)
    with pytest.raises(PolicyError) as caught:
        parse_policy("broken.toml", data)
    return caught.value


@pytest.mark.parametrize(("change", "key", "problem"), [
    (lambda d: d["partnership"].pop("name"), "partnership.name", "required but missing"),
    (lambda d: d["partnership"].update(reference_prefix="bscp"),
     "partnership.reference_prefix", "capital letters"),
    (lambda d: d["partnership"].update(colour="red"), "partnership.colour", "not a known key"),
    (lambda d: d.update(calendar={"nation": "FRA"}), "calendar.nation", "one of ENG"),
    (lambda d: d.update(calendar={"close_of_business": "5pm"}),
     "calendar.close_of_business", "a time like 17:00"),
    (lambda d: d["stages"][0].update(number="one"), "stages[0].number", "whole number"),
    (lambda d: d["stages"][0]["phases"][0].update(unit="fortnights"),
     "stages[0].phases[0].unit", "must be one of working_days"),
    (lambda d: d["stages"][0]["phases"][0].update(amount=-1),
     "stages[0].phases[0].amount", "negative"),
    (lambda d: d["stages"][0].update(responsible=["nobody"]),
     "stages[0].responsible", "'nobody' is not declared"),
    (lambda d: d["stages"][0].update(responsible=[]), "stages[0].responsible", "at least one"),
    (lambda d: d["stages"][1].pop("decision_maker"), "stages[1].decision_maker",
     "last stage needs a decision_maker"),
    (lambda d: d["stages"][1].update(number=1), "stages", "unique, ascending"),
    (lambda d: d["stages"][0].update(deadline=3), "stages[0].deadline", "not a known key"),
    (lambda d: d["roles"]["practitioner"].update(level="agency"),
     "roles.practitioner.level", "'case' or 'partnership'"),
    (lambda d: d["roles"].update({"Line-Manager": {"name": "x", "level": "case"}}),
     "roles.Line-Manager", "snake_case"),
    (lambda d: d["immediate_risk"].update(guidance=" "), "immediate_risk.guidance", "empty"),
    (lambda d: d.update(form={"required": ["shoe_size"]}), "form.required", "not a form field"),
    (lambda d: d.update(form={"required": [], "guidance": ["x"]}), "form.guidance",
     "not a known key"),
    (lambda d: d.update(chasers={"send_at": "9"}), "chasers.send_at", "a time like"),
    (lambda d: d["stages"][0].update(
        notify=[{"roles": ["board_chair"], "why": "x", "on": "later"}]),
     "stages[0].notify[0].on", "must be one of"),
    (lambda d: d["stages"][0].update(notify=[{"roles": [], "why": "x"}]),
     "stages[0].notify[0].roles", "at least one role"),
    (lambda d: d["stages"][0].update(conditional_roles=[
        {"roles": ["board_chair"], "when": {"agency_types_include": ["church"]}}]),
     "stages[0].conditional_roles[0].when.agency_types_include", "'church' is not an agency type"),
    (lambda d: d.update(routing=[{"key": "k", "from_stage": 1, "to_stage": 9, "why": "x",
                                  "when": {}}]), "routing[0].to_stage", "does not exist"),
    (lambda d: d.update(routing=[{"key": "k", "from_stage": 2, "to_stage": 1, "why": "x",
                                  "when": {}}]), "routing[0].to_stage", "later stage"),
    (lambda d: d.update(stages=[]), "stages", "at least one stage"),
    # Issue 13: the new keys are checked as strictly as the old ones.
    (lambda d: d.update(entry={"stage": 7, "words": "x"}), "entry.stage", "does not have"),
    (lambda d: d.update(entry={"stage": 2}), "entry.words", "required but missing"),
    (lambda d: d.update(timescale={"stage_limit_working_days": 10, "limit": "soft",
                                   "words": "x"}), "timescale.limit", "'binding'"),
    (lambda d: d["stages"][1].update(must_carry=["shoe_size"]), "stages[1].must_carry",
     "not a form field"),
    (lambda d: d.update(form={"fields": ["child_name", "summary"],
                                   "required": ["child_name"], "warned": ["other_agency"]}),
     "form.warned", "not on this partnership's own form"),
    (lambda d: d.update(decision_notice={"layout": "poster"}), "decision_notice.layout",
     "one of summary"),
])
def test_a_broken_policy_names_the_file_the_key_and_the_problem(change, key, problem):
    error = broken(change)
    assert error.file == "broken.toml"
    assert error.key == key
    assert problem in error.problem
    assert str(error).startswith(f"broken.toml: {key}: ")


def test_a_file_that_is_not_toml_is_refused_with_its_name(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[partnership\nkey = 1\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="bad.toml: -: is not valid TOML"):
        load_policy_file(path)


def test_a_policy_key_must_match_its_file_name(tmp_path):
    shutil.copy(DEFAULT_POLICY_DIR / "bury.toml", tmp_path / "rochdale.toml")
    with pytest.raises(PolicyError) as caught:
        load_policy_file(tmp_path / "rochdale.toml")
    assert caught.value.key == "partnership.key" and "rochdale.toml" in caught.value.problem


def test_two_policies_with_one_reference_prefix_are_refused(tmp_path):
    shutil.copy(DEFAULT_POLICY_DIR / "bury.toml", tmp_path / "bury.toml")
    text = (DEFAULT_POLICY_DIR / "bromley.toml").read_text(encoding="utf-8")
    (tmp_path / "bromley.toml").write_text(text.replace('"BROM"', '"BSCP"'), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_all(tmp_path)
    assert caught.value.key == "partnership.reference_prefix"
    assert "already used by bromley.toml" in caught.value.problem


def test_a_missing_policy_file_is_named():
    with pytest.raises(PolicyError, match="nowhere.toml: -: file not found"):
        load_policy("nowhere")
