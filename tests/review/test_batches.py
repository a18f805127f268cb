from review.batches import wilson_interval


def test_the_wilson_interval_matches_the_textbook_values():
    low, high = wilson_interval(81, 263)  # Wilson (1927) as given by Wikipedia's worked example
    assert round(low, 4) == 0.2553 and round(high, 4) == 0.3662


def test_the_wilson_interval_of_all_successes_stays_below_one():
    low, high = wilson_interval(10, 10)
    assert 0.69 < low < 0.73 and round(high, 9) == 1.0


def test_an_empty_sample_says_nothing():
    assert wilson_interval(0, 0) == (0.0, 1.0)
