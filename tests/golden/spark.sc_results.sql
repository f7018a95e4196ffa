SELECT
  *,
  CAST(0 + CASE WHEN NOT (
    l_blacklist
  ) THEN 1 ELSE 0 END + CASE
    WHEN (
      (
        tier_rank >= 2
      ) AND (
        d_money > -(
          50
        )
      )
    )
    THEN 2
    ELSE 0
  END AS BIGINT) AS grants
FROM (
  SELECT
    *,
    EXISTS(
      SELECT
        1
      FROM sc_list_entries AS e
      WHERE
        e.subject_id = k.subject_id AND e.list_id = 'blacklist'
    ) AS l_blacklist
  FROM sc_ranked AS k
) AS f
