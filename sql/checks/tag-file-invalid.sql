-- check: tag-file-invalid
-- severity: error
-- meaning: repositories.json is unreadable or not the expected shape
--
-- dockerd refuses to start with a corrupt repositories.json.
SELECT 'repositories.json' AS object,
       path,
       error AS detail,
       NULL AS mtime
FROM tag_file
WHERE state <> 'ok';
