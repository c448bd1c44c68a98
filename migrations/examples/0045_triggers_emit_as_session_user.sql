-- examples/0045: the example triggers attribute an event to the session's user only, when one is set.
--
-- examples/0001 attributed project.created to NEW.client_id and review.posted to NEW.reviewer_id
-- whatever the session said: an application connection whose session names alice could insert a
-- project for bob and emit an event as bob. platform_events_row_user (0045) refuses that (42501)
-- when the caller is untrusted and its session names a user; the insert is rolled back with it.

CREATE OR REPLACE FUNCTION emit_project_created() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM platform_events_store(
        'project.created',
        jsonb_strip_nulls(jsonb_build_object('project_id', NEW.id::text, 'title', NEW.title,
                                             'budget', NEW.budget, 'currency', NEW.currency,
                                             'category', NEW.category)),
        platform_events_row_user(NEW.client_id, 'client_id'), NULL,
        jsonb_build_object('source', 'trigger', 'table', TG_TABLE_NAME),
        NEW.created_at, NULL);
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION emit_review_posted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM platform_events_store(
        'review.posted',
        jsonb_strip_nulls(jsonb_build_object('review_id', NEW.id::text, 'project_id', NEW.project_id::text,
                                             'rating', NEW.rating, 'reviewee_id', NEW.reviewee_id,
                                             'comment', NEW.comment)),
        platform_events_row_user(NEW.reviewer_id, 'reviewer_id'), NULL,
        jsonb_build_object('source', 'trigger', 'table', TG_TABLE_NAME),
        NEW.created_at, NULL);
    RETURN NEW;
END;
$$;

-- Trigger functions are never called directly; firing a trigger checks no EXECUTE right.
REVOKE ALL ON FUNCTION emit_project_created(), emit_review_posted() FROM PUBLIC;
