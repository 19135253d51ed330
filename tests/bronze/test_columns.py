import pytest

from coretelecoms.bronze.columns import delta_safe_names


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        (["", "call ID", "customeR iD", "COMPLAINT_catego ry", "agent ID"],
         ["unnamed_0", "call_ID", "customeR_iD", "COMPLAINT_catego_ry", "agent_ID"]),
        (["customer_id", "DATE of biRTH", "signup_date"], ["customer_id", "DATE_of_biRTH", "signup_date"]),
        (["iD", "NamE", "experience", "state"], ["iD", "NamE", "experience", "state"]),
        (["Column1", "webFormGenerationDate"], ["Column1", "webFormGenerationDate"]),
        (["a;b", "a,b", "A b"], ["a_b", "a_b_2", "A_b_3"]),  # unique case-insensitively, as Delta needs
        (["(x)", "=", "1st"], ["x", "unnamed_1", "c_1st"]),
    ],
)
def test_delta_safe_names(raw, safe):
    assert delta_safe_names(raw) == safe
