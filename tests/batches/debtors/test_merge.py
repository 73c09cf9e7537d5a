"""batches.debtors.merge: the same RUT twice is one debtor, on both roads."""

from django.utils import translation

from batches.debtors.merge import DebtorIndex, debtors_merge, merged_message


def test_contacts_merge_keeps_order_and_counts():
    a1 = {"row": 2, "rut": "1-9", "phones": ["+56911111111"], "email": None, "custom_fields": {}}
    b = {"row": 3, "rut": "2-7", "phones": ["+56922222222"], "custom_fields": {}}
    a2 = {
        "row": 4,
        "rut": "1-9",
        "phones": ["+56933333333", "+56911111111"],
        "email": "x@y.cl",
        "custom_fields": {"k": "v"},
    }
    unique, merged, warnings = debtors_merge([a1, b, a2])
    assert [c["row"] for c in unique] == [2, 3] and merged == 1
    assert a1["phones"] == ["+56911111111", "+56933333333"]
    assert (a1["email"], a1["custom_fields"]) == ("x@y.cl", {"k": "v"})
    assert warnings[0]["row"] == 4 and warnings[0]["value"] == "1-9"


def test_index_merges_a_later_debtor_into_the_first_and_counts_it():
    index = DebtorIndex()
    first = {"row": 2, "rut": "1-9", "phones": ["+56911111111"], "name": "", "custom_fields": {}}
    later = {"row": 5, "rut": "1-9", "phones": ["+56922222222"], "name": "Ana",
             "timezone": "America/Santiago", "custom_fields": {"tramo": "B"}}

    assert index.add(first) is None
    assert index.add(later) is first
    assert index.add(first) is first  # the same dict twice: nothing to merge
    assert index.merged == 1
    assert first == {"row": 2, "rut": "1-9", "phones": ["+56911111111", "+56922222222"],
                     "name": "Ana", "timezone": "America/Santiago", "custom_fields": {"tramo": "B"}}


def test_merge_message_is_translated():
    with translation.override("es-cl"):
        assert merged_message({"row": 3}) == "RUT duplicado: fusionado con la fila 3"
