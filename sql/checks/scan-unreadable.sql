-- check: scan-unreadable
-- severity: error
-- meaning: a directory of the store could not be read (permission or I/O error)
--
-- While any part of the store is unread, checks that prove something is
-- unreferenced report nothing.
SELECT path AS object,
       path,
       error AS detail,
       NULL AS mtime
FROM scan_error;
