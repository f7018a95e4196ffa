SELECT
  subject_id,
  rule_id,
  points,
  position
FROM (
  SELECT
    p.subject_id,
    p.rule_id,
    p.points,
    ROW_NUMBER() OVER (PARTITION BY p.subject_id ORDER BY ABS(p.points) DESC, p.rule_id ASC NULLS LAST) AS position
  FROM sc_rule_points AS p
  WHERE
    p.points <> 0 AND p.subject_id IN (
      SELECT
        subject_id
      FROM sc_local
    )
) AS q
WHERE
  position <= 4
