-- 0003: risk events, operator commands and the mode history (ARMED/DISARMED, HARD_HALT).

CREATE TABLE risk_event (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    severity      text        NOT NULL CHECK (severity IN ('INFO', 'WARN', 'BREACH', 'HALT')),
    rule          text        NOT NULL,
    policy_hash   char(64)    NOT NULL CHECK (policy_hash ~ '^[0-9a-f]{64}$'),
    account_id    bigint      REFERENCES venue_account (id),
    details       jsonb       NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX risk_event_occurred_idx ON risk_event (occurred_at DESC);

CREATE TABLE operator_command (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    command       text        NOT NULL CHECK (command IN ('ARM', 'DISARM', 'HARD_HALT', 'RESUME', 'FLATTEN')),
    issued_by     text        NOT NULL,
    issued_at     timestamptz NOT NULL DEFAULT now(),
    signature     text        NOT NULL,
    accepted      boolean,
    reason        text
);

CREATE TABLE mode_history (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mode          text        NOT NULL CHECK (mode IN ('ARMED', 'DISARMED', 'HALTED')),
    release_id    text,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    command_id    uuid        REFERENCES operator_command (id)
);

ALTER TABLE trade_order ADD COLUMN policy_hash char(64);
