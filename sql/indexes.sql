-- indexes.sql — indexes of the scan database, built once the scanner has
-- loaded every row (cheaper than maintaining them during the load). Every
-- built-in check's lookups are backed by one of these or by a primary key
-- (tests/unit/test_checks.c reads every query plan); an index no check uses
-- is not built, since building it is part of every run. overlay_ref_dir is
-- built by the derive (src/derive.c); the indexes behind the reaper's own
-- lookups (layers by parent, l/ links by target) by the reaper when it plans
-- (src/reap_plan.c): building them took 0.5 s of every run at 113k layers.
CREATE INDEX finding_check ON finding (check_name);
CREATE INDEX deep_finding_check ON deep_finding (check_name);
-- containerd (src/scan_containerd*.c loads, then these are built):
CREATE INDEX cd_ingest_dir ON cd_ingest (dir);
CREATE INDEX cd_snapshot_name ON cdi_snapshot (name);
CREATE INDEX cd_lease_resource_id ON cd_lease_resource (kind, ns, sub, id);
CREATE INDEX cd_backend_id ON cdi_backend (id);
CREATE INDEX cd_backend_parent_name ON cdi_backend (parent);
