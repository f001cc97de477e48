"""`mailbot policies new NAME`: a commented starting policy file for a new partnership.

The file is valid TOML in the schema of policies/README.md, with every sentence that must
come from the partnership's own procedure marked ``FILL IN``; `mailbot policies check`
names each one still there (file, key and what to write), so a half-written policy can never
run cases. policies/ADDING.md walks a business manager through it.
"""

from __future__ import annotations

import re
from pathlib import Path

from mailbot.domain.errors import ConfigError

NAME = re.compile(r"^[a-z][a-z0-9_]*$")

TEMPLATE = '''# {name}: resolving professional differences (escalation) policy, as data for mailbot.
# Written from: FILL IN the title and date of your procedure document, here and in `source`.
# Schema: policies/README.md. Step by step: policies/ADDING.md. Check it: mailbot policies check
# Every "FILL IN" must be replaced with your procedure's own words before mailbot will load it.

# Guidance for every stage (top-level keys must stay above the first [table]).
guidance = [
  "FILL IN: a sentence your procedure says applies at every stage (recording, timescales).",
]

[partnership]
key = "{name}"                      # must stay the file's name, without .toml
name = "FILL IN: the partnership's name, as emails should show it"
reference_prefix = "{prefix}"      # 2 to 10 capital letters, not used by another policy
source = "FILL IN: the procedure's title and date"

[calendar]
nation = "ENG"                     # whose bank holidays: ENG, WLS, SCT or NIR
close_of_business = "17:00"        # a deadline of n working days ends at this time

[immediate_risk]
guidance = "FILL IN: what your procedure says to do when a child is at immediate risk (999, the front door)."
source = "FILL IN: where the procedure says it"

[chasers]
reminder_working_days_before = 1   # 0: no reminder
on_the_day = true
overdue_every_working_days = 2
send_at = "09:00"

[form]
required = ["child_name", "referrer_name", "referrer_email", "summary"]
warned = ["child_dob", "referrer_agency", "desired_outcome"]

# One [roles.KEY] per role your stages involve. Use the contract's keys where you can:
# practitioner, line_manager, safeguarding_lead, senior_manager, head_of_service, head_teacher,
# director, chief_officer, business_manager, cp_chair, iro, icsc, board_chair, lsscp, scrutineer.
# level = "case": named on the form or by ASSIGN; "partnership": from [mailbox.contacts].
[roles.practitioner]
name = "Practitioner"
level = "case"

[roles.line_manager]
name = "Line manager"
level = "case"

[roles.business_manager]
name = "Business Manager"
level = "partnership"

# The ladder, lowest stage first. Copy a [[stages]] block for each stage of your procedure.
[[stages]]
number = 1
name = "Practitioner to practitioner"
responsible = ["practitioner"]
what_happens = "FILL IN: what happens at this stage, in your procedure's words."
source = "FILL IN: the section of the procedure"
[[stages.phases]]
amount = 5
unit = "working_days"              # working_days, working_hours or clock_hours
what = "FILL IN: what must be done within this time."
source = "FILL IN: where the timescale comes from (or 'Local default: the procedure sets none')"

[[stages]]
number = 2
name = "Line manager to line manager"
responsible = ["line_manager"]
what_happens = "FILL IN: what happens at this stage."
source = "FILL IN: the section of the procedure"
[[stages.phases]]
amount = 5
unit = "working_days"
what = "FILL IN: what must be done within this time."
source = "FILL IN: where the timescale comes from"

[[stages]]
number = 3
name = "Partnership"
responsible = ["business_manager"]
decision_maker = "business_manager"  # the last stage needs one: whose DECISION closes the case
what_happens = "FILL IN: how the partnership decides."
source = "FILL IN: the section of the procedure"
[[stages.phases]]
amount = 5
unit = "working_days"
what = "FILL IN: what must be done within this time."
source = "FILL IN: where the timescale comes from"
'''


def write_new_policy(name: str | None, out: Path | None) -> int:
    if not name or not NAME.match(name):
        raise ConfigError("command line", "policies new", f"needs a policy name in lower case"
                          f" letters, digits and _ (got {name!r})",
                          "Run it as: mailbot policies new rochdale")
    path = out or Path(f"{name}.toml")
    if path.stem != name:
        raise ConfigError("command line", "--out", f"the file must be named {name}.toml, not {path.name}",
                          f"Give --out a path ending in {name}.toml.")
    if path.exists():
        raise ConfigError("command line", "policies new", f"{path} already exists",
                          "Choose another name, or move the old file away first.")
    prefix = re.sub(r"[^A-Z]", "", name.upper())[:7] + "SCP"  # at most 10 letters
    path.write_text(TEMPLATE.format(name=name, prefix=prefix), encoding="utf-8")
    print(f"wrote {path}: replace every FILL IN with your procedure's words (policies/ADDING.md"
          f" walks you through it), put it in the folder your config's policies_dir names, then"
          f" run: mailbot policies check")
    return 0
