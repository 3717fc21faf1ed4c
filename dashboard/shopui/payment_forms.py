"""The two ways checkout takes a card.

The test mode's own form (no Stripe key: `make up`, demos) is checked here and its number goes
only to the test-mode route. With Stripe, the card goes from the browser to Stripe.js's
Payment Element and never passes through this server; the page only hands it the
publishable key and the PaymentIntent's client secret.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Collection
from datetime import date

_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*$")
STRIPE_JS = "https://js.stripe.com/v3/"


def card_form_problems(
    number: str, expiry: str, cvc: str, today: date, test_cards: Collection[str]
) -> list[str]:
    """What the shopper must fix before the form is sent, as sentences (empty when fine).

    Only the test cards listed are ever sent: a real card typed here by mistake stays in the
    browser. Expiry and CVC are checked as a real form would, but never sent: the test cards
    take any future date and any three digits.
    """
    problems = []
    digits = re.sub(r"[\s-]", "", number)
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        problems.append("Enter the card number: 16 digits, like 4242 4242 4242 4242.")
    elif digits not in test_cards:
        problems.append(
            "This shop is in test mode and takes only the test cards listed above; never "
            "enter a real card here."
        )
    found = _EXPIRY.match(expiry)
    if not found or not 1 <= int(found.group(1)) <= 12:
        problems.append("Enter the expiry date as month/year, like 12/34.")
    else:
        month, year = int(found.group(1)), int(found.group(2)) % 100 + 2000
        if (year, month) < (today.year, today.month):
            problems.append("That expiry date has passed: enter a date in the future.")
    if not re.fullmatch(r"\d{3,4}", cvc.strip()):
        problems.append("Enter the 3 digits on the back of the card (the CVC).")
    return problems


def spaced(card_number: str) -> str:
    """`4242424242424242` -> `4242 4242 4242 4242`, as printed on a card."""
    return " ".join(card_number[i : i + 4] for i in range(0, len(card_number), 4))


def stripe_payment_element(
    publishable_key: str, client_secret: str, pay_label: str, return_url: str
) -> str:
    """The HTML of Stripe's Payment Element for one PaymentIntent (a components.html block).

    The shopper's card goes from this block to Stripe; the order becomes paid when Stripe's
    event reaches the webhook, and the page asks the shop for the order's state after.
    """
    values = json.dumps(
        {"key": publishable_key, "secret": client_secret, "returnUrl": return_url}
    ).replace("<", "\\u003c")  # nothing in the values can close the script
    return f"""<div id="payment-element"></div>
<button id="pay" style="margin-top:12px;padding:8px 16px">{html.escape(pay_label)}</button>
<p id="message" role="alert" style="font-family:sans-serif"></p>
<script src="{STRIPE_JS}"></script>
<script>
const v = {values};
const stripe = Stripe(v.key);
const elements = stripe.elements({{clientSecret: v.secret}});
elements.create("payment").mount("#payment-element");
const button = document.getElementById("pay");
const message = document.getElementById("message");
button.addEventListener("click", async () => {{
  button.disabled = true;
  const {{error}} = await stripe.confirmPayment({{
    elements, redirect: "if_required", confirmParams: {{return_url: v.returnUrl}}
  }});
  message.textContent = error
    ? error.message + " Nothing was taken from your card: try another card."
    : "Payment sent. Press Check payment below to see your order.";
  button.disabled = false;
}});
</script>"""
