-- The durable mail outbox: a job is inserted in the same transaction as the
-- rows it announces, and the mail worker claims due jobs with
-- SELECT ... FOR UPDATE SKIP LOCKED. status: pending → sent | dead.
CREATE TABLE IF NOT EXISTS mail_outbox (
    id bigserial PRIMARY KEY,
    created_at timestamp(0) with time zone NOT NULL DEFAULT NOW(),
    template text NOT NULL,
    recipient text NOT NULL,
    data jsonb,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamp with time zone NOT NULL DEFAULT NOW(),
    last_error text,
    sent_at timestamp with time zone
);
CREATE INDEX IF NOT EXISTS mail_outbox_due_idx
    ON mail_outbox (next_attempt_at) WHERE status = 'pending';
