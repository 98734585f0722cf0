-- 0002: fills and the positions they build.

CREATE TABLE fill (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id       uuid           NOT NULL REFERENCES trade_order (id),
    venue_fill_id  text           NOT NULL,
    quantity       numeric(28,10) NOT NULL CHECK (quantity > 0),
    price          numeric(28,10) NOT NULL CHECK (price > 0),
    fee            numeric(28,10) NOT NULL DEFAULT 0,
    fee_asset      text           NOT NULL,
    is_maker       boolean        NOT NULL,
    filled_at      timestamptz    NOT NULL,
    UNIQUE (order_id, venue_fill_id)
);

CREATE INDEX fill_filled_at_idx ON fill (filled_at);

CREATE TABLE position (
    account_id      bigint         NOT NULL REFERENCES venue_account (id),
    instrument_id   bigint         NOT NULL REFERENCES instrument (id),
    quantity        numeric(28,10) NOT NULL DEFAULT 0,
    average_price   numeric(28,10),
    realized_pnl    numeric(28,10) NOT NULL DEFAULT 0,
    updated_at      timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, instrument_id)
);

CREATE TABLE pnl_daily (
    account_id     bigint         NOT NULL REFERENCES venue_account (id),
    trading_day    date           NOT NULL,
    realized_pnl   numeric(28,10) NOT NULL DEFAULT 0,
    fees           numeric(28,10) NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, trading_day)
);
