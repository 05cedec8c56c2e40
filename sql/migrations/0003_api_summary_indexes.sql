-- Indexes for the API's dashboard summary at 100k targets: disabled targets (the "paused"
-- count without joining every target) and label filters (labels @> '{"env": "prod"}').

CREATE INDEX targets_disabled_idx ON targets (id) WHERE NOT enabled;
CREATE INDEX targets_labels_idx ON targets USING gin (labels jsonb_path_ops);
