"""The agreement statistics against published worked examples, and their degenerate cases."""

import pytest

from conversations import agreement

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories; also the
# data of statsmodels' test_fleiss_kappa (statsmodels/stats/tests/test_inter_rater.py).
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Fleiss (1971): 30 patients, each diagnosed by 6 psychiatrists into 5 categories; as the
# `diagnoses` data set of R's irr package, reproduced in statsmodels' test_inter_rater.py.
DIAGNOSES = [
    [4, 4, 4, 4, 4, 4],
    [2, 2, 2, 5, 5, 5],
    [2, 3, 3, 3, 3, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3],
    [3, 3, 3, 3, 5, 5],
    [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4],
    [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4],
    [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3],
    [1, 4, 4, 4, 4, 4],
    [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5],
    [1, 1, 1, 1, 1, 2],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 4, 4, 4, 4, 4],
    [2, 2, 4, 5, 5, 5],
    [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4],
    [1, 1, 1, 1, 5, 5],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3],
    [5, 5, 5, 5, 5, 5],
]

# R irr's `anxiety` data set (20 subjects, 3 raters, column by column), as reproduced in
# statsmodels' test_inter_rater.py.
ANXIETY = [
    3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3,
    3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4,
    2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2,
]  # fmt: skip


def pairs_from(table):
    """The (first rater, second rater) pairs a square contingency table counts."""
    return [
        (row, column)
        for row, counts in enumerate(table)
        for column, count in enumerate(counts)
        for _ in range(count)
    ]


def test_fleiss_kappa_matches_the_wikipedia_worked_example():
    """Wikipedia, "Fleiss' kappa", worked example: kappa = 0.210 (P-bar 0.378, P-e 0.213)."""
    assert agreement.fleiss_kappa(WIKIPEDIA_FLEISS) == pytest.approx(0.20993, abs=5e-6)


def test_percent_agreement_of_many_raters_is_fleiss_p_bar_of_the_wikipedia_example():
    """Wikipedia, "Fleiss' kappa", worked example: P-bar = 3.780 / 10 = 0.378."""
    ratings = [
        [category for category, count in enumerate(row) for _ in range(count)]
        for row in WIKIPEDIA_FLEISS
    ]
    assert agreement.percent_agreement(ratings) == pytest.approx(0.378, abs=5e-4)


def test_fleiss_kappa_matches_fleiss_1971_diagnoses_as_r_irr_computes_it():
    """Fleiss (1971), 30 patients by 6 psychiatrists: R irr kappam.fleiss(diagnoses) gives
    kappa = 0.4302445 (the value statsmodels' test_fleiss_kappa_irr checks against)."""
    table = agreement.counts_table(DIAGNOSES)
    assert agreement.fleiss_kappa(table) == pytest.approx(0.4302445, abs=5e-8)


def test_cohen_kappa_matches_the_wikipedia_grant_proposals_example():
    """Wikipedia, "Cohen's kappa", 50 grant proposals read by two readers (yes/no:
    20 5 / 10 15): p-o = 0.7, p-e = 0.5, kappa = 0.4."""
    pairs = pairs_from([[20, 5], [10, 15]])
    assert agreement.percent_agreement(pairs) == pytest.approx(0.7)
    assert agreement.cohen_kappa(pairs) == pytest.approx(0.4)


def test_the_same_percent_agreement_can_give_different_kappas():
    """Wikipedia, "Cohen's kappa", two tables with 60 % agreement: 45 15 / 25 15 gives
    kappa = 0.1304 and 25 35 / 5 35 gives 0.2593."""
    first, second = pairs_from([[45, 15], [25, 15]]), pairs_from([[25, 35], [5, 35]])
    assert agreement.percent_agreement(first) == agreement.percent_agreement(second) == 0.6
    assert agreement.cohen_kappa(first) == pytest.approx(0.1304, abs=5e-5)
    assert agreement.cohen_kappa(second) == pytest.approx(0.2593, abs=5e-5)


def test_cohen_kappa_matches_the_sas_example_in_statsmodels_tests():
    """statsmodels' UnweightedCohens test, against a SAS printout: the table
    0 4 1 / 0 8 0 / 0 1 5 gives a simple kappa of 0.4842."""
    pairs = pairs_from([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    assert agreement.cohen_kappa(pairs) == pytest.approx(0.4842, abs=5e-5)


def test_cohen_kappa_matches_r_irr_on_the_anxiety_data_below_chance():
    """R irr kappa2(anxiety[,2:3]), unweighted, as statsmodels' test_cohens_kappa_irr
    quotes it: kappa = -0.006289308 (slightly worse than chance)."""
    second, third = ANXIETY[20:40], ANXIETY[40:60]
    kappa = agreement.cohen_kappa(zip(second, third, strict=True))
    assert kappa == pytest.approx(-0.006289308, abs=5e-9)
    assert agreement.reading(kappa) == "poor (less than chance)"


def test_fleiss_kappa_of_two_raters_is_scotts_pi_not_cohens_kappa():
    """With two raters Fleiss' kappa is Scott's pi, which pools both raters' marginals:
    on the Wikipedia grant proposals it is (0.7 - 0.505) / 0.495 = 0.3939, not 0.4."""
    pairs = pairs_from([[20, 5], [10, 15]])
    assert agreement.fleiss_kappa(agreement.counts_table(pairs)) == pytest.approx(0.39394, 1e-4)


def test_perfect_agreement_over_two_categories_is_a_kappa_of_one():
    pairs = [("pass", "pass"), ("fail", "fail"), ("pass", "pass")]
    assert agreement.cohen_kappa(pairs) == 1.0
    assert agreement.fleiss_kappa(agreement.counts_table(pairs)) == 1.0
    assert agreement.reading(1.0) == "almost perfect"


def test_kappa_is_undefined_when_every_rating_is_the_same_category():
    pairs = [("pass", "pass")] * 5
    assert agreement.cohen_kappa(pairs) is None
    assert agreement.fleiss_kappa([[3], [3], [3]]) is None
    assert agreement.fleiss_kappa(agreement.counts_table([["na"] * 4] * 3)) is None
    assert agreement.percent_agreement(pairs) == 1.0
    assert agreement.reading(None) is None


def test_fewer_than_two_items_give_no_kappa():
    assert agreement.cohen_kappa([]) is None
    assert agreement.cohen_kappa([("pass", "fail")]) is None
    assert agreement.fleiss_kappa([]) is None
    assert agreement.fleiss_kappa([[2, 1]]) is None


def test_percent_agreement_leaves_out_items_rated_fewer_than_twice():
    assert agreement.percent_agreement([]) is None
    assert agreement.percent_agreement([["pass"]]) is None
    assert agreement.percent_agreement([["pass"], ["pass", "fail"], ["fail", "fail"]]) == 0.5


def test_fleiss_kappa_refuses_items_with_different_numbers_of_raters():
    with pytest.raises(ValueError, match="same number of raters"):
        agreement.fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(ValueError, match="at least two"):
        agreement.fleiss_kappa([[1, 0], [0, 1]])


def test_counts_table_counts_each_category_per_item_in_the_order_first_seen():
    table = agreement.counts_table([["pass", "fail", "pass"], ["na", "pass", "pass"]])
    assert table == [[2, 1, 0], [2, 0, 1]]


@pytest.mark.parametrize(
    ("kappa", "words"),
    [
        (0.0, "slight"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.4, "fair"),
        (0.41, "moderate"),
        (0.6, "moderate"),
        (0.61, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (-0.2, "poor (less than chance)"),
    ],
)
def test_reading_names_the_landis_and_koch_band(kappa, words):
    """Landis and Koch (1977): below 0 poor, 0-0.20 slight, 0.21-0.40 fair, 0.41-0.60
    moderate, 0.61-0.80 substantial, 0.81-1 almost perfect."""
    assert agreement.reading(kappa) == words
