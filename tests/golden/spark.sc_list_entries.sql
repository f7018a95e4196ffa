SELECT
  subject_id,
  list_id,
  criterion_id,
  record_key
FROM sc_list_records
UNION ALL
SELECT
  subject_id,
  'blacklist' AS list_id,
  'floor' AS criterion_id,
  CAST(NULL AS BIGINT) AS record_key
FROM sc_ranked
WHERE
  (
    CAST(score AS BIGINT) < 60
  )
