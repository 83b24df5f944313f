"""Upstream category paths (breadcrumbs) → our category slugs, by a source's rules.

An exact rule for the whole path beats any prefix rule; among prefix rules the longest
(most specific) wins. No rule: the source's `default_category`, else its fixed
`categories` — and the caller counts the path as unmapped so operators can add a rule.
"""

from __future__ import annotations

from syndicator.models import CategoryRule, Source


def match_rule(path: tuple[str, ...], rules: tuple[CategoryRule, ...]) -> CategoryRule | None:
    best: CategoryRule | None = None
    for rule in rules:
        if rule.match == "exact" and rule.path == path:
            return rule
        is_prefix = rule.match == "prefix" and path[: len(rule.path)] == rule.path
        if is_prefix and (best is None or len(rule.path) > len(best.path)):
            best = rule
    return best


def map_categories(path: tuple[str, ...], source: Source) -> tuple[tuple[str, ...], bool]:
    """(our category slugs for an article with upstream `path`, whether a rule mapped it)."""
    rule = match_rule(path, source.category_map) if path else None
    if rule is not None:
        return (rule.category,), True
    if source.default_category:
        return (source.default_category,), False
    return source.categories, False
