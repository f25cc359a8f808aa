import pytest

from channels_app.email.quotes import html_reply_text, split_reply


def test_quoted_lines_under_an_attribution_are_the_history():
    new, quoted = split_reply(
        "Thanks, that worked.\n\nOn Tue, 3 Apr 2012 at 16:19, Bob <bob@example.com> "
        "wrote:\n> Try restarting it.\n> Bob\n"
    )

    assert new == "Thanks, that worked."
    assert quoted.startswith("On Tue, 3 Apr 2012")
    assert quoted.endswith("> Bob")


def test_an_attribution_wrapped_over_two_lines_is_found():
    new, quoted = split_reply(
        "Sure.\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan One <megan@example.com>\n"
        "wrote:\n\n> Hi\n"
    )

    assert new == "Sure."
    assert "wrote:" in quoted


@pytest.mark.parametrize(
    "attribution",
    [
        "Am 03.04.2012 um 16:19 schrieb Bob <bob@example.com>:",
        "Le 3 avr. 2012 à 16:19, Bob <bob@example.com> a écrit :",
        "El 3 abr 2012, a las 16:19, Bob <bob@example.com> escribió:",
        "2012/04/03 Bob <bob@example.com>:",
        "03.04.2012 16:19 пользователь Bob <bob@example.com> написал:",
    ],
)
def test_attributions_in_other_languages_and_date_first_forms(attribution):
    new, quoted = split_reply(f"Danke!\n\n{attribution}\n\n> Hallo\n")

    assert new == "Danke!"
    assert quoted.splitlines()[-1] == "> Hallo"


def test_an_attribution_without_quoted_lines_cuts_off_the_rest():
    new, quoted = split_reply(
        'New text\n\nOn 4/2/12 5:44 PM, "Bob" <bob@example.com> wrote:\n\n'
        "The earlier mail, not marked as a quote.\n"
    )

    assert new == "New text"
    assert quoted.endswith("not marked as a quote.")


def test_a_date_first_line_without_quoted_lines_stays_new_text():
    text = "Meeting notes\n\n12.05.2024 we agreed on the following:\n- one\n- two"

    assert split_reply(text) == (text, "")


def test_an_outlook_header_block_starts_the_history():
    new, quoted = split_reply(
        "Hello\n\nFrom: support@example.com [mailto:support@example.com]\n"
        "Sent: March-09-12 4:22 PM\nTo: Dan\nSubject: Your ticket\n\nEarlier text\n"
    )

    assert new == "Hello"
    assert quoted.startswith("From: support@example.com")
    assert quoted.endswith("Earlier text")


def test_an_outlook_rule_above_the_header_block_belongs_to_the_history():
    new, quoted = split_reply(
        "Fine by me\n\n________________________________\nFrom: Bob <bob@example.com>\n"
        "Sent: Monday\nTo: Ana\nSubject: Plan\n\nThe plan\n"
    )

    assert new == "Fine by me"
    assert quoted.startswith("____")


@pytest.mark.parametrize(
    "rule",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-------- Ursprüngliche Nachricht --------",
        "-------- Message d'origine --------",
    ],
)
def test_an_original_message_rule_starts_the_history(rule):
    new, quoted = split_reply(f"Yes\n\n{rule}\nFrom: bob@example.com\nHi\n")

    assert new == "Yes"
    assert quoted.startswith(rule)


def test_a_reply_below_the_quote_keeps_the_text_under_it():
    new, quoted = split_reply("On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi \nHello")

    assert new == "Hello"
    assert quoted == "On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi"


def test_answers_between_quoted_lines_are_all_new_text():
    new, quoted = split_reply("> Which model?\nThe X200.\n> Since when?\nMonday.\n")

    assert new == "The X200.\nMonday."
    assert quoted == "> Which model?\n> Since when?"


def test_the_signature_and_sent_from_lines_belong_to_the_new_text():
    new, _ = split_reply(
        "Hello\n\n-- \nAna\nSent from my iPhone\n\nOn Apr 3, 2012, at 4:19 PM, bob "
        "<bob@example.com> wrote:\n\n> Hi\n"
    )

    assert new == "Hello\n\n-- \nAna\nSent from my iPhone"


def test_a_body_that_is_all_quote_stays_whole():
    text = "> only a quote\n> nothing else"

    assert split_reply(text) == (text, "")


def test_a_forwarded_mail_is_not_split():
    text = (
        "Please look at this.\n\n---------- Forwarded message ---------\n"
        "From: Bob <bob@example.com>\nDate: Mon\nSubject: Broken\nTo: Ana\n\n> It broke"
    )

    assert split_reply(text) == (text, "")
    assert split_reply("FYI\n\nFrom: a@b.c\nSent: x\nTo: y\n", subject="Fwd: x") == (
        "FYI\n\nFrom: a@b.c\nSent: x\nTo: y",
        "",
    )


def test_blank_runs_left_by_a_removed_quote_shrink_to_one_blank_line():
    new, _ = split_reply("First\n\n> quoted\n\n\nSecond\n")

    assert new == "First\n\nSecond"


def test_html_blockquotes_become_quoted_lines():
    html = (
        '<div>Hello</div><div class="gmail_quote">On Mon, Apr 2, 2012 at 6:26 PM, '
        "Megan &lt;m@example.com&gt; wrote:<br><blockquote>Hi<br>there"
        "<blockquote>older</blockquote></blockquote></div>"
    )

    text = html_reply_text(html)

    assert text.splitlines()[-3:] == ["> Hi", "> there", ">> older"]
    assert split_reply(text)[0] == "Hello"
