"""batches.debtors.merge: the same RUT twice is one debtor, on both roads."""

from batches.debtors.merge import debtors_merge


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
