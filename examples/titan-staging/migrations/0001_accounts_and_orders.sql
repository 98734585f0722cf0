-- 0001: venue accounts, instruments and orders.
-- The deployer runs each migration in its own transaction and records it; no BEGIN/COMMIT here.

CREATE TABLE venue_account (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue         text        NOT NULL CHECK (venue IN ('binance', 'bybit')),
    label         text        NOT NULL,
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (venue, label)
);

CREATE TABLE instrument (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    venue          text          NOT NULL,
    symbol         text          NOT NULL,
    base_asset     text          NOT NULL,
    quote_asset    text          NOT NULL,
    tick_size      numeric(20,10) NOT NULL CHECK (tick_size > 0),
    lot_size       numeric(20,10) NOT NULL CHECK (lot_size > 0),
    UNIQUE (venue, symbol)
);

CREATE TABLE trade_order (
    id               uuid          PRIMARY KEY DEFAULT gen_random_uuid(),
    client_order_id  text          NOT NULL UNIQUE,
    account_id       bigint        NOT NULL REFERENCES venue_account (id),
    instrument_id    bigint        NOT NULL REFERENCES instrument (id),
    strategy         text          NOT NULL CHECK (strategy IN ('scavenger', 'hunter', 'sentinel', 'manual')),
    side             text          NOT NULL CHECK (side IN ('BUY', 'SELL')),
    order_type       text          NOT NULL CHECK (order_type IN ('LIMIT', 'MARKET', 'STOP_MARKET')),
    quantity         numeric(28,10) NOT NULL CHECK (quantity > 0),
    limit_price      numeric(28,10),
    status           text          NOT NULL DEFAULT 'NEW'
                     CHECK (status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED')),
    venue_order_id   text,
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    CHECK (order_type <> 'LIMIT' OR limit_price IS NOT NULL)
);

CREATE INDEX trade_order_open_idx ON trade_order (account_id, status)
    WHERE status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED');
CREATE INDEX trade_order_created_idx ON trade_order (created_at);
