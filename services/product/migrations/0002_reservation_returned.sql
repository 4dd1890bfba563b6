-- A reservation whose sold units came back to stock because the order was
-- cancelled after it had been paid (and refunded) is 'returned'. The status
-- guards the return: it happens at most once per order.
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_status_check
    CHECK (status IN ('held', 'committed', 'released', 'rejected', 'returned'));
