-- indexes.sql — indexes of the scan database, built once the scanner has
-- loaded every row (cheaper than maintaining them during the load). Every
-- built-in check's lookups are backed by one of these or by a primary key
-- (tests/unit/test_checks.c reads every query plan); an index no check uses
-- is not built, since building it is part of every run. overlay_ref_dir is
-- built by the derive (src/derive.c), the reaper's own lookups by the reaper.
CREATE INDEX layer_parent ON layer (parent);
CREATE INDEX mount_mount_id ON mount (mount_id);
CREATE INDEX mount_init_id ON mount (init_id);
CREATE INDEX link_target_dir ON link (target_dir);
CREATE INDEX finding_check ON finding (check_name);
CREATE INDEX deep_finding_check ON deep_finding (check_name);
