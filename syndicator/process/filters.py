"""Keep and block rules: the articles an operator does not want are never stored.

Why at ingest, before the store, and not as a view over stored articles: an article
that is not stored cannot leak into any feed, archive page, combined feed, cache or
API, and costs no retention slot that a wanted article needed. (A stored-but-hidden
flag would have to be honoured by every reader of the store, now and in future.) An
article stored before a rule that now drops it (a rule added since, or an upstream edit)
is withdrawn when its source lists it again (`ingest.storing.withdraw`: removed from
the store and its feeds republished, without a tombstone, so it returns if the rule
goes); an article another source also lists stays, as that source did not block it.
A rule with `older_than` never withdraws: an article stored while fresh is not taken
back for growing old (retention does that).

Rules come from `[filters]` (every source) and the source's own `keep`/`block`. Order:
1. block rules, `[filters]`'s then the source's, in file order: the first that matches
   drops the article (`blocked: <rule>` in source health);
2. keep rules: when `[filters]` has any, the article must match one of them; when the
   source has any, it must also match one of those (`not kept: filters.keep` /
   `not kept: keep`).
A rule matches when all its conditions hold: `words` (plain words, the matching of
`?q=`: `syndicator.words`), `regex` (the `regex` module, compiled at config load, each
match bounded by `filters.regex_timeout`; a timeout is no match, counted as
`regex timeout: <rule>` and logged once per ingest) and `older_than`.

Matching runs in a thread (the `regex` module releases the GIL while it matches), so a
slow pattern never holds the event loop that answers feed requests.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from syndicator.models import Article, FilterRule, Source
from syndicator.process.step import Batch, Dropped, ProcessContext
from syndicator.values import CompiledRegex
from syndicator.words import all_match, fold, html_text, normalise_terms, term_patterns

log = logging.getLogger(__name__)

Kind = Literal["keep", "block"]


@dataclass(frozen=True)
class Rule:
    """A config rule, ready to match: its name, its kind, its word patterns."""

    name: str
    kind: Kind
    field: str
    words: tuple[tuple[re.Pattern[str], ...], ...]
    regex: CompiledRegex | None
    older_than: timedelta | None
    label: str  # what it looks for, for the dropped article's reason


@lru_cache(maxsize=1024)
def _word_patterns(words: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], ...], ...]:
    """Each entry's term patterns; an entry with no terms left is () and never matches."""
    return tuple(term_patterns(normalise_terms(entry)) for entry in words)


def duration_text(value: timedelta) -> str:
    """`2d`, `1d12h`, `90s`, `0.5s`: a duration as the config file writes it."""
    seconds = value.total_seconds()
    if seconds != int(seconds) or seconds < 1:
        return f"{seconds:g}s"
    out, rest = "", int(seconds)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out


def _label(rule: FilterRule) -> str:
    parts = []
    where = "" if rule.field == "any" else f"{rule.field} "
    if rule.words:
        parts.append(f"{where}words " + ", ".join(f"“{w}”" for w in rule.words))
    if rule.regex is not None:
        parts.append(f"{where}regex /{rule.regex.text}/")
    if rule.older_than is not None:
        parts.append(f"older than {duration_text(rule.older_than)}")
    return " and ".join(parts)


def compile_rules(rules: tuple[FilterRule, ...], kind: Kind, prefix: str) -> tuple[Rule, ...]:
    """`rules` of one list (`filters.block`, a source's `keep`), named by key unless named."""
    return tuple(
        Rule(
            rule.name or f"{prefix}{kind}[{index}]",
            kind,
            rule.field,
            _word_patterns(rule.words),
            rule.regex,
            rule.older_than,
            _label(rule),
        )
        for index, rule in enumerate(rules)
    )


@dataclass(frozen=True)
class RuleSet:
    """The rules one source's ingest applies, in the order they apply."""

    block: tuple[Rule, ...]
    global_keep: tuple[Rule, ...]
    source_keep: tuple[Rule, ...]
    regex_timeout: float

    @property
    def empty(self) -> bool:
        return not (self.block or self.global_keep or self.source_keep)

    @property
    def has_regex(self) -> bool:
        return any(r.regex is not None for r in (*self.block, *self.global_keep, *self.source_keep))


def rule_set(
    filters_block: tuple[FilterRule, ...],
    filters_keep: tuple[FilterRule, ...],
    source: Source,
    regex_timeout: float,
) -> RuleSet:
    """The global rules (`[filters]`) and `source`'s, compiled."""
    return RuleSet(
        block=compile_rules(filters_block, "block", "filters.") + compile_rules(source.block, "block", ""),
        global_keep=compile_rules(filters_keep, "keep", "filters."),
        source_keep=compile_rules(source.keep, "keep", ""),
        regex_timeout=regex_timeout,
    )


def field_text(article: Article, field: str) -> str:
    """The text a rule's `field` names, unfolded (regexes see it as written)."""
    if field == "title":
        return article.title
    if field == "author":
        return article.author or ""
    if field == "url":
        return article.url
    if field == "content":
        return html_text(article.content_html) + "\n" + html_text(article.summary)
    if field == "category":
        return "\n".join((*article.tags, *article.categories))
    parts = (
        article.title,
        article.author or "",
        html_text(article.summary),
        html_text(article.content_html),
        *article.categories,
        *article.tags,
    )
    return "\n".join(parts)


class _Matcher:
    """Matches rules against one article, computing each field's text once."""

    def __init__(self, article: Article, rules: RuleSet, now: datetime, context: ProcessContext) -> None:
        self.article = article
        self.rules = rules
        self.now = now
        self.context = context
        self._texts: dict[str, str] = {}
        self._folded: dict[str, str] = {}

    def text(self, field: str) -> str:
        if field not in self._texts:
            self._texts[field] = field_text(self.article, field)
        return self._texts[field]

    def folded(self, field: str) -> str:
        if field not in self._folded:
            self._folded[field] = fold(self.text(field))
        return self._folded[field]

    def matches(self, rule: Rule) -> bool:
        if rule.older_than is not None and not self.article.published < self.now - rule.older_than:
            return False
        if rule.words and not any(all_match(patterns, self.folded(rule.field)) for patterns in rule.words):
            return False
        return rule.regex is None or self._regex_matches(rule, rule.regex)

    def _regex_matches(self, rule: Rule, pattern: CompiledRegex) -> bool:
        try:
            found = pattern.compiled.search(
                self.text(rule.field), timeout=self.rules.regex_timeout, concurrent=True
            )
        except TimeoutError:
            context = self.context
            context.counts[f"regex timeout: {rule.name}"] += 1
            if context.log_once(f"regex timeout: {rule.name}"):
                message = (
                    f"{rule.name}: regex /{pattern.text}/ took over "
                    f"{self.rules.regex_timeout * 1000:g} ms on an article; counted as no match"
                )
                context.warnings.append(message)
                log.warning(
                    "%s",
                    message,
                    extra={"event": "regex-timeout", "source_id": context.source.id, "url": self.article.url},
                )
            return False
        return found is not None


def verdict(article: Article, rules: RuleSet, context: ProcessContext) -> Dropped | None:
    """None to keep `article`, else why it is dropped (the rule's count name, the reason)."""
    matcher = _Matcher(article, rules, context.now, context)
    for rule in rules.block:
        if matcher.matches(rule):
            reason = f"blocked by {rule.name} ({rule.label})"
            return Dropped(article, f"blocked: {rule.name}", reason, withdraw=rule.older_than is None)
    for keep, where in ((rules.global_keep, "filters.keep"), (rules.source_keep, "keep")):
        if keep and not any(matcher.matches(rule) for rule in keep):
            aged = any(rule.older_than is not None for rule in keep)
            reason = f"matches none of the {where} rules"
            return Dropped(article, f"not kept: {where}", reason, withdraw=not aged)
    return None


class FilterStep:
    """Step 1: keep/block rules (see the module's docstring)."""

    name = "filters"

    def _rules(self, context: ProcessContext) -> RuleSet:
        cached = context.notes.get(self.name)
        if isinstance(cached, RuleSet):
            return cached
        filters = context.runtime.config.filters
        rules = rule_set(filters.block, filters.keep, context.source, filters.regex_timeout)
        context.notes[self.name] = rules
        return rules

    def applies(self, context: ProcessContext) -> bool:
        return not self._rules(context).empty

    async def run(self, batch: Batch, context: ProcessContext) -> Batch:
        rules = self._rules(context)
        if rules.has_regex:  # the regex module lets go of the GIL: keep the loop answering
            return await asyncio.to_thread(self._filter, batch, rules, context)
        return self._filter(batch, rules, context)

    def _filter(self, batch: Batch, rules: RuleSet, context: ProcessContext) -> Batch:
        kept: list[Article] = []
        dropped: list[Dropped] = []
        for article in batch.articles:
            found = verdict(article, rules, context)
            if found is None:
                kept.append(article)
            else:
                context.counts[found.rule] += 1
                dropped.append(found)
        return Batch(kept, dropped, batch.annotations)
