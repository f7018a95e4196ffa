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
    k.*,
    COALESCE(e.n_blacklist = 1, FALSE) AS l_blacklist
  FROM sc_ranked AS k
  LEFT JOIN (
    SELECT
      subject_id,
      MAX(CASE WHEN list_id = 'blacklist' THEN 1 ELSE 0 END) AS n_blacklist
    FROM sc_list_entries
    GROUP BY
      subject_id
  ) AS e
    ON e.subject_id = k.subject_id
) AS f
