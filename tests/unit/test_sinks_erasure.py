"""sinks/erasure.py: scrubbing a row of personal fields and the erased user's id."""

from __future__ import annotations

import json

from platform_events.sinks import erasure


def test_erasure_drops_personal_fields_and_the_user_id_wherever_it_appears() -> None:
    data, meta = erasure.scrub_row(
        "review.posted",
        json.dumps({"review_id": "r1", "comment": "Great work", "to": ["u9", "u1"]}),
        '{"ip": "1.2.3.0"}',
        "u9",
        own=True,
    )
    assert json.loads(data or "") == {"review_id": "r1", "to": [None, "u1"]}
    assert meta == erasure.ANONYMIZED_METADATA
    other, other_meta = erasure.scrub_row(
        "message.sent", '{"recipient_id": "u9"}', '{"k": 1}', "u9", own=False
    )
    assert json.loads(other or "") == {"recipient_id": None} and other_meta == '{"k": 1}'
