-- Who holds an order's charge lease: the order service instance
-- (order.instance) whose charge attempt is in flight, so that instance,
-- restarted after a crash, resumes the charge at once instead of waiting
-- for the lease to run out. NULL when no attempt holds the lease (none in
-- flight, or a retry any instance's sweeper may take once it expires).
ALTER TABLE orders ADD COLUMN charge_holder text;
