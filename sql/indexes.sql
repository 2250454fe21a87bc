-- indexes.sql — indexes of the scan database, built once the scanner has
-- loaded every row (cheaper than maintaining them during the load). Every
-- check's lookups are backed by one of these or by a primary key.
CREATE INDEX image_layer_chain ON image_layer (chain_id);
CREATE INDEX layer_parent ON layer (parent);
CREATE INDEX layer_cache_id ON layer (cache_id);
CREATE INDEX mount_mount_id ON mount (mount_id);
CREATE INDEX mount_init_id ON mount (init_id);
CREATE INDEX overlay_dir_link ON overlay_dir (link);
CREATE INDEX link_target_dir ON link (target_dir);
CREATE INDEX finding_check ON finding (check_name);
CREATE INDEX deep_finding_check ON deep_finding (check_name);
