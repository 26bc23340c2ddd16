-- @@warning_count / @@error_count are read on a replica, not where the previous statement ran.
-- direct: 0 0 (DATE_FORMAT cleared them)   proxy: 2 0     (seeds 142, 415)
SELECT 1/0, 5 % 0
UPDATE t1 SET k = k + 1000 WHERE id = 3
SELECT DATE_FORMAT('2020-01-05', '%W')
SELECT @@warning_count, @@error_count
