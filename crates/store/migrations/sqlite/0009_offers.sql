-- Incoming-call offers: once their call has ended there is nothing to answer, so an undelivered one is dead-lettered
-- with that reason rather than retried (docs/fidelity.md, "Delivery").
ALTER TABLE notification ADD COLUMN offer INTEGER NOT NULL DEFAULT 0;
