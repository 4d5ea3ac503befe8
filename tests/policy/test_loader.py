from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policy.loader import PolicyError, PolicyProblem, load_policy, parse_policy
from policy.model import ApprovalMode, OnTimeout, Outcome, Role
from tests.policy.helpers import EXAMPLE, VALID, line_of


def problems(text: str) -> list[PolicyProblem]:
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "p.yaml")
    return raised.value.problems


def only(text: str) -> PolicyProblem:
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def broken(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


# --- a good file --------------------------------------------------------------------------


def test_the_example_policy_loads() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.source == str(EXAMPLE)
    assert len(policy.people) == 7
    assert [t.id for t in policy.tiers] == ["category-lead", "finance-director", "cfo"]
    assert set(policy.compiled) == {r.id for r in policy.rules}
    assert len(policy.version) == 64
    assert {"OFF_CONTRACT", "PRICE_MISMATCH", "MISSING_ASN"} <= set(policy.taxonomy)
    assert any(p.has_role(Role.ADMIN) for p in policy.people.values())
    assert any(p.has_role(Role.AUDITOR) for p in policy.people.values())


def test_values_are_converted() -> None:
    policy = parse_policy(VALID, "p.yaml")
    lead = policy.tier("lead")
    assert lead.mode == ApprovalMode.any()
    assert lead.sla.total_seconds() == 4 * 3600
    assert lead.on_timeout is OnTimeout.ESCALATE
    assert lead.backup == ("maria",)
    assert policy.rules[0].route == ("lead", "director")
    assert policy.rules[0].outcome is None
    assert policy.taxonomy["PRICE_MISMATCH"].sla is not None
    assert policy.people["maria"].roles == frozenset({Role.ADMIN})
    assert policy.default_route == ("lead",)


def test_outcome_rationale_and_counted_mode() -> None:
    text = broken("    route: [lead, director]\n", "    outcome: reject\n    rationale: required\n")
    text = text.replace("    approvers: [maria]\n", "    approvers: [maria, lee]\n    mode: 2\n")
    policy = parse_policy(text, "p.yaml")
    assert policy.rules[0].outcome is Outcome.REJECT
    assert policy.rules[0].rationale_required
    assert policy.tier("director").mode == ApprovalMode.of(2)


def test_when_true_is_a_catch_all() -> None:
    policy = parse_policy(broken("when: amount > 25000.0", "when: true"), "p.yaml")
    assert policy.rules[0].when == "true"


def test_load_policy_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert load_policy(path).source == str(path)


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file") as raised:
        load_policy(tmp_path / "nope.yaml")
    assert raised.value.problems[0].source == str(tmp_path / "nope.yaml")


# --- the version ----------------------------------------------------------------------------


def test_version_ignores_comments_layout_and_key_order() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    reformatted = yaml.safe_dump(yaml.safe_load(text), sort_keys=True, default_flow_style=True)
    assert "#" not in reformatted.split("url")[0]  # the comments are gone
    assert parse_policy(reformatted, "other.yaml").version == parse_policy(text, "a").version


def test_version_ignores_equivalent_spellings() -> None:
    same = broken("    sla: 4h\n", "    sla: 240m\n    on_timeout: escalate\n")
    same = same.replace("when: amount > 25000.0", "when: amount   >   25000.0 // big")
    assert parse_policy(same, "p.yaml").version == parse_policy(VALID, "p.yaml").version


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("amount > 25000.0", "amount > 26000.0"),
        ("email: lee@acme.example", "email: lee.park@acme.example"),
        ("    sla: 4h\n", "    sla: 5h\n"),
        ("route: [lead, director]", "route: [director]"),
        ("name: Test policy", "name: Test policy 2"),
    ],
)
def test_version_changes_with_meaning(old: str, new: str) -> None:
    assert parse_policy(broken(old, new), "p.yaml").version != parse_policy(VALID, "p").version


# --- problems: format and collection -------------------------------------------------------


def test_problem_text_names_file_line_and_place() -> None:
    problem = PolicyProblem("p.yaml", 3, "tiers[lead]", "unknown key 'colour'")
    assert str(problem) == "p.yaml:3: tiers[lead]: unknown key 'colour'"
    assert str(PolicyProblem("p.yaml", None, "x", "y")) == "p.yaml: x: y"


def test_all_problems_are_reported_at_once_in_line_order() -> None:
    text = broken("    mode: any\n", "    mode: anyone\n")
    text = text.replace("route: [lead, director]", "route: [lead, boss]")
    text = text.replace("    manager: dana\n", "    manager: ghost\n")
    found = problems(text)
    assert [p.where for p in found] == [
        "people[lee].manager",
        "tiers[lead].mode",
        "rules[high-value].route",
    ]
    assert [p.line for p in found] == sorted(p.line or 0 for p in found)
    error_text = str(PolicyError(found))
    assert error_text.startswith("3 problems in p.yaml:")


# --- problems: YAML -------------------------------------------------------------------------


def test_yaml_syntax_error_has_its_line() -> None:
    problem = only(broken("  leads: [dana, lee]", "  leads: [dana, lee"))
    assert problem.line is not None
    assert problem.line >= line_of(VALID, "leads: [dana")
    assert "YAML syntax error" in problem.message


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_an_empty_file(text: str) -> None:
    assert only(text).message == "the policy file is empty"


def test_a_file_that_is_not_a_mapping() -> None:
    assert "must be a mapping" in only("- a\n- b\n").message


def test_a_repeated_key() -> None:
    problem = only(broken("    sla: 4h\n", "    sla: 4h\n    sla: 5h\n"))
    assert (problem.line, problem.where) == (line_of(VALID, "sla: 4h") + 1, "tiers[lead]")
    assert problem.message == f"duplicate key 'sla' (first at line {line_of(VALID, 'sla: 4h')})"


# --- problems: schema -----------------------------------------------------------------------


def test_unknown_key_is_named_with_a_hint() -> None:
    found = problems(broken("    when: amount", "    whenn: amount"))
    line = line_of(VALID, "when: amount")
    assert [str(p) for p in found] == [
        f"p.yaml:{line - 1}: rules[high-value]: missing required key 'when'",
        f"p.yaml:{line}: rules[high-value]: unknown key 'whenn' (did you mean 'when'?)",
    ]


def test_unknown_key_lists_the_allowed_ones() -> None:
    problem = only(broken("    mode: any\n", "    mode: any\n    colour: blue\n"))
    assert problem.where == "tiers[lead]"
    assert problem.line == line_of(VALID, "mode: any") + 1
    assert problem.message.startswith("unknown key 'colour'; allowed keys: id, approvers, mode")


def test_unknown_top_level_key() -> None:
    assert "unknown key 'owners'" in only(VALID + "owners: [dana]\n").message


def test_missing_required_key() -> None:
    problem = only(broken("    name: Lee Park\n", ""))
    assert (problem.where, problem.message) == ("people[lee]", "missing required key 'name'")
    assert problem.line == line_of(VALID, "- id: lee")


def test_missing_defaults() -> None:
    problem = only(VALID.replace("defaults:\n  route: [lead]\n", ""))
    assert problem.message == "missing required key 'defaults'"


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("    sla: 4h", "    sla: 4x", "tiers[lead].sla", "bad duration '4x': use a number"),
        ("    sla: 4h", "    sla: 90", "tiers[lead].sla", "bad duration '90'"),
        (
            "    approvers: [maria]\n    sla: 1d",
            "    approvers: [maria]\n    sla: 1d\n    remind_every: soon",
            "tiers[director].remind_every",
            "bad duration 'soon'",
        ),
        (
            "    owner: lee\n    sla: 1d",
            "    owner: lee\n    sla: 1 day",
            "taxonomy[PRICE_MISMATCH].sla",
            "bad duration '1 day'",
        ),
        (
            "    mode: any",
            "    mode: some",
            "tiers[lead].mode",
            "must be any, all or a number of approvals, not 'some'",
        ),
        ("    mode: any", "    mode: 0", "tiers[lead].mode", "fewer than 1 approval"),
        (
            "    mode: any",
            "    mode: any\n    escalate_after: -1",
            "tiers[lead].escalate_after",
            "should be greater than or equal to 0, not -1",
        ),
        (
            "    mode: any",
            "    mode: any\n    on_timeout: panic",
            "tiers[lead].on_timeout",
            "should be 'escalate', 'approve', 'reject' or 'expire', not \"panic\"",
        ),
        (
            "    route: [lead, director]",
            "    outcome: maybe",
            "rules[high-value].outcome",
            "should be 'approve' or 'reject', not \"maybe\"",
        ),
        (
            "    route: [lead, director]",
            "    route: [lead]\n    rationale: always",
            "rules[high-value].rationale",
            "should be 'required' or 'optional', not \"always\"",
        ),
        (
            "    roles: [admin]",
            "    roles: [boss]",
            "people[maria].roles",
            "should be 'admin' or 'auditor', not \"boss\"",
        ),
        ("email: lee@acme.example", "email: lee", "people[lee].email", "not an email address"),
        ("    slack: U0DANA", "    slack: 12345", "people[dana].slack", "should be a valid string"),
    ],
)
def test_bad_values(old: str, new: str, where: str, message: str) -> None:
    problem = only(broken(old, new))
    assert problem.where == where
    assert message in problem.message
    assert problem.line == line_of(broken(old, new), new.strip().splitlines()[-1])


# --- problems: cross-checks -----------------------------------------------------------------


def test_invalid_id() -> None:
    problem = problems(broken("  - id: lee", "  - id: lee park"))[0]
    assert problem.where == "people[lee park].id"
    assert problem.message.startswith("'lee park' is not a valid id: use letters, digits")


def test_cel_syntax_error_has_the_when_line_and_the_column() -> None:
    problem = only(broken("when: amount > 25000.0", "when: amount > 25000.0 &&"))
    assert problem.where == "rules[high-value].when"
    assert problem.line == line_of(VALID, "when: amount")
    assert problem.message.startswith("syntax error at column 20: the expression ends too early")


def test_cel_unknown_field_has_its_column() -> None:
    problem = only(broken("when: amount > 25000.0", "when: amount > 1.0 && supplier.rating > 3"))
    assert str(problem) == (
        f"p.yaml:{line_of(VALID, 'when: amount')}: rules[high-value].when: column 26: "
        "unknown field 'supplier.rating' (supplier has: id, name, risk_score, on_contract)"
    )


def test_unknown_tiers_in_routes() -> None:
    found = problems(
        broken("route: [lead, director]", "route: [lead, directr]").replace(
            "  route: [lead]", "  route: [nowhere]"
        )
    )
    assert [(p.where, p.message) for p in found] == [
        ("rules[high-value].route", "unknown tier 'directr' (did you mean 'director'?)"),
        ("defaults.route", "unknown tier 'nowhere'; tiers are: director, lead"),
    ]


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("    manager: dana", "    manager: dan", "people[lee].manager"),
        ("    manager: dana", "    manager: dana\n    delegate: dan", "people[lee].delegate"),
        ("approvers: [maria]", "approvers: [dan]", "tiers[director].approvers"),
        ("backup: [maria]", "backup: [dan]", "tiers[lead].backup"),
        ("    owner: lee", "    owner: dan", "taxonomy[PRICE_MISMATCH].owner"),
        ("leads: [dana, lee]", "leads: [dan, lee]", "groups.leads"),
    ],
)
def test_unknown_people(old: str, new: str, where: str) -> None:
    problem = only(broken(old, new))
    assert (problem.where, problem.message) == (
        where,
        "unknown person 'dan' (did you mean 'dana'?)",
    )
    assert problem.line == line_of(broken(old, new), new.strip().splitlines()[-1])


def test_unknown_group() -> None:
    problem = only(broken("approvers: [group:leads]", "approvers: [group:lead]"))
    assert (problem.where, problem.message) == (
        "tiers[lead].approvers",
        "unknown group 'lead' (did you mean 'leads'?)",
    )


def test_groups_cannot_contain_groups() -> None:
    problem = only(broken("leads: [dana, lee]", "leads: [dana, group:leads]"))
    assert "groups cannot contain groups" in problem.message


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("  - id: lee\n", "  - id: dana\n", "people[dana]", "duplicate person id 'dana'"),
        (
            "email: lee@acme.example",
            "email: Dana@Acme.example",
            "people[lee]",
            "duplicate email 'Dana@Acme.example'",
        ),
        (
            "    manager: dana\n",
            "    manager: dana\n    slack: U0DANA\n",
            "people[lee]",
            "duplicate slack id 'U0DANA'",
        ),
        (
            "    manager: dana\n",
            "    manager: dana\n    teams: '29:1dana'\n",
            "people[lee]",
            "duplicate teams id '29:1dana'",
        ),
        ("  - id: director", "  - id: lead", "tiers[lead]", "duplicate tier id 'lead'"),
    ],
)
def test_duplicates_point_at_both(old: str, new: str, where: str, message: str) -> None:
    found = problems(broken(old, new))
    problem = next(p for p in found if p.message.startswith("duplicate"))
    assert problem.where == where
    assert problem.message.startswith(message)
    assert "(first at line " in problem.message


def test_duplicate_rule_and_code() -> None:
    text = VALID.replace(
        "defaults:",
        "  - id: high-value\n    when: 'true'\n    outcome: approve\ndefaults:",
    ).replace(
        "tiers:\n",
        "  - code: PRICE_MISMATCH\n    title: Again\ntiers:\n",
    )
    found = {(p.where, p.message.split(" (")[0]) for p in problems(text)}
    assert found == {
        ("rules[high-value]", "duplicate rule id 'high-value'"),
        ("taxonomy[PRICE_MISMATCH]", "duplicate code 'PRICE_MISMATCH'"),
    }


def test_manager_cycle_is_named() -> None:
    problem = only(broken("    roles: [admin]\n", "    roles: [admin]\n    manager: lee\n"))
    assert problem.where == "people[dana].manager"
    assert problem.message == "managers form a cycle: dana -> maria -> lee -> dana"


def test_own_manager_is_a_cycle() -> None:
    problem = only(broken("    roles: [admin]\n", "    roles: [admin]\n    manager: maria\n"))
    assert problem.message == "managers form a cycle: maria -> maria"


def test_delegate_to_self() -> None:
    problem = only(broken("    manager: dana\n", "    manager: dana\n    delegate: lee\n"))
    assert (problem.where, problem.message) == (
        "people[lee].delegate",
        "a person cannot be their own delegate",
    )


def test_tier_without_approvers() -> None:
    problem = only(broken("approvers: [maria]", "approvers: []"))
    assert (problem.where, problem.message) == (
        "tiers[director].approvers",
        "the tier has no approvers",
    )


def test_tier_whose_groups_are_empty() -> None:
    problem = only(broken("leads: [dana, lee]", "leads: []"))
    assert problem.where == "tiers[lead].approvers"
    assert "expand to nobody" in problem.message


def test_mode_larger_than_the_expanded_approvers() -> None:
    problem = only(broken("    mode: any", "    mode: 3"))
    assert problem.where == "tiers[lead].mode"
    assert problem.message == "mode 3 needs 3 different approvers, but the tier has 2: dana, lee"


def test_rule_with_neither_route_nor_outcome() -> None:
    problem = only(broken("    route: [lead, director]\n", ""))
    assert problem.where == "rules[high-value]"
    assert "needs a route (tier ids) or an outcome" in problem.message


def test_rule_with_both_route_and_outcome() -> None:
    problem = only(
        broken("    route: [lead, director]\n", "    route: [lead]\n    outcome: approve\n")
    )
    assert problem.where == "rules[high-value]"
    assert "has both route and outcome" in problem.message


def test_rule_with_an_empty_route() -> None:
    problem = only(broken("route: [lead, director]", "route: []"))
    assert problem.message == "the route is empty; name at least one tier"


def test_a_bad_value_does_not_hide_the_other_problems_of_its_entry() -> None:
    text = broken("    manager: dana\n", "    manager: dana\n    delegate: lee\n    colour: x\n")
    messages = {p.message.split(";")[0] for p in problems(text)}
    assert messages == {"a person cannot be their own delegate", "unknown key 'colour'"}
