from gateway.fieldmessages import to_chinese


def test_nested_marshmallow_messages_become_chinese():
    details = {
        "username": ["Missing data for required field."],
        "household": {"members": {"0": {"phone": ["Longer than maximum length 20."]}}},
        "extra": ["Unknown field."],
        "kind": ["Must be one of: routine, care."],
        "custom": ["something only this service says"],
    }
    assert to_chinese(details) == {
        "username": ["必填项"],
        "household": {"members": {"0": {"phone": ["最多 20 个字符"]}}},
        "extra": ["不认识的字段"],
        "kind": ["只能是以下之一：routine, care"],
        "custom": ["something only this service says"],
    }
