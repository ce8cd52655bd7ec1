"""How far raters agree on categories: percent agreement, Cohen's kappa, Fleiss' kappa.

Plain Python on lists, no database: calibration.py gathers the ratings. Kappa is agreement
beyond what chance would give, (observed - expected) / (1 - expected). When chance alone
already gives full agreement (every rating in one category) the ratio is 0 / 0: kappa is
then undefined and these functions return None, as they do with fewer than two items, so a
page can say "not enough to tell" instead of failing.

Sources: Cohen, "A coefficient of agreement for nominal scales" (1960); Fleiss, "Measuring
nominal scale agreement among many raters" (1971); the bands of Landis and Koch, "The
measurement of observer agreement for categorical data" (1977). tests/test_agreement.py
checks each function against published worked examples.
"""

from collections import Counter

# Landis and Koch's words for a kappa, by its lower bound.
BANDS = (
    (0.81, "almost perfect"),
    (0.61, "substantial"),
    (0.41, "moderate"),
    (0.21, "fair"),
    (0.0, "slight"),
)


def percent_agreement(ratings):
    """The share of agreeing pairs of ratings, from 0 to 1; None without an item rated twice.

    `ratings` holds, per item, the categories its raters gave. With two raters an item's
    agreement is 1 when they gave the same category and 0 when not, so this is the share of
    items they agree on. With more, an item's agreement is the share of its pairs of raters
    who agree, and this is their mean over the items: Fleiss' P-bar (1971). Items rated
    fewer than twice are left out.
    """
    shares = [pair_share(Counter(item)) for item in ratings if len(item) >= 2]
    return sum(shares) / len(shares) if shares else None


def pair_share(counts):
    """The share of an item's pairs of ratings that agree."""
    raters = sum(counts.values())
    return sum(n * (n - 1) for n in counts.values()) / (raters * (raters - 1))


def cohen_kappa(pairs):
    """Cohen's kappa for two raters, from each item's (first rater's, second rater's) category.

    None with fewer than two items, or when kappa is undefined (both raters always gave the
    same one category: chance agreement is 1).
    """
    pairs = list(pairs)
    if len(pairs) < 2:
        return None
    items = len(pairs)
    observed = sum(1 for first, second in pairs if first == second) / items
    firsts = Counter(first for first, _ in pairs)
    seconds = Counter(second for _, second in pairs)
    expected = sum(firsts[c] * seconds[c] for c in firsts) / (items * items)
    return kappa(observed, expected)


def fleiss_kappa(table):
    """Fleiss' kappa for a fixed number of raters per item.

    `table` has a row per item and a column per category: how many raters put the item in
    that category (counts_table makes one). Every row must count the same number of raters,
    two or more (a ValueError if not). None with fewer than two items, or when kappa is
    undefined (every rating in one category).
    """
    rows = [list(row) for row in table]
    if len(rows) < 2:
        return None
    raters = {sum(row) for row in rows}
    if len(raters) != 1 or min(raters) < 2:
        raise ValueError("Each item needs the same number of raters, at least two.")
    (per_item,) = raters
    total = per_item * len(rows)
    observed = sum(pair_share(dict(enumerate(row))) for row in rows) / len(rows)
    expected = sum((sum(column) / total) ** 2 for column in zip(*rows, strict=True))
    return kappa(observed, expected)


def kappa(observed, expected):
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


def counts_table(ratings):
    """Per item, how many raters gave each category (for fleiss_kappa), the categories in
    the order first seen."""
    ratings = [list(item) for item in ratings]
    categories = list(dict.fromkeys(c for item in ratings for c in item))
    return [[item.count(category) for category in categories] for item in ratings]


def reading(value):
    """A kappa in plain words, after Landis and Koch (1977); None for None."""
    if value is None:
        return None
    if value < 0:
        return "poor (less than chance)"
    return next(words for bound, words in BANDS if round(value, 2) >= bound)
