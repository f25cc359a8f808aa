"""Supervisors' changes to routing rules: create, edit, delete, reorder, switch on
and off.

Pointing a rule at another team lives in tickets.actions.routing
(do_change_rule_team), because it may move tickets.
"""

import logging
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Max

from supportdesk import registry
from supportdesk.errors import ActionError
from supportdesk.locks import lock_rows
from tickets.models import Agent, RoutingRule, Team

logger = logging.getLogger(__name__)


class RuleError(ActionError):
    pass


def clean_terms(values: Iterable[str], *, lower: bool = True) -> list[str]:
    """Trimmed, de-duplicated, in the order given; blanks dropped."""
    cleaned = (str(value).strip() for value in values)
    return list(dict.fromkeys(v.lower() if lower else v for v in cleaned if v))


def _conditions(
    *,
    channels: Sequence[str],
    keywords: Sequence[str],
    segments: Sequence[str],
    languages: Sequence[str],
) -> dict[str, list[str]]:
    channels = clean_terms(channels)
    # Internal notes never open a ticket: no rule can route on them.
    unknown = sorted(set(channels) - set(registry.message_channels()))
    if unknown:
        raise RuleError(f"unknown channel {', '.join(unknown)}")
    return {
        "channels": channels,
        "keywords": clean_terms(keywords),
        "segments": clean_terms(segments),
        "languages": clean_terms(languages),
    }


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise RuleError("a rule needs a name")
    return name[:120]


@transaction.atomic
def do_create_rule(
    *,
    name: str,
    team: Team,
    channels: Sequence[str] = (),
    keywords: Sequence[str] = (),
    segments: Sequence[str] = (),
    languages: Sequence[str] = (),
    enabled: bool = True,
    actor: Agent | None = None,
) -> RoutingRule:
    """A new rule, placed after every existing one."""
    conditions = _conditions(
        channels=channels, keywords=keywords, segments=segments, languages=languages
    )
    # Two supervisors adding rules at once must not share a position.
    lock_rows(RoutingRule.objects.all())
    last = RoutingRule.objects.aggregate(last=Max("position"))["last"]
    rule = RoutingRule.objects.create(
        name=_name(name),
        team=team,
        enabled=enabled,
        position=0 if last is None else last + 1,
        **conditions,
    )
    logger.info("rule %s created by %s", rule.pk, actor)
    return rule


@transaction.atomic
def do_update_rule(
    *,
    rule: RoutingRule,
    name: str,
    channels: Sequence[str],
    keywords: Sequence[str],
    segments: Sequence[str],
    languages: Sequence[str],
    actor: Agent | None = None,
) -> RoutingRule:
    """Rename a rule and replace its conditions; its team and place stay."""
    conditions = _conditions(
        channels=channels, keywords=keywords, segments=segments, languages=languages
    )
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    changed = {"name": _name(name), **conditions}
    fields = [
        field for field, value in changed.items() if getattr(rule, field) != value
    ]
    if not fields:
        return rule
    for field in fields:
        setattr(rule, field, changed[field])
    rule.save(update_fields=fields)
    logger.info("rule %s: %s changed by %s", rule.pk, ", ".join(fields), actor)
    return rule


@transaction.atomic
def do_set_rule_enabled(
    *, rule: RoutingRule, enabled: bool, actor: Agent | None = None
) -> RoutingRule:
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    if rule.enabled != enabled:
        rule.enabled = enabled
        rule.save(update_fields=["enabled"])
        logger.info("rule %s %s by %s", rule.pk, "on" if enabled else "off", actor)
    return rule


@transaction.atomic
def do_reorder_rules(
    *, rule_ids: Sequence[int], actor: Agent | None = None
) -> list[RoutingRule]:
    """Put the rules in this order and renumber every position 0, 1, 2, ...

    The order must name every rule exactly once, so a supervisor working from a
    stale list cannot silently drop a rule added meanwhile.
    """
    rules = {rule.pk: rule for rule in lock_rows(RoutingRule.objects.all())}
    if len(rule_ids) != len(set(rule_ids)) or set(rule_ids) != set(rules):
        raise RuleError("the new order must list every rule once")
    ordered = [rules[pk] for pk in rule_ids]
    moved = []
    for position, rule in enumerate(ordered):
        if rule.position != position:
            rule.position = position
            moved.append(rule)
    RoutingRule.objects.bulk_update(moved, ["position"])
    if moved:
        logger.info("rules reordered by %s: %s", actor, list(rule_ids))
    return ordered


@transaction.atomic
def do_delete_rule(*, rule: RoutingRule, actor: Agent | None = None) -> None:
    """Remove a rule and close the gap it leaves in the order.

    Tickets it placed keep their team; their route changes keep the reason, which
    names the rule, and lose only the link to it.
    """
    remaining = [r for r in lock_rows(RoutingRule.objects.all()) if r.pk != rule.pk]
    deleted, _ = RoutingRule.objects.filter(pk=rule.pk).delete()
    if not deleted:
        raise RuleError("no such rule")
    moved = []
    for position, other in enumerate(
        sorted(remaining, key=lambda r: (r.position, r.pk))
    ):
        if other.position != position:
            other.position = position
            moved.append(other)
    RoutingRule.objects.bulk_update(moved, ["position"])
    logger.info("rule %s (%s) deleted by %s", rule.pk, rule.name, actor)


@transaction.atomic
def do_move_rule(
    *, rule: RoutingRule, offset: int, actor: Agent | None = None
) -> list[RoutingRule]:
    """Move a rule up (offset -1) or down (+1) in the order; the ends stay put."""
    locked = lock_rows(RoutingRule.objects.all())
    current = [r.pk for r in sorted(locked, key=lambda r: (r.position, r.pk))]
    if rule.pk not in current:
        raise RuleError("no such rule")
    index = current.index(rule.pk)
    target = min(max(index + offset, 0), len(current) - 1)
    current.insert(target, current.pop(index))
    return do_reorder_rules(rule_ids=current, actor=actor)
