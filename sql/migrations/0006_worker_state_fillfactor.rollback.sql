ALTER TABLE target_state RESET (fillfactor);
