-- A pending notification that failed for longer than the dispatcher's hold-back is set aside: it keeps retrying on its
-- own and no longer holds its call's later notifications back (docs/fidelity.md, "Delivery").
ALTER TABLE notification ADD COLUMN set_aside INTEGER NOT NULL DEFAULT 0;
-- The attempt that set it aside is journaled as a retry that did so (the outcome's CHECK stays as it is).
ALTER TABLE delivery_attempt ADD COLUMN set_aside INTEGER NOT NULL DEFAULT 0;
