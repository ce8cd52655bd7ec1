"""The conversations a bulk request names: the list's checkboxes, sent as `ids`.

Read here for every bulk path (the bulk bar, bulk deletion with and without JavaScript) and
for the handler that refuses a form too large to read (errors.bad_request).
"""

from conversations import client

MAX_SELECTION = 100


def selected_ids(data):
    """The selected conversation ids: valid ids only, without duplicates, at most 100.

    Refuse a larger selection first (selection_refusal): the cut is a backstop only.
    """
    return named_ids(data)[:MAX_SELECTION]


def named_ids(data):
    """Every valid id a request named, without duplicates: what a refusal records."""
    return list(dict.fromkeys(v for v in data.getlist("ids") if client.ID_RE.fullmatch(v)))


def selection_refusal(data):
    """The sentence refusing a selection that is too large or empty, else None.

    Refusing the whole of a selection of more than MAX_SELECTION conversations is clearer
    than doing part of it and saying so.
    """
    sent = len(set(data.getlist("ids")))
    if sent > MAX_SELECTION:
        return (
            f"You selected {sent} conversations; at most {MAX_SELECTION} can be changed at once."
            " Nothing was changed."
        )
    if not named_ids(data):
        return "Select at least one conversation first."
    return None
