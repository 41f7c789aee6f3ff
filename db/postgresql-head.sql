-- Every migration in db/versions, rendered for PostgreSQL by Alembic's offline mode; do not edit.
-- After adding a migration, write it anew with: python -m signoff.store.migrate

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 0001

CREATE TABLE audit (
    seq INTEGER NOT NULL, 
    recorded_at VARCHAR NOT NULL, 
    actor VARCHAR NOT NULL, 
    roles VARCHAR NOT NULL, 
    item_ref VARCHAR, 
    event VARCHAR NOT NULL, 
    from_state VARCHAR, 
    to_state VARCHAR, 
    outcome VARCHAR(16) NOT NULL, 
    detail VARCHAR NOT NULL, 
    workflow_hash VARCHAR, 
    prev_hash VARCHAR(64) NOT NULL, 
    hash VARCHAR(64) NOT NULL, 
    PRIMARY KEY (seq)
);

CREATE INDEX ix_audit_item_ref ON audit (item_ref);

CREATE INDEX ix_audit_recorded_at ON audit (recorded_at);

CREATE TABLE items (
    id SERIAL NOT NULL, 
    ref VARCHAR(40) NOT NULL, 
    kind VARCHAR(64) NOT NULL, 
    title VARCHAR NOT NULL, 
    owner VARCHAR, 
    due VARCHAR, 
    original_due VARCHAR, 
    state VARCHAR(64) NOT NULL, 
    version INTEGER NOT NULL, 
    created_at VARCHAR NOT NULL, 
    last_transition_at VARCHAR NOT NULL, 
    PRIMARY KEY (id), 
    UNIQUE (ref)
);

CREATE INDEX ix_items_kind ON items (kind);

CREATE INDEX ix_items_state ON items (state);

CREATE TABLE meta (
    key VARCHAR(64) NOT NULL, 
    value VARCHAR NOT NULL, 
    PRIMARY KEY (key)
);

CREATE TABLE users (
    id SERIAL NOT NULL, 
    name VARCHAR(64) NOT NULL, 
    roles VARCHAR NOT NULL, 
    created_at VARCHAR NOT NULL, 
    created_by VARCHAR NOT NULL, 
    PRIMARY KEY (id), 
    UNIQUE (name)
);

CREATE TABLE challenges (
    id SERIAL NOT NULL, 
    item_id INTEGER NOT NULL, 
    event VARCHAR NOT NULL, 
    raised_at VARCHAR NOT NULL, 
    raised_by VARCHAR NOT NULL, 
    reason VARCHAR NOT NULL, 
    response VARCHAR, 
    answered_at VARCHAR, 
    answered_by VARCHAR, 
    PRIMARY KEY (id), 
    FOREIGN KEY(item_id) REFERENCES items (id)
);

CREATE INDEX ix_challenges_item_id ON challenges (item_id);

CREATE TABLE evidence (
    id SERIAL NOT NULL, 
    item_id INTEGER NOT NULL, 
    key VARCHAR(64) NOT NULL, 
    kind VARCHAR(16) NOT NULL, 
    note VARCHAR, 
    file_name VARCHAR, 
    file_size INTEGER, 
    sha256 VARCHAR(64) NOT NULL, 
    dated VARCHAR NOT NULL, 
    recorded_at VARCHAR NOT NULL, 
    added_by VARCHAR NOT NULL, 
    supersedes_id INTEGER, 
    measure VARCHAR, 
    value VARCHAR, 
    unit VARCHAR, 
    period VARCHAR, 
    threshold VARCHAR, 
    direction VARCHAR, 
    PRIMARY KEY (id), 
    FOREIGN KEY(item_id) REFERENCES items (id), 
    FOREIGN KEY(supersedes_id) REFERENCES evidence (id)
);

CREATE INDEX ix_evidence_item_key ON evidence (item_id, key);

CREATE TABLE matrix_rows (
    id SERIAL NOT NULL, 
    item_id INTEGER NOT NULL, 
    key VARCHAR(64) NOT NULL, 
    description VARCHAR NOT NULL, 
    present_by VARCHAR NOT NULL, 
    owner VARCHAR, 
    PRIMARY KEY (id), 
    FOREIGN KEY(item_id) REFERENCES items (id), 
    CONSTRAINT uq_matrix_rows_item_key UNIQUE (item_id, key)
);

CREATE INDEX ix_matrix_rows_item_id ON matrix_rows (item_id);

CREATE TABLE submissions (
    id SERIAL NOT NULL, 
    item_id INTEGER NOT NULL, 
    event VARCHAR NOT NULL, 
    submitted_at VARCHAR NOT NULL, 
    submitted_by VARCHAR NOT NULL, 
    bundle_digest VARCHAR(64) NOT NULL, 
    evidence_ids VARCHAR NOT NULL, 
    PRIMARY KEY (id), 
    FOREIGN KEY(item_id) REFERENCES items (id)
);

CREATE INDEX ix_submissions_item_id ON submissions (item_id);

CREATE TABLE approvals (
    id SERIAL NOT NULL, 
    item_id INTEGER NOT NULL, 
    submission_id INTEGER NOT NULL, 
    approved_at VARCHAR NOT NULL, 
    approved_by VARCHAR NOT NULL, 
    meeting VARCHAR NOT NULL, 
    bundle_digest VARCHAR(64) NOT NULL, 
    override_reason VARCHAR, 
    PRIMARY KEY (id), 
    FOREIGN KEY(item_id) REFERENCES items (id), 
    FOREIGN KEY(submission_id) REFERENCES submissions (id)
);

CREATE INDEX ix_approvals_item_id ON approvals (item_id);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();

INSERT INTO alembic_version (version_num) VALUES ('0001') RETURNING alembic_version.version_num;

-- Running upgrade 0001 -> 0002

CREATE TABLE meetings (
    id SERIAL NOT NULL, 
    date VARCHAR(10) NOT NULL, 
    note VARCHAR, 
    added_by VARCHAR NOT NULL, 
    added_at VARCHAR NOT NULL, 
    PRIMARY KEY (id), 
    UNIQUE (date)
);

CREATE TABLE reschedules (
    id SERIAL NOT NULL, 
    item_id INTEGER NOT NULL, 
    from_due VARCHAR, 
    to_due VARCHAR NOT NULL, 
    reason VARCHAR NOT NULL, 
    changed_by VARCHAR NOT NULL, 
    changed_at VARCHAR NOT NULL, 
    PRIMARY KEY (id), 
    FOREIGN KEY(item_id) REFERENCES items (id)
);

CREATE INDEX ix_reschedules_item_id ON reschedules (item_id);

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';

-- Running upgrade 0002 -> 0003

CREATE INDEX ix_evidence_supersedes_id ON evidence (supersedes_id);

CREATE FUNCTION record_is_final() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% records are never edited or deleted', TG_TABLE_NAME; END $$;

CREATE TRIGGER evidence_no_truncate BEFORE TRUNCATE ON evidence FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

CREATE TRIGGER submissions_no_truncate BEFORE TRUNCATE ON submissions FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

CREATE TRIGGER approvals_no_truncate BEFORE TRUNCATE ON approvals FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

CREATE TRIGGER reschedules_no_truncate BEFORE TRUNCATE ON reschedules FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

CREATE TRIGGER evidence_no_update BEFORE UPDATE ON evidence FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER evidence_no_delete BEFORE DELETE ON evidence FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER submissions_no_update BEFORE UPDATE ON submissions FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER submissions_no_delete BEFORE DELETE ON submissions FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER approvals_no_update BEFORE UPDATE ON approvals FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER reschedules_no_update BEFORE UPDATE ON reschedules FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER reschedules_no_delete BEFORE DELETE ON reschedules FOR EACH ROW EXECUTE FUNCTION record_is_final();

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';

-- Running upgrade 0003 -> 0004

CREATE TABLE rulesets (
    digest VARCHAR(64) NOT NULL, 
    proposed_at VARCHAR NOT NULL, 
    proposed_by VARCHAR NOT NULL, 
    reason VARCHAR, 
    adopted_at VARCHAR, 
    adopted_by VARCHAR, 
    PRIMARY KEY (digest)
);

CREATE TABLE workflow_defs (
    ruleset VARCHAR(64) NOT NULL, 
    name VARCHAR(64) NOT NULL, 
    digest VARCHAR(64) NOT NULL, 
    source VARCHAR NOT NULL, 
    PRIMARY KEY (ruleset, name), 
    FOREIGN KEY(ruleset) REFERENCES rulesets (digest)
);

CREATE TRIGGER workflow_defs_no_update BEFORE UPDATE ON workflow_defs FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER workflow_defs_no_delete BEFORE DELETE ON workflow_defs FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER workflow_defs_no_truncate BEFORE TRUNCATE ON workflow_defs FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

UPDATE alembic_version SET version_num='0004' WHERE alembic_version.version_num = '0003';

-- Running upgrade 0004 -> 0005

CREATE TABLE user_keys (
    id SERIAL NOT NULL, 
    user_name VARCHAR(64) NOT NULL, 
    key VARCHAR NOT NULL, 
    fingerprint VARCHAR(64) NOT NULL, 
    registered_at VARCHAR NOT NULL, 
    registered_by VARCHAR NOT NULL, 
    revoked_at VARCHAR, 
    revoked_by VARCHAR, 
    revoke_reason VARCHAR, 
    PRIMARY KEY (id)
);

CREATE INDEX ix_user_keys_user_name ON user_keys (user_name);

CREATE INDEX ix_user_keys_fingerprint ON user_keys (fingerprint);

CREATE TABLE signatures (
    seq INTEGER NOT NULL, 
    item_ref VARCHAR(40) NOT NULL, 
    event VARCHAR(64) NOT NULL, 
    signed_by VARCHAR(64) NOT NULL, 
    signer VARCHAR(64) NOT NULL, 
    statement VARCHAR NOT NULL, 
    signature VARCHAR NOT NULL, 
    PRIMARY KEY (seq)
);

CREATE INDEX ix_signatures_item_ref ON signatures (item_ref);

ALTER TABLE approvals ADD COLUMN statement VARCHAR;

ALTER TABLE approvals ADD COLUMN signature VARCHAR;

ALTER TABLE approvals ADD COLUMN signer VARCHAR(64);

CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER signatures_no_truncate BEFORE TRUNCATE ON signatures FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

CREATE TRIGGER user_keys_no_delete BEFORE DELETE ON user_keys FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER user_keys_no_update BEFORE UPDATE ON user_keys FOR EACH ROW WHEN (OLD.revoked_at IS NOT NULL OR NEW.user_name <> OLD.user_name OR NEW.key <> OLD.key OR NEW.fingerprint <> OLD.fingerprint OR NEW.registered_at <> OLD.registered_at OR NEW.registered_by <> OLD.registered_by OR NEW.id <> OLD.id) EXECUTE FUNCTION record_is_final();

CREATE TRIGGER user_keys_no_truncate BEFORE TRUNCATE ON user_keys FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

UPDATE alembic_version SET version_num='0005' WHERE alembic_version.version_num = '0004';

-- Running upgrade 0005 -> 0006

CREATE TABLE withdrawals (
    id SERIAL NOT NULL, 
    evidence_id INTEGER NOT NULL, 
    item_id INTEGER NOT NULL, 
    withdrawn_at VARCHAR NOT NULL, 
    withdrawn_by VARCHAR NOT NULL, 
    reason VARCHAR NOT NULL, 
    PRIMARY KEY (id), 
    FOREIGN KEY(evidence_id) REFERENCES evidence (id), 
    FOREIGN KEY(item_id) REFERENCES items (id), 
    UNIQUE (evidence_id)
);

CREATE INDEX ix_withdrawals_item_id ON withdrawals (item_id);

CREATE TABLE item_changes (
    id SERIAL NOT NULL, 
    item_id INTEGER NOT NULL, 
    row_key VARCHAR(64), 
    field VARCHAR(32) NOT NULL, 
    from_value VARCHAR, 
    to_value VARCHAR, 
    reason VARCHAR, 
    changed_by VARCHAR NOT NULL, 
    changed_at VARCHAR NOT NULL, 
    PRIMARY KEY (id), 
    FOREIGN KEY(item_id) REFERENCES items (id)
);

CREATE INDEX ix_item_changes_item_id ON item_changes (item_id);

ALTER TABLE users ADD COLUMN deactivated_at VARCHAR;

ALTER TABLE users ADD COLUMN deactivated_by VARCHAR;

CREATE TRIGGER withdrawals_no_update BEFORE UPDATE ON withdrawals FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER withdrawals_no_delete BEFORE DELETE ON withdrawals FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER withdrawals_no_truncate BEFORE TRUNCATE ON withdrawals FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

CREATE TRIGGER item_changes_no_update BEFORE UPDATE ON item_changes FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER item_changes_no_delete BEFORE DELETE ON item_changes FOR EACH ROW EXECUTE FUNCTION record_is_final();

CREATE TRIGGER item_changes_no_truncate BEFORE TRUNCATE ON item_changes FOR EACH STATEMENT EXECUTE FUNCTION record_is_final();

UPDATE alembic_version SET version_num='0006' WHERE alembic_version.version_num = '0005';

-- Running upgrade 0006 -> 0007

ALTER TABLE meetings ADD COLUMN cancelled_at VARCHAR;

ALTER TABLE meetings ADD COLUMN cancelled_by VARCHAR;

ALTER TABLE meetings ADD COLUMN cancel_reason VARCHAR;

ALTER TABLE meetings ADD COLUMN moved_to VARCHAR(10);

UPDATE alembic_version SET version_num='0007' WHERE alembic_version.version_num = '0006';

