DROP TYPE IF EXISTS vigil_state_flush;
