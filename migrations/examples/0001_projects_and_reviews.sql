-- examples/0001: an application's projects and reviews tables whose triggers emit project.created and review.posted.
-- Applied only with `platform-events migrate --examples`; shows how an application wires its own tables in.

CREATE TABLE IF NOT EXISTS projects (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id   text        NOT NULL,
    title       text        NOT NULL,
    budget      numeric(12, 2) NOT NULL CHECK (budget >= 0),
    currency    text        NOT NULL DEFAULT 'USD',
    category    text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS reviews (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id  uuid        NOT NULL REFERENCES projects (id),
    reviewer_id text        NOT NULL,
    reviewee_id text,
    rating      integer     NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Trigger functions run as their owner (SECURITY DEFINER) so the application role needs no right
-- on the event store; the event is attributed to the row's own user and shares its transaction:
-- a rolled-back insert emits nothing.
CREATE FUNCTION emit_project_created() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM platform_events_store(
        'project.created',
        jsonb_strip_nulls(jsonb_build_object('project_id', NEW.id::text, 'title', NEW.title,
                                             'budget', NEW.budget, 'currency', NEW.currency,
                                             'category', NEW.category)),
        NEW.client_id, NULL, jsonb_build_object('source', 'trigger', 'table', TG_TABLE_NAME),
        NEW.created_at, NULL);
    RETURN NEW;
END;
$$;

CREATE FUNCTION emit_review_posted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM platform_events_store(
        'review.posted',
        jsonb_strip_nulls(jsonb_build_object('review_id', NEW.id::text, 'project_id', NEW.project_id::text,
                                             'rating', NEW.rating, 'reviewee_id', NEW.reviewee_id,
                                             'comment', NEW.comment)),
        NEW.reviewer_id, NULL, jsonb_build_object('source', 'trigger', 'table', TG_TABLE_NAME),
        NEW.created_at, NULL);
    RETURN NEW;
END;
$$;

CREATE TRIGGER projects_emit_created AFTER INSERT ON projects
    FOR EACH ROW EXECUTE FUNCTION emit_project_created();
CREATE TRIGGER reviews_emit_posted AFTER INSERT ON reviews
    FOR EACH ROW EXECUTE FUNCTION emit_review_posted();

GRANT SELECT, INSERT ON projects, reviews TO platform_events_app;
