-- 0031: event types for Segment's identify and page calls (user.identified, page.viewed).
-- platform_events/catalog.py holds the same entries; tests/integration/test_catalog.py keeps them equal.

INSERT INTO event_schemas (event_type, version, category, json_schema, retention, description) VALUES
('user.identified', 1, 'user_activity',
 '{"$schema": "https://json-schema.org/draft/2020-12/schema", "additionalProperties": true, "properties": {"traits": {"description": "Traits sent with identify", "type": "object", "x-personal": true}}, "required": [], "title": "user.identified", "type": "object"}',
 '2 years', 'A user was identified (Segment identify); traits may hold personal data.'),
('page.viewed', 1, 'interaction',
 '{"$schema": "https://json-schema.org/draft/2020-12/schema", "additionalProperties": true, "properties": {"name": {"description": "Page name given by the caller", "maxLength": 500, "type": "string"}, "path": {"description": "Path of the page", "maxLength": 2000, "type": "string"}, "referrer": {"description": "Referring URL", "maxLength": 2000, "type": "string", "x-personal": true}, "title": {"description": "Document title", "maxLength": 500, "type": "string"}, "url": {"description": "Full URL (may carry personal data)", "maxLength": 2000, "type": "string", "x-personal": true}}, "required": ["path"], "title": "page.viewed", "type": "object"}',
 '1 year', 'A page was viewed (Segment page).');
